"""What a plan's page shows, worked out from the planner's answers: the task table,
and each problem of a rejected plan next to the task it names, in the reader's language.

Pure functions over the JSON the planner speaks. Words come from the catalogue
(``messages.TEXT``), error meanings from the registry; a problem's own ``message``
from the planner is English only and is never shown, and neither is raw JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.error_codes import REGISTRY, ErrorCode

# A detail the catalogue can say more about: "{code}_detail" keys, formatted with these.
_DETAIL_FIELDS: dict[str, tuple[str, ...]] = {
    "PLAN_UNKNOWN_DEPENDENCY": ("predecessor",),
    "PLAN_DUPLICATE_ID": ("id",),
    "PLAN_UNKNOWN_PARENT": ("parent",),
    "PLAN_UNKNOWN_RESOURCE": ("resource",),
    "PLAN_UNKNOWN_CALENDAR": ("calendar",),
    "PLAN_UNKNOWN_TIMEZONE": ("timeZone",),
    "PLAN_FIELD_REQUIRED": ("field",),
    "PLAN_FIELD_UNKNOWN": ("field",),
    "PLAN_INVALID_DATE": ("value",),
    "PLAN_TOO_LARGE": ("tasks", "maxTasks"),
}
_MAX_SHOWN = 60  # characters of any user-written value quoted back


@dataclass(frozen=True, slots=True)
class ProblemNote:
    """One problem as a person reads it."""

    code: str
    text: str  # the registry's meaning, in the reader's language
    detail: str | None  # what exactly, e.g. which predecessor, which row
    task: str | None  # the task it belongs to, when it names one


@dataclass(slots=True)
class ProblemsView:
    by_task: dict[str, list[ProblemNote]] = field(default_factory=dict)
    plan: list[ProblemNote] = field(default_factory=list)  # not about one task
    count: int = 0  # problems found (a loop is one, though shown at each of its tasks)


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str
    name: str
    kind: str  # task | milestone | summary
    depth: int
    duration: str
    schedule: Mapping[str, Any] | None  # the compiled row, None when the plan did not compile
    problems: tuple[ProblemNote, ...]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _tasks(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tasks = document.get("tasks") if isinstance(document, Mapping) else None
    return [t for t in tasks if isinstance(t, Mapping)] if isinstance(tasks, list) else []


def _task_at(path: str, tasks: Sequence[Mapping[str, Any]]) -> str | None:
    """The id of the task a JSON Pointer ``/tasks/3/…`` points into."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "tasks" and parts[2].isdigit():
        index = int(parts[2])
        if index < len(tasks) and isinstance(tasks[index].get("id"), str):
            return str(tasks[index]["id"])
    return None


def _field_name(path: str, t: Mapping[str, str]) -> str | None:
    """The document field a pointer ends at, as the catalogue calls it."""
    for part in reversed(path.split("/")):
        if part and not part.isdigit():
            return t.get(f"field_{part}", part)
    return None


def explain(
    problem: Mapping[str, Any], t: Mapping[str, str], locale: str
) -> tuple[str, str | None]:
    """The registry's meaning of a problem and, where the catalogue has one, its detail."""
    code = str(problem.get("code", ""))
    try:
        text = REGISTRY[ErrorCode(code)].message(locale)
    except ValueError:
        text = REGISTRY[ErrorCode.PLAN_INVALID].message(locale)
    details = problem.get("details")
    details = details if isinstance(details, Mapping) else {}
    parts: list[str] = []
    row, column = details.get("row"), details.get("column")
    if isinstance(row, int):
        key = "problem_row_column" if isinstance(column, str) else "problem_row"
        parts.append(t[key].format(row=row, column=_short(column)))
    if code == "PLAN_CYCLE" and isinstance(details.get("cycle"), list):
        parts.append(t["PLAN_CYCLE_detail"].format(cycle=" → ".join(map(_short, details["cycle"]))))
    elif code in _DETAIL_FIELDS and f"{code}_detail" in t:
        values = {name: details.get(name) for name in _DETAIL_FIELDS[code]}
        if all(v is not None for v in values.values()):
            if code in ("PLAN_FIELD_REQUIRED", "PLAN_FIELD_UNKNOWN"):
                values["field"] = t.get(f"field_{values['field']}", values["field"])
            parts.append(t[f"{code}_detail"].format(**{k: _short(v) for k, v in values.items()}))
    elif not isinstance(row, int):
        name = _field_name(str(problem.get("path", "")), t)
        if name:
            parts.append(t["problem_field"].format(field=_short(name)))
    return text, " · ".join(parts) or None


def problems_view(
    document: Mapping[str, Any],
    problems: Sequence[Mapping[str, Any]],
    t: Mapping[str, str],
    locale: str,
) -> ProblemsView:
    """Every problem at the task it names; a loop is shown at each of its tasks."""
    tasks = _tasks(document)
    known = {str(task.get("id")) for task in tasks}
    view = ProblemsView(count=len(problems))
    for problem in problems:
        text, detail = explain(problem, t, locale)
        code = str(problem.get("code", ""))
        details = problem.get("details") if isinstance(problem.get("details"), Mapping) else {}
        assert isinstance(details, Mapping)
        owners: list[str] = []
        if code == "PLAN_CYCLE" and isinstance(details.get("cycle"), list):
            owners = list(dict.fromkeys(str(c) for c in details["cycle"] if str(c) in known))
        else:
            owner = _task_at(str(problem.get("path", "")), tasks)
            owners = [owner] if owner is not None else []
        if not owners:
            view.plan.append(ProblemNote(code, text, detail, None))
        for owner in owners:
            view.by_task.setdefault(owner, []).append(ProblemNote(code, text, detail, owner))
    return view


def _depths(tasks: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    parents = {str(t.get("id")): t.get("parent") for t in tasks}
    depths: dict[str, int] = {}
    for task_id in parents:
        depth, seen, current = 0, {task_id}, parents.get(task_id)
        while isinstance(current, str) and current in parents and current not in seen and depth < 6:
            seen.add(current)
            depth += 1
            current = parents.get(current)
        depths[task_id] = depth
    return depths


def task_rows(
    document: Mapping[str, Any],
    plan: Mapping[str, Any] | None,
    problems: ProblemsView | None,
    t: Mapping[str, str],
) -> list[TaskRow]:
    """One row per task of the document, in its order, with its schedule and problems."""
    tasks = _tasks(document)
    scheduled: dict[str, Mapping[str, Any]] = {}
    if plan is not None and isinstance(plan.get("tasks"), list):
        scheduled = {str(row.get("id")): row for row in plan["tasks"] if isinstance(row, Mapping)}
    parents = {task.get("parent") for task in tasks if isinstance(task.get("parent"), str)}
    depths = _depths(tasks)
    rows = []
    for task in tasks:
        task_id = str(task.get("id", ""))
        duration = task.get("duration")
        if task_id in parents:
            kind = "summary"
        elif task.get("milestone") is True or duration == 0:
            kind = "milestone"
        else:
            kind = "task"
        unit = t["unit_ed"] if task.get("durationUnit") == "ed" else t["unit_wd"]
        shown = "" if kind == "summary" or not isinstance(duration, int) else f"{duration} {unit}"
        rows.append(
            TaskRow(
                id=task_id,
                name=str(task.get("name", "")),
                kind=kind,
                depth=depths.get(task_id, 0),
                duration=shown,
                schedule=scheduled.get(task_id),
                problems=tuple(problems.by_task.get(task_id, ())) if problems else (),
            )
        )
    return rows
