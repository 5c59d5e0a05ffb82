"""A CSV of tasks turned into a plan document (schema 1.0).

The format is the one people already keep in a spreadsheet, one task a row::

    id,name,duration,predecessors
    design,Design,5,
    build,Build,10,design
    review,Review,2,"build SS+3; design FS-1ed"
    launch,Launch,0,build;review

Columns are found by their header (any order, any case); ``id`` and ``name``
are required, ``duration`` and ``predecessors`` usual, and ``durationUnit``,
``milestone``, ``parent`` and ``deadline`` optional. The schedule columns of
the planner's own CSV export (``kind``, ``earlyStart`` … ``critical``) are
ignored, so an export can be imported again; any other column is a problem,
since a silently dropped column (``predecesors``) would drop links.

``predecessors`` lists ids separated by ``;`` or ``,``, each optionally
followed by a link type and a lag: ``build``, ``build SS``, ``build FS+2``,
``build SS-1ed`` (the form the export writes). ``duration`` is a whole number
of working days, optionally with a unit: ``5``, ``5wd``, ``3ed``.

Files from spreadsheets work as they come: a UTF-8 byte-order mark is
skipped, the delimiter may be ``,``, ``;`` (what a Turkish Excel writes) or a
tab, and the ``'`` a spreadsheet export puts before a cell that starts with
``=``, ``+``, ``-`` or ``@`` is taken off again.

This module only reads: it checks what a CSV can get wrong (the header, cell
syntax, row lengths) and reports each problem with its ``row`` (1 is the
header, as a spreadsheet numbers them) and ``column``. What is wrong with the
plan itself (unknown predecessors, cycles, duplicate ids) is the compiler's to
find; ``locate`` turns the JSON Pointer of such a problem back into a row and
column of the file.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec

from services.common.error_codes import ErrorCode

REQUIRED_COLUMNS: Final = ("id", "name")
OPTIONAL_COLUMNS: Final = (
    "duration",
    "predecessors",
    "durationUnit",
    "milestone",
    "parent",
    "deadline",
)
# What the planner's CSV export adds: computed, so an import leaves it out.
EXPORT_COLUMNS: Final = (
    "kind",
    "earlyStart",
    "earlyFinish",
    "lateStart",
    "lateFinish",
    "totalFloat",
    "freeFloat",
    "critical",
)
MAX_PROBLEMS: Final = 100
DEFAULT_CALENDAR: Final = {
    "id": "std",
    "workweek": ["mon", "tue", "wed", "thu", "fri"],
    "holidays": [],
    "workingExceptions": [],
}

_COLUMNS: Final = {c.lower(): c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
_IGNORED: Final = frozenset(c.lower() for c in EXPORT_COLUMNS)
_DELIMITERS: Final = (",", ";", "\t")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_ID: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DURATION: Final = re.compile(r"(?P<days>-?\d{1,9})\s*(?P<unit>wd|ed|d)?", re.IGNORECASE)
_LINK: Final = re.compile(
    r"(?P<task>[A-Za-z0-9_.-]{1,64})"
    r"(?:\s+(?P<type>FS|SS|FF|SF)?\s*(?:(?P<lag>[+-]\s*\d{1,9})\s*(?P<unit>wd|ed|d)?)?)?",
    re.IGNORECASE,
)
_LINK_SEPARATORS: Final = re.compile(r"[;,\n]")
_TRUE: Final = frozenset({"true", "yes", "1", "x", "evet"})
_FALSE: Final = frozenset({"", "false", "no", "0", "hayır", "hayir"})


class CsvProblem(msgspec.Struct, frozen=True):
    """One thing wrong, in the planner's problem shape; ``details`` has ``row`` and ``column``."""

    code: str
    message: str
    path: str
    details: dict[str, Any] = {}


class CsvInvalid(Exception):
    """The file cannot become a plan document; ``problems`` lists every reason found."""

    def __init__(self, problems: list[CsvProblem], *, truncated: bool = False) -> None:
        super().__init__(f"{len(problems)} problem(s) in the CSV")
        self.problems = problems
        self.truncated = truncated


class CsvTooLarge(Exception):
    """More task rows than allowed."""

    def __init__(self, rows: int, max_tasks: int) -> None:
        super().__init__(f"{rows} task rows; at most {max_tasks} are allowed")
        self.problem = CsvProblem(
            ErrorCode.PLAN_TOO_LARGE,
            f"the file has {rows} task rows; at most {max_tasks} are allowed",
            "/tasks",
            {"tasks": rows, "maxTasks": max_tasks},
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectFields:
    """What the CSV cannot say about the project, given by the caller."""

    id: str
    name: str
    start: dt.date
    time_zone: str


@dataclasses.dataclass(frozen=True, slots=True)
class Imported:
    """The plan document, and where each task came from for ``locate``."""

    document: dict[str, Any]
    rows: tuple[int, ...]  # rows[i] is the file row of document["tasks"][i]
    columns: Mapping[str, str]  # document field -> the column it was read from


class _Problems:
    def __init__(self) -> None:
        self.items: list[CsvProblem] = []
        self.truncated = False

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_PROBLEMS

    def add(
        self,
        code: ErrorCode,
        message: str,
        *,
        row: int | None,
        column: str | None,
        path: str = "",
        **details: Any,
    ) -> None:
        if self.full:
            self.truncated = True
            return
        self.items.append(
            CsvProblem(code, message, path, {**details, "row": row, "column": column})
        )


def read_csv(data: bytes, project: ProjectFields, *, max_tasks: int) -> Imported:
    """Turn ``data`` into a plan document; raise ``CsvInvalid`` or ``CsvTooLarge``."""
    problems = _Problems()
    text = _decode(data, problems)
    if text is None:
        raise CsvInvalid(problems.items)
    delimiter = _delimiter(text)
    records = _records(text, delimiter, problems)
    header = next(records, None)
    if header is None:
        problems.add(ErrorCode.PLAN_CSV_EMPTY, "the file is empty", row=None, column=None)
        raise CsvInvalid(problems.items)
    columns = _header(header[1], problems)
    tasks: list[dict[str, Any]] = []
    rows: list[int] = []
    for row, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(tasks) >= max_tasks:
            raise CsvTooLarge(len(tasks) + 1 + sum(1 for _ in records), max_tasks)
        if len(cells) > len(header[1]):
            problems.add(
                ErrorCode.PLAN_CSV_ROW_LENGTH,
                f"row {row} has {len(cells)} cells; the header has {len(header[1])}",
                row=row,
                column=None,
                cells=len(cells),
                expected=len(header[1]),
            )
        index = len(tasks)
        values = {
            field: cells[i].strip() if i < len(cells) else ""
            for i, field in columns.items()
            if field is not None
        }
        tasks.append(_task(values, row, index, problems))
        rows.append(row)
    if not tasks and not problems.items:
        problems.add(ErrorCode.PLAN_CSV_EMPTY, "the file has no task rows", row=None, column=None)
    if problems.items:
        raise CsvInvalid(problems.items, truncated=problems.truncated)
    document = {
        "schemaVersion": "1.0",
        "project": {
            "id": project.id,
            "name": project.name,
            "start": project.start.isoformat(),
            "timeZone": project.time_zone,
            "calendar": DEFAULT_CALENDAR["id"],
        },
        "calendars": [DEFAULT_CALENDAR],
        "resources": [],
        "tasks": tasks,
    }
    read_from = {field: field for field in columns.values() if field is not None}
    if "durationUnit" not in read_from and "duration" in read_from:
        read_from["durationUnit"] = "duration"  # the unit came as a suffix: 3ed
    return Imported(document, tuple(rows), read_from)


def locate(imported: Imported, path: str) -> tuple[int | None, str | None]:
    """The file row and column a JSON Pointer into the document points at.

    ``/tasks/3/predecessors/0/lag`` is the ``predecessors`` cell of the fourth
    task's row; a pointer outside the tasks (``/project/timeZone``) has none.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[1] != "tasks" or not parts[2].isdigit():
        return None, None
    index = int(parts[2])
    if index >= len(imported.rows):
        return None, None
    field = parts[3] if len(parts) > 3 else None
    return imported.rows[index], imported.columns.get(field) if field else None


# -- reading -----------------------------------------------------------------------


def _decode(data: bytes, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        problems.add(
            ErrorCode.PLAN_CSV_UNREADABLE,
            f"the file is not UTF-8 text (row {row}); save it as CSV UTF-8",
            row=row,
            column=None,
            reason="encoding",
        )
        return None


def _delimiter(text: str) -> str:
    """The delimiter that makes the first line a header naming ``id`` and ``name``."""
    first = text.split("\n", 1)[0]
    for delimiter in _DELIMITERS:
        cells = {cell.strip().strip('"').lower() for cell in first.split(delimiter)}
        if {"id", "name"} <= cells:
            return delimiter
    return ","


def _records(text: str, delimiter: str, problems: _Problems) -> Iterator[tuple[int, list[str]]]:
    """``(row, cells)`` per record, rows numbered as a spreadsheet shows them."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 0
    while True:
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader cannot find the next record reliably after this.
            problems.add(
                ErrorCode.PLAN_CSV_UNREADABLE,
                f"row {row} cannot be read as CSV ({exc})",
                row=row,
                column=None,
                reason="syntax",
            )
            return
        yield row, cells


def _header(cells: list[str], problems: _Problems) -> dict[int, str | None]:
    """Which document field each column holds (``None``: an export column, ignored)."""
    columns: dict[int, str | None] = {}
    seen: set[str] = set()
    for i, raw in enumerate(cells):
        name = raw.strip().lower()
        if name in _IGNORED:
            columns[i] = None
            continue
        field = _COLUMNS.get(name)
        if field is None:
            problems.add(
                ErrorCode.PLAN_CSV_UNKNOWN_COLUMN,
                f"column {i + 1} is {raw.strip()[:64]!r}, which is not a task field",
                row=1,
                column=raw.strip()[:64],
                known=[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS],
            )
            continue
        if field in seen:
            problems.add(
                ErrorCode.PLAN_CSV_DUPLICATE_COLUMN,
                f"column {field!r} appears twice",
                row=1,
                column=field,
            )
            continue
        seen.add(field)
        columns[i] = field
    for field in REQUIRED_COLUMNS:
        if field not in seen:
            problems.add(
                ErrorCode.PLAN_CSV_MISSING_COLUMN,
                f"the header has no {field!r} column",
                row=1,
                column=field,
            )
    return columns


def _task(values: Mapping[str, str], row: int, index: int, problems: _Problems) -> dict[str, Any]:
    def problem(code: ErrorCode, column: str, message: str, field: str | None = None) -> None:
        path = f"/tasks/{index}/{field or column}"
        problems.add(code, f"row {row}: {message}", row=row, column=column, path=path)

    task: dict[str, Any] = {}
    # A missing column is one header problem, not one more per row.
    task_id = values.get("id", "")
    if not task_id and "id" in values:
        problem(ErrorCode.PLAN_FIELD_REQUIRED, "id", "the id is empty")
    elif task_id and not _ID.fullmatch(task_id):
        problem(
            ErrorCode.PLAN_FIELD_TYPE,
            "id",
            "an id is 1 to 64 letters, digits, '_', '.' or '-'",
        )
    task["id"] = task_id
    name = _unprotect(values.get("name", ""))
    if not name and "name" in values:
        problem(ErrorCode.PLAN_FIELD_REQUIRED, "name", "the name is empty")
    task["name"] = name

    duration = values.get("duration", "")
    if duration:
        match = _DURATION.fullmatch(duration)
        if match is None:
            problem(
                ErrorCode.PLAN_FIELD_TYPE,
                "duration",
                "a duration is a whole number of days, such as 5, 5wd or 3ed",
            )
        elif int(match["days"]) < 0:
            problem(ErrorCode.PLAN_NEGATIVE_DURATION, "duration", "a duration cannot be negative")
        else:
            task["duration"] = int(match["days"])
            if (match["unit"] or "").lower() == "ed":
                task["durationUnit"] = "ed"
    unit = values.get("durationUnit", "").lower()
    if unit:
        if unit not in ("wd", "ed"):
            problem(ErrorCode.PLAN_FIELD_TYPE, "durationUnit", "the unit is wd or ed")
        elif task.get("durationUnit", unit) != unit:
            problem(ErrorCode.PLAN_FIELD_TYPE, "durationUnit", "the unit disagrees with duration")
        else:
            task["durationUnit"] = unit

    milestone = values.get("milestone", "").lower()
    if milestone in _TRUE:
        task["milestone"] = True
    elif milestone not in _FALSE:
        problem(ErrorCode.PLAN_FIELD_TYPE, "milestone", "milestone is true or false")

    parent = values.get("parent", "")
    if parent:
        if _ID.fullmatch(parent):
            task["parent"] = parent
        else:
            problem(ErrorCode.PLAN_FIELD_TYPE, "parent", "the parent is not a task id")

    deadline = values.get("deadline", "")
    if deadline:
        try:
            task["deadline"] = dt.date.fromisoformat(deadline).isoformat()
        except ValueError:
            problem(ErrorCode.PLAN_INVALID_DATE, "deadline", "a deadline is a date: 2027-01-29")

    links: list[dict[str, Any]] = []
    for raw_entry in _LINK_SEPARATORS.split(values.get("predecessors", "")):
        entry = raw_entry.strip()
        if not entry:
            continue
        match = _LINK.fullmatch(entry)
        if match is None:
            problem(
                ErrorCode.PLAN_CSV_PREDECESSOR,
                "predecessors",
                f"{entry[:80]!r} is not a predecessor: write an id, "
                "optionally with a type and lag, such as build FS+2",
                field=f"predecessors/{len(links)}",
            )
            continue
        link: dict[str, Any] = {"task": match["task"]}
        if match["type"]:
            link["type"] = match["type"].upper()
        if match["lag"]:
            link["lag"] = int(match["lag"].replace(" ", ""))
            if (match["unit"] or "").lower() == "ed":
                link["lagUnit"] = "ed"
        links.append(link)
    if links:
        task["predecessors"] = links
    return task


def _unprotect(value: str) -> str:
    """Take off the apostrophe an export puts before a cell a spreadsheet would run."""
    if len(value) > 1 and value[0] == "'" and value[1].startswith(_FORMULA_START):
        return value[1:]
    return value
