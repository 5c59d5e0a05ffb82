"""From request bytes to a checked ``Network``, or every reason why not.

Three paths, fastest first:

* fast: the body decodes straight into ``PlanDocument`` (shape checked in C by
  msgspec), the ids pass one bulk pattern check, and ``build_network`` finds
  nothing wrong while it builds the network;
* references: the document is well formed but ``build_network`` refused it;
  ``checks.find_problems`` walks it again and reports every problem;
* full: the body does not fit the schema, so it is decoded to plain JSON,
  walked for every shape problem (``structure.py``), and the items that are
  sound on their own are salvaged so that reference and cycle problems are
  reported in the same answer.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from operator import attrgetter
from typing import Any, Final, TypeVar

import msgspec

from services.common.json_input import too_deep

from .checks import find_problems
from .document import Calendar, PlanDocument, Project, Resource, Task, ids_well_formed
from .network import Network, build_network
from .problems import PlanInvalid, Problem, ProblemCode, ProblemList, TooManyProblems
from .structure import check_structure

DEFAULT_MAX_TASKS = 200_000
DEFAULT_HORIZON_DAYS = 146_097  # 400 years: one full Gregorian cycle

_DECODER: Final = msgspec.json.Decoder(PlanDocument)
# A plan document nests six levels deep; far more is not a plan.
MAX_NESTING: Final = 64

# msgspec reports malformed JSON as DecodeError, but invalid UTF-8 inside a
# string as the codec's own UnicodeDecodeError.
_NOT_JSON: Final = (msgspec.DecodeError, UnicodeDecodeError)


class PlanJSONInvalid(Exception):
    """The body is not JSON at all (400 rather than 422); ``line`` and ``column`` say where.

    Both count from 1, the column in characters, as editors show them.
    ``reason`` is the parser's own (English) account of what it found there.
    """

    def __init__(self, reason: str, *, line: int, column: int) -> None:
        super().__init__(f"{reason} (line {line}, column {column})")
        self.reason = reason
        self.line = line
        self.column = column

    @property
    def details(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


# msgspec names the offset of the byte it stopped at: "... (byte 23)"; for
# trailing characters, the offset just past the first of them.
_BYTE_OFFSET: Final = re.compile(r"\s*\(byte (\d+)\)$")


def _not_json(body: bytes | str, exc: Exception) -> PlanJSONInvalid:
    """Where in ``body`` the decoder gave up, as a line and a column."""
    data = body.encode() if isinstance(body, str) else bytes(body)
    reason = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        # msgspec's position is inside the string it was reading; decoding the
        # whole body again finds the bad byte's place in the document.
        try:
            data.decode()
        except UnicodeDecodeError as whole:
            offset, reason = whole.start, f"invalid UTF-8 byte 0x{data[whole.start]:02x}"
        else:  # pragma: no cover - msgspec and the codec disagree
            offset = len(data)
    elif match := _BYTE_OFFSET.search(reason):
        reason = reason[: match.start()]
        offset = int(match.group(1)) - reason.endswith("trailing characters")
        offset = min(max(0, offset), len(data))
    else:  # "Input data was truncated": it ran out of input
        offset = len(data)
    before = data[:offset].decode(errors="replace")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return PlanJSONInvalid(reason, line=line, column=column)


S = TypeVar("S", bound=msgspec.Struct)
_ID = attrgetter("id")


def read_document(
    body: bytes | str,
    *,
    max_tasks: int = DEFAULT_MAX_TASKS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> tuple[PlanDocument, Network]:
    """Decode and check a plan document; raise ``PlanInvalid`` listing its problems."""
    # Bounded before any parser recurses: 1,000 levels of nesting were a RecursionError.
    if too_deep(body.encode() if isinstance(body, str) else body, MAX_NESTING):
        raise PlanJSONInvalid(f"nested deeper than {MAX_NESTING} levels", line=1, column=1)
    try:
        doc = _DECODER.decode(body)
    except msgspec.ValidationError:
        doc = None
    except _NOT_JSON as exc:
        raise _not_json(body, exc) from exc
    if doc is None:
        _report_malformed(body, max_tasks=max_tasks, horizon_days=horizon_days)
    assert doc is not None
    if len(doc.tasks) > max_tasks:
        raise _too_large(len(doc.tasks), max_tasks)
    network = build_network(doc, horizon_days)
    if network is not None:
        return doc, network
    # The decoder leaves id patterns to us: a malformed id or reference is a
    # shape problem, reported by the full path like any other.
    if not ids_well_formed(list(_all_ids(doc))):
        _report_malformed(body, max_tasks=max_tasks, horizon_days=horizon_days)
    problems = ProblemList()
    with contextlib.suppress(TooManyProblems):
        find_problems(
            doc.project,
            list(doc.calendars),
            list(doc.resources),
            list(doc.tasks),
            problems,
            horizon_days,
        )
    if not problems:  # pragma: no cover - the two checks disagree
        raise AssertionError("build_network refused a plan find_problems accepts")
    raise PlanInvalid(problems.items, truncated=problems.truncated)


def _all_ids(doc: PlanDocument) -> Iterator[str]:
    """Every id and id reference in the document."""
    yield doc.project.id
    yield doc.project.calendar
    yield from map(_ID, doc.calendars)
    for r in doc.resources:
        yield r.id
        if r.calendar is not None:
            yield r.calendar
    for t in doc.tasks:
        yield t.id
        if t.parent is not None:
            yield t.parent
        yield from (link.task for link in t.predecessors)
        yield from (a.resource for a in t.assignments)


def _too_large(count: int, max_tasks: int) -> PlanInvalid:
    problems = ProblemList()
    problems.add(
        ProblemCode.TOO_LARGE,
        f"the plan has {count} tasks; at most {max_tasks} are allowed",
        "/tasks",
        {"tasks": count, "maxTasks": max_tasks},
    )
    return PlanInvalid(problems.items)


def _report_malformed(body: bytes | str, *, max_tasks: int, horizon_days: int) -> None:
    try:
        raw = msgspec.json.decode(body)
    except _NOT_JSON as exc:
        # The typed decoder can stop at the first value of the wrong type
        # before it reaches a syntax error further on (``5 x``).
        raise _not_json(body, exc) from exc
    tasks = raw.get("tasks") if isinstance(raw, dict) else None
    if isinstance(tasks, list) and len(tasks) > max_tasks:
        raise _too_large(len(tasks), max_tasks)
    problems = ProblemList()
    try:
        check_structure(raw, PlanDocument, problems)
        if isinstance(raw, dict):
            unsound = _unsound_items(problems.items)
            find_problems(
                _salvage_one(raw.get("project"), Project, "project" in unsound),
                _salvage_list(raw.get("calendars", []), Calendar, unsound.get("calendars")),
                _salvage_list(raw.get("resources", []), Resource, unsound.get("resources")),
                _salvage_list(raw.get("tasks", []), Task, unsound.get("tasks")),
                problems,
                horizon_days,
            )
    except TooManyProblems:
        pass
    raise PlanInvalid(problems.items, truncated=problems.truncated)


def _unsound_items(problems: list[Problem]) -> dict[str, set[int]]:
    """Which top-level items have a shape problem: ``{"tasks": {3}, "project": set()}``.

    The decoder does not check id patterns (see ``document.Id``), so whether
    an item converts is not enough to know it is sound.
    """
    unsound: dict[str, set[int]] = {}
    for problem in problems:
        parts = problem.path.split("/")
        if len(parts) >= 2:
            items = unsound.setdefault(parts[1], set())
            if len(parts) >= 3 and parts[2].isdigit():
                items.add(int(parts[2]))
    return unsound


def _salvage_one(value: Any, kind: type[S], unsound: bool) -> S | None:
    if unsound:
        return None
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return None


def _salvage_list(value: Any, kind: type[S], unsound: set[int] | None) -> list[S | str | None]:
    """Convert items one by one; a failed item keeps its id if that much was readable."""
    if not isinstance(value, list):
        return []
    items: list[S | str | None] = []
    for i, raw in enumerate(value):
        try:
            if unsound and i in unsound:
                raise msgspec.ValidationError
            items.append(msgspec.convert(raw, kind))
        except msgspec.ValidationError:
            # Keep a readable id so references to the item are not misreported.
            item_id = raw.get("id") if isinstance(raw, dict) else None
            items.append(item_id if isinstance(item_id, str) else None)
    return items
