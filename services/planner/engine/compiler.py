"""Compile a plan document: validate, schedule, and shape the ``plan`` output."""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable
from itertools import compress
from operator import ge
from typing import Any

import msgspec

from .calendar import HorizonExceeded, WorkCalendar
from .document import SCHEMA_VERSION, PlanDocument
from .messages import Locale, locale_of, warning_message
from .network import Network
from .plan import (
    CompiledPlan,
    Overallocation,
    ProjectSchedule,
    ResourceLoad,
    ScheduleWarning,
    Stats,
    TaskSchedule,
)
from .problems import PlanInvalid, Problem, ProblemCode
from .resources import MICRO, overloads
from .schedule import Schedule, schedule
from .validate import DEFAULT_HORIZON_DAYS, DEFAULT_MAX_TASKS, read_document

# How many task ids a summarising warning lists before it only counts.
_LISTED_TASKS = 20

__all__ = ["CompiledPlan", "compile_document", "compile_plan"]


def compile_plan(
    body: bytes | str,
    *,
    max_tasks: int = DEFAULT_MAX_TASKS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    clock: Callable[[], float] = time.perf_counter,
    locale: str = "en",
) -> CompiledPlan:
    """Compile a JSON plan document; raise ``PlanInvalid`` or ``PlanJSONInvalid``.

    ``locale`` (``en`` or ``tr``) is the language of the warnings' messages.
    """
    return _timed(body, max_tasks, horizon_days, clock, locale, keep_document=False)[1]


def compile_document(
    body: bytes | str,
    *,
    max_tasks: int = DEFAULT_MAX_TASKS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    clock: Callable[[], float] = time.perf_counter,
    locale: str = "en",
) -> tuple[PlanDocument, CompiledPlan]:
    """Like ``compile_plan``, also returning the decoded document (for exports).

    ``clock`` times the compilation for ``stats.compileMs``; pass a constant
    clock to get byte-identical output for identical input.
    """
    doc, plan = _timed(body, max_tasks, horizon_days, clock, locale, keep_document=True)
    assert doc is not None
    return doc, plan


def _timed(
    body: bytes | str,
    max_tasks: int,
    horizon_days: int,
    clock: Callable[[], float],
    locale: str,
    *,
    keep_document: bool,
) -> tuple[PlanDocument | None, CompiledPlan]:
    started = clock()
    # A large plan allocates hundreds of thousands of small objects and no
    # cycles; the cyclic collector would rescan them over and over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        doc: PlanDocument | None
        doc, plan = _compile(
            body, max_tasks=max_tasks, horizon_days=horizon_days, locale=locale_of(locale)
        )
        if not keep_document:
            # Freed while the collector is paused, the document's containers
            # (a tuple per task) are not in the scan it makes when it resumes.
            doc = None
    finally:
        if collecting:
            gc.enable()
    elapsed_ms = round((clock() - started) * 1000, 3)
    stats = msgspec.structs.replace(plan.stats, compile_ms=elapsed_ms)
    return doc, msgspec.structs.replace(plan, stats=stats)


def _compile(
    body: bytes | str, *, max_tasks: int, horizon_days: int, locale: Locale
) -> tuple[PlanDocument, CompiledPlan]:
    doc, net = read_document(body, max_tasks=max_tasks, horizon_days=horizon_days)
    try:
        cal = WorkCalendar(net.working_times[net.project.calendar], net.project.start, horizon_days)
        sched = schedule(net, cal)
        plan = _shape(net, cal, sched, locale)
    except HorizonExceeded as exc:
        raise PlanInvalid(
            [
                Problem(
                    str(ProblemCode.HORIZON_EXCEEDED),
                    f"the schedule reaches further than {horizon_days} days from the project start",
                    "",
                    {"horizonDays": horizon_days, "date": _iso_or_none(exc.ordinal)},
                )
            ]
        ) from exc
    return doc, plan


def _iso_or_none(ordinal: int) -> str | None:
    try:
        return dt.date.fromordinal(ordinal).isoformat()
    except (ValueError, OverflowError):
        return None


def _warning(
    code: str, details: dict[str, Any], locale: Locale, task: str | None = None
) -> ScheduleWarning:
    return ScheduleWarning(
        code=code,
        message=warning_message(code, task, details, locale),
        details=details,
        task=task,
    )


def _shape(net: Network, cal: WorkCalendar, sched: Schedule, locale: Locale) -> CompiledPlan:
    n = net.size
    es, ef, ls, lf = sched.es, sched.ef, sched.ls, sched.lf
    tf, ff = sched.total_float, sched.free_float
    lo = min(0, min(ls, default=0)) - 1
    hi = max(sched.finish, max(lf, default=0), max(ef, default=0)) + 1
    iso = cal.iso_dates(lo, hi)
    # ``day[k]`` is the date of workday k, negative k counted from the end as
    # Python does, so whole columns convert with one C-level ``map``.
    day = iso[-lo:] + iso[:-lo]
    # ``end[k]`` is the date a boundary k shows: the day whose end it marks,
    # except the project start, which has no such day before it.
    end = [day[-1], *day[:-1]]
    end[0] = day[0]

    early_start = list(map(day.__getitem__, es))
    early_finish = list(map(end.__getitem__, ef))
    late_start = list(map(day.__getitem__, ls))
    late_finish = list(map(end.__getitem__, lf))
    # A zero-length task shows its boundary's date as its start too.
    for i in compress(range(n), map(ge, es, ef)):
        early_start[i] = early_finish[i]
    for i in compress(range(n), map(ge, ls, lf)):
        late_start[i] = late_finish[i]
    ids = net.ids
    tasks = list(
        map(
            TaskSchedule,
            ids,
            early_start,
            early_finish,
            late_start,
            late_finish,
            es,
            ef,
            ls,
            lf,
            tf,
            ff,
            map((0).__ge__, tf),  # critical: total float <= 0
        )
    )

    warnings: list[ScheduleWarning] = []
    project = net.project
    if cal.start != project.start:
        warnings.append(
            _warning(
                "SCHED_START_MOVED_TO_WORKDAY",
                {"requested": project.start.isoformat(), "start": cal.start.isoformat()},
                locale,
            )
        )
    if sched.project_deadline_bound is not None and sched.finish > sched.project_deadline_bound:
        assert project.deadline is not None
        warnings.append(
            _warning(
                "SCHED_DEADLINE_MISSED",
                {
                    "deadline": project.deadline.isoformat(),
                    "finish": end[sched.finish],
                    "lateByWorkdays": sched.finish - sched.project_deadline_bound,
                },
                locale,
            )
        )
    for i, bound in sched.deadline_bound.items():
        if ef[i] > bound:
            warnings.append(
                _warning(
                    "SCHED_DEADLINE_MISSED",
                    {
                        "deadline": _deadline_iso(net, i),
                        "finish": end[ef[i]],
                        "lateByWorkdays": ef[i] - bound,
                    },
                    locale,
                    task=ids[i],
                )
            )
    negative = sorted(compress(ids, map((0).__gt__, tf)))  # total float < 0
    if negative:
        warnings.append(
            _warning(
                "SCHED_NEGATIVE_FLOAT",
                {
                    "taskCount": len(negative),
                    "minTotalFloat": min(tf),
                    "tasks": negative[:_LISTED_TASKS],
                },
                locale,
            )
        )

    resources: list[ResourceLoad] = []
    for resource, periods in zip(net.resources, overloads(net, cal, es, ef), strict=True):
        shaped = [
            Overallocation(
                start=day[p.start],
                end=day[p.end - 1],
                units=p.units / MICRO,
                capacity=p.capacity / MICRO,
                tasks=sorted(ids[t] for t in p.tasks),
            )
            for p in periods
        ]
        resources.append(ResourceLoad(id=resource.id, overallocations=shaped))
        if shaped:
            warnings.append(
                _warning(
                    "SCHED_RESOURCE_OVERALLOCATED",
                    {
                        "resource": resource.id,
                        "periods": len(shaped),
                        "firstStart": shaped[0].start,
                        "maxUnits": max(p.units for p in shaped),
                        "capacity": resource.capacity,
                    },
                    locale,
                )
            )

    return CompiledPlan(
        schema_version=SCHEMA_VERSION,
        project=ProjectSchedule(
            start=cal.start.isoformat(),
            finish=end[sched.finish],
            duration_workdays=sched.finish,
            critical_path=[ids[i] for i in sched.critical_path],
        ),
        tasks=tasks,
        resources=resources,
        warnings=warnings,
        stats=Stats(tasks=n, dependencies=net.dependencies, compile_ms=0.0),
    )


def _deadline_iso(net: Network, task: int) -> str:
    return dt.date.fromordinal(net.deadline_ordinal[task]).isoformat()
