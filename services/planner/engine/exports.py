"""Exports of a compiled plan: iCalendar (RFC 5545) and CSV.

Both take the decoded input document (for names and durations) and the
compiled plan (for dates), and are deterministic: the iCalendar ``DTSTAMP``
comes from the caller, and UIDs from the project and task ids, so a
re-export updates the same events in a subscribed calendar.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import icalendar

from .document import PlanDocument, Task
from .plan import CompiledPlan

CSV_COLUMNS = (
    "id",
    "name",
    "parent",
    "kind",
    "duration",
    "durationUnit",
    "earlyStart",
    "earlyFinish",
    "lateStart",
    "lateFinish",
    "totalFloat",
    "freeFloat",
    "critical",
    "predecessors",
)
# Spreadsheets run a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _kinds(doc: PlanDocument) -> dict[str, str]:
    parents = {t.parent for t in doc.tasks if t.parent is not None}
    return {
        t.id: "summary" if t.id in parents else "milestone" if not t.duration else "task"
        for t in doc.tasks
    }


def event_uid(project_id: str, task_id: str) -> str:
    return f"{task_id}@{project_id}.gwstack"


def to_ics(doc: PlanDocument, plan: CompiledPlan, *, stamp: dt.datetime) -> bytes:
    """One all-day VEVENT per task, ``DTEND`` exclusive (the day after the finish)."""
    stamp = stamp.astimezone(dt.UTC)
    kinds = _kinds(doc)
    names = {t.id: t.name for t in doc.tasks}
    cal = icalendar.Calendar()
    cal.add("prodid", "-//gw_stack//planner//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", doc.project.name)
    cal.add("x-wr-timezone", doc.project.time_zone)
    for row in plan.tasks:
        start = dt.date.fromisoformat(row.early_start)
        finish = dt.date.fromisoformat(row.early_finish)
        event = icalendar.Event()
        event.add("uid", event_uid(doc.project.id, row.id))
        event.add("dtstamp", stamp)
        event.add("summary", names[row.id])
        event.add("dtstart", start)
        event.add("dtend", finish + dt.timedelta(days=1))
        event.add("categories", [kinds[row.id]])
        event.add("transp", "TRANSPARENT")  # a plan should not block anyone's free time
        event.add(
            "description",
            f"Total float: {row.total_float} workday(s)"
            + ("; on the critical path" if row.critical else ""),
        )
        cal.add_component(event)
    result: bytes = cal.to_ical()
    return result


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _links(task: Task) -> str:
    return ";".join(
        f"{link.task} {link.type}{link.lag:+d}{link.lag_unit}" for link in task.predecessors
    )


def to_csv(doc: PlanDocument, plan: CompiledPlan) -> str:
    """A header row, then one row per task in input order, columns as ``CSV_COLUMNS``."""
    kinds = _kinds(doc)
    tasks = {t.id: t for t in doc.tasks}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in plan.tasks:
        task = tasks[row.id]
        writer.writerow(
            (
                row.id,
                _cell(task.name),
                task.parent or "",
                kinds[row.id],
                "" if kinds[row.id] == "summary" else task.duration or 0,
                task.duration_unit,
                row.early_start,
                row.early_finish,
                row.late_start,
                row.late_finish,
                row.total_float,
                row.free_float,
                "true" if row.critical else "false",
                _links(task),
            )
        )
    return out.getvalue()
