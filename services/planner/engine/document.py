"""Plan document v1: the wire schema of what a client sends to be compiled.

The structs below are the single source of truth for the document's shape:
the fast path decodes straight into them, and the error-collecting walker in
``structure.py`` reads the same definitions through ``msgspec.inspect`` so the
two can never disagree about what is valid.

A constraint that has its own error code carries it in ``Meta(extra={"code": …})``;
every other shape problem is ``PLAN_FIELD_TYPE``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Final, Literal

import msgspec

SCHEMA_VERSION: Final = "1.0"
ID_CHARS: Final = r"[A-Za-z0-9_.-]{1,64}"
ID_PATTERN: Final = f"^{ID_CHARS}$"
# Lags further than ten years either way are almost certainly unit mistakes,
# and bounding them keeps calendar look-ups inside a sane horizon.
MAX_LAG_DAYS: Final = 3650

# The pattern is published in the JSON schema but not run by the decoder:
# msgspec would call the regex once per id and per reference, which was a
# third of the decode time of a large plan. ``validate.py`` checks the ids in
# bulk instead, and ``structure.py`` reads the pattern from here.
Id = Annotated[
    str,
    msgspec.Meta(description=ID_PATTERN, extra_json_schema={"pattern": ID_PATTERN}),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LinkType = Literal["FS", "SS", "FF", "SF"]
DayUnit = Literal["wd", "ed"]
Duration = Annotated[int, msgspec.Meta(ge=0, extra={"code": "PLAN_NEGATIVE_DURATION"})]
Lag = Annotated[
    int,
    msgspec.Meta(ge=-MAX_LAG_DAYS, le=MAX_LAG_DAYS, extra={"code": "PLAN_LAG_OUT_OF_RANGE"}),
]
Workweek = Annotated[
    tuple[Weekday, ...], msgspec.Meta(min_length=1, extra={"code": "PLAN_EMPTY_WORKWEEK"})
]
# A million units of capacity or of an assignment is far past any real resource;
# the bound keeps the arithmetic on units (micro-units, sums over days) finite.
MAX_UNITS: Final = 1_000_000
NonNegative = Annotated[float, msgspec.Meta(ge=0, le=MAX_UNITS)]
SchemaVersion = Annotated[
    Literal["1.0"], msgspec.Meta(extra={"code": "PLAN_SCHEMA_VERSION_UNSUPPORTED"})
]


class _Wire(msgspec.Struct, forbid_unknown_fields=True, rename="camel", gc=False):
    """Common options: camelCase keys on the wire, unknown keys rejected.

    Arrays decode to tuples: a document is read, never edited, and an absent
    array is then the one shared empty tuple, not a new list per task.
    """


class Project(_Wire):
    id: Id
    name: str
    start: dt.date
    time_zone: str
    calendar: Id
    deadline: dt.date | None = None


class Holiday(_Wire):
    date: dt.date
    name: str = ""


class Calendar(_Wire):
    id: Id
    workweek: Workweek
    holidays: tuple[Holiday, ...] = ()
    working_exceptions: tuple[dt.date, ...] = ()


class Leave(_Wire):
    start: dt.date
    end: dt.date


class Resource(_Wire):
    id: Id
    name: str
    capacity: NonNegative = 1.0
    calendar: Id | None = None
    leaves: tuple[Leave, ...] = ()


class Link(_Wire):
    task: Id
    type: LinkType = "FS"
    lag: Lag = 0
    lag_unit: DayUnit = "wd"


class Assignment(_Wire):
    resource: Id
    units: NonNegative = 1.0


class Task(_Wire):
    id: Id
    name: str
    # Required for every task except summaries, whose span comes from their
    # children, and milestones, which take 0; the semantic checks enforce
    # that, not the decoder.
    duration: Duration | None = None
    duration_unit: DayUnit = "wd"
    milestone: bool = False
    deadline: dt.date | None = None
    parent: Id | None = None
    predecessors: tuple[Link, ...] = ()
    assignments: tuple[Assignment, ...] = ()


class PlanDocument(_Wire):
    schema_version: SchemaVersion
    project: Project
    tasks: tuple[Task, ...]
    calendars: tuple[Calendar, ...] = ()
    resources: tuple[Resource, ...] = ()


# Ids joined by newlines, which no id may contain, go through one regex run
# over one string instead of one run per id.
_ID_LINES: Final = re.compile(f"{ID_CHARS}(?:\n{ID_CHARS})*")


def ids_well_formed(ids: Sequence[str]) -> bool:
    """Whether every one of ``ids`` matches ``ID_PATTERN``."""
    return not ids or _ID_LINES.fullmatch("\n".join(ids)) is not None


WEEKDAY_NUMBERS: Final[dict[str, int]] = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
