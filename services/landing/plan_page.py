"""A plan's page: compile the document as the signed-in user and turn every answer the
planner can give into what the page shows.

The planner decides everything (access, limits, problems); this module only
reads its answers: a schedule (with ``billing.ok`` and ``featureAccess``), a
rejected plan's problems, ``413 PLAN_TOO_LARGE`` with the tier's limit, ``429
PLAN_CONCURRENCY_LIMIT`` with ``Retry-After`` (the account's own compiles), ``503
SERVICE_UNAVAILABLE`` with ``Retry-After`` (the planner process is full of other
people's compiles), or the planner being unreachable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.error_codes import ErrorCode
from services.landing.formatting import count, iso_day
from services.landing.gantt import GANTT_TEXT, GanttChart, GanttInputInvalid, Zoom, render_gantt
from services.landing.messages import texts
from services.landing.plan_view import ProblemsView, TaskRow, explain, problems_view, task_rows
from services.landing.planner_client import (
    FREE_TIER,
    Compiled,
    FeatureAccess,
    PlannerClient,
    PlannerError,
    PlanRejected,
    SavedPlan,
)
from services.landing.web import Viewer

PAGE_SIZE = 200
# A long critical path is named by its ends: 250 ids in a row would bury the page's
# facts, and the chart and table mark every critical task anyway.
CRITICAL_PATH_NAMED = 12
# The chart's timeline fits the page's content column at its widest (1080 px less the
# padding and the chart's name column); narrower screens scroll it sideways.
FIT_PX = 800


@dataclass(frozen=True, slots=True)
class TooLarge:
    tasks: int
    max_tasks: int


@dataclass(slots=True)
class Outcome:
    """What compiling gave: exactly one of these is set (``access`` always is)."""

    access: FeatureAccess
    compiled: Compiled | None = None
    problems: ProblemsView | None = None
    truncated: bool = False
    too_large: TooLarge | None = None
    busy_seconds: int | None = None  # the account's own compile slots are taken
    planner_busy_seconds: int | None = None  # the planner's compile queue is full
    failed: ErrorCode | None = None  # the planner was unreachable or refused otherwise


def read_document(body: bytes) -> dict[str, Any]:
    """The document as JSON for the task table; ``{}`` when it is not even JSON."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


async def compile_document(
    planner: PlannerClient, viewer: Viewer, document: dict[str, Any], body: bytes, locale: str
) -> Outcome:
    t = texts(locale)
    try:
        compiled = await planner.compile(viewer.token, body, locale)
    except PlanRejected as rejected:
        access = await _access(planner, viewer, locale)
        if rejected.code == ErrorCode.PLAN_TOO_LARGE:
            details = rejected.problems[0].details if rejected.problems else {}
            tasks, most = details.get("tasks"), details.get("maxTasks")
            if isinstance(tasks, int) and isinstance(most, int):
                return Outcome(access, too_large=TooLarge(tasks, most))
        problems = [p.model_dump() for p in rejected.problems]
        if not problems:  # PLAN_INVALID_JSON: nothing to point at
            problems = [{"code": str(rejected.code), "path": "", "details": {}}]
        view = problems_view(document, problems, t, locale)
        return Outcome(access, problems=view, truncated=len(problems) >= 100)
    except PlannerError as error:
        access = await _access(planner, viewer, locale)
        if error.code == ErrorCode.PLAN_CONCURRENCY_LIMIT:
            return Outcome(access, busy_seconds=error.retry_after or 1)
        if error.code == ErrorCode.SERVICE_UNAVAILABLE and error.retry_after is not None:
            # A 503 that says when to come back is the planner's compile gate, not an outage.
            return Outcome(access, planner_busy_seconds=error.retry_after)
        return Outcome(access, failed=error.code)
    return Outcome(compiled.feature_access, compiled=compiled)


async def _access(planner: PlannerClient, viewer: Viewer, locale: str) -> FeatureAccess:
    """The account's access when the compile answer did not carry it; free if unknown."""
    try:
        access, _ = await planner.access(viewer.token, locale)
    except PlannerError:
        return FREE_TIER
    return access


def today_in(document: dict[str, Any]) -> dt.date:
    """Today where the project lives, for the chart's today line."""
    project = document.get("project")
    zone = project.get("timeZone") if isinstance(project, dict) else None
    try:
        tz = ZoneInfo(zone) if isinstance(zone, str) else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return dt.datetime.now(tz).date()


def _gantt(
    document: dict[str, Any], plan: dict[str, Any], locale: str, page: int, zoom: Zoom
) -> GanttChart | None:
    try:
        return render_gantt(
            document,
            plan,
            text=GANTT_TEXT["tr" if locale == "tr" else "en"],
            today=today_in(document),
            zoom=zoom,
            page=page,
            page_size=PAGE_SIZE,
            fit_px=FIT_PX,
        )
    except GanttInputInvalid:
        return None


def _warnings(
    plan: dict[str, Any], t: dict[str, str], locale: str
) -> tuple[list[str], dict[str, list[str]]]:
    """Scheduling warnings in words: about the project, and per task."""
    project: list[str] = []
    by_task: dict[str, list[str]] = {}
    for warning in plan.get("warnings", []):
        if not isinstance(warning, dict):
            continue
        code, details = warning.get("code"), warning.get("details") or {}
        task = warning.get("task")
        if code == "SCHED_DEADLINE_MISSED":
            key = "warn_task_deadline" if task else "warn_project_deadline"
            text = t[key].format(
                deadline=iso_day(details.get("deadline"), locale),
                days=details.get("lateByWorkdays", "?"),
            )
        elif code == "SCHED_START_MOVED_TO_WORKDAY":
            text = t["warn_start_moved"].format(start=iso_day(details.get("start"), locale))
        elif code == "SCHED_NEGATIVE_FLOAT":
            text = t["warn_negative_float"].format(n=details.get("taskCount", "?"))
        elif code == "SCHED_RESOURCE_OVERALLOCATED":
            text = t["warn_overallocated"].format(
                resource=str(details.get("resource", ""))[:60],
                start=iso_day(details.get("firstStart"), locale),
            )
        else:
            continue
        if isinstance(task, str):
            by_task.setdefault(task, []).append(text)
        else:
            project.append(text)
    return project, by_task


def critical_path_words(ids: list[str], t: dict[str, str]) -> str:
    if len(ids) <= CRITICAL_PATH_NAMED:
        return " → ".join(ids)
    return t["plan_critical_long"].format(
        first=" → ".join(ids[:8]), last=" → ".join(ids[-3:]), n=len(ids)
    )


def page_context(
    *,
    document: dict[str, Any],
    body: bytes,
    outcome: Outcome,
    locale: str,
    saved: SavedPlan | None,
    page: int,
    zoom: Zoom,
    paid_max_tasks: int | None,
) -> dict[str, Any]:
    """Everything ``app_plan.html`` needs, for a saved plan or an unsaved draft."""
    t = texts(locale)
    plan = outcome.compiled.plan if outcome.compiled else None
    chart = _gantt(document, plan, locale, page, zoom) if plan is not None else None
    project_warnings, task_warnings = _warnings(plan, t, locale) if plan else ([], {})
    rows: list[TaskRow] = task_rows(document, plan, outcome.problems, t)
    project = document.get("project") if isinstance(document.get("project"), dict) else {}
    assert isinstance(project, dict)
    total = len(rows)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    first = (page - 1) * PAGE_SIZE
    return {
        "document_json": body.decode("utf-8", "replace"),
        "project_name": str(project.get("name") or (saved.name if saved else "")),
        "deadline": iso_day(project.get("deadline"), locale),
        "saved": saved,
        "access": outcome.access,
        "outcome": outcome,
        "schedule": plan["project"] if plan else None,
        "start": iso_day(plan["project"]["start"], locale) if plan else None,
        "finish": iso_day(plan["project"]["finish"], locale) if plan else None,
        "critical_path": critical_path_words(plan["project"]["criticalPath"], t) if plan else "",
        "billing_trouble": outcome.compiled is not None and not outcome.compiled.billing_ok,
        "chart": chart,
        "rows": rows[first : first + PAGE_SIZE],
        "row_offset": first,
        "total_rows": total,
        "page": page,
        "pages": pages,
        "zoom": str(chart.zoom if chart else zoom),
        "chosen_zoom": str(zoom),
        "zooms": [str(z) for z in Zoom],
        "project_warnings": project_warnings,
        "task_warnings": task_warnings,
        "plan_problems": [(n.text, n.detail) for n in outcome.problems.plan]
        if outcome.problems
        else [],
        "problem_count": outcome.problems.count if outcome.problems else 0,
        "paid_max_tasks": count(paid_max_tasks, locale) if paid_max_tasks else None,
        "count": lambda value: count(value, locale),
        "day": lambda value: iso_day(value, locale),
        "explain": lambda problem: explain(problem, t, locale),
    }
