"""Compile a plan document: validate, schedule, and shape the ``plan`` output."""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable

import msgspec

from .calendar import HorizonExceeded, WorkCalendar
from .document import SCHEMA_VERSION, PlanDocument
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
) -> CompiledPlan:
    """Compile a JSON plan document; raise ``PlanInvalid`` or ``PlanJSONInvalid``."""
    return compile_document(body, max_tasks=max_tasks, horizon_days=horizon_days, clock=clock)[1]


def compile_document(
    body: bytes | str,
    *,
    max_tasks: int = DEFAULT_MAX_TASKS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[PlanDocument, CompiledPlan]:
    """Like ``compile_plan``, also returning the decoded document (for exports).

    ``clock`` times the compilation for ``stats.compileMs``; pass a constant
    clock to get byte-identical output for identical input.
    """
    started = clock()
    # A large plan allocates hundreds of thousands of small objects and no
    # cycles; the cyclic collector would rescan them over and over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        doc, plan = _compile(body, max_tasks=max_tasks, horizon_days=horizon_days)
    finally:
        if collecting:
            gc.enable()
    elapsed_ms = round((clock() - started) * 1000, 3)
    stats = msgspec.structs.replace(plan.stats, compile_ms=elapsed_ms)
    return doc, msgspec.structs.replace(plan, stats=stats)


def _compile(
    body: bytes | str, *, max_tasks: int, horizon_days: int
) -> tuple[PlanDocument, CompiledPlan]:
    doc, net = read_document(body, max_tasks=max_tasks, horizon_days=horizon_days)
    try:
        cal = WorkCalendar(net.working_times[net.project.calendar], net.project.start, horizon_days)
        sched = schedule(net, cal)
        plan = _shape(net, cal, sched)
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


def _shape(net: Network, cal: WorkCalendar, sched: Schedule) -> CompiledPlan:
    n = net.size
    es, ef, ls, lf = sched.es, sched.ef, sched.ls, sched.lf
    tf, ff = sched.total_float, sched.free_float
    lo = min([0, *ls]) - 1
    hi = max([sched.finish, *lf, *ef]) + 1
    iso = cal.iso_dates(lo, hi)

    def start_date(s: int, f: int) -> str:
        return iso[s - lo] if f > s else finish_date(f)

    def finish_date(f: int) -> str:
        # A boundary is shown as the day whose end it marks; the project
        # start itself has no such day before it and keeps its own date.
        return iso[f - lo - 1] if f != 0 else iso[-lo]

    ids = net.ids
    tasks = [
        TaskSchedule(
            id=ids[i],
            early_start=start_date(es[i], ef[i]),
            early_finish=finish_date(ef[i]),
            late_start=start_date(ls[i], lf[i]),
            late_finish=finish_date(lf[i]),
            es=es[i],
            ef=ef[i],
            ls=ls[i],
            lf=lf[i],
            total_float=tf[i],
            free_float=ff[i],
            critical=tf[i] <= 0,
        )
        for i in range(n)
    ]

    warnings: list[ScheduleWarning] = []
    project = net.project
    if cal.start != project.start:
        warnings.append(
            ScheduleWarning(
                code="SCHED_START_MOVED_TO_WORKDAY",
                details={"requested": project.start.isoformat(), "start": cal.start.isoformat()},
            )
        )
    if sched.project_deadline_bound is not None and sched.finish > sched.project_deadline_bound:
        assert project.deadline is not None
        warnings.append(
            ScheduleWarning(
                code="SCHED_DEADLINE_MISSED",
                details={
                    "deadline": project.deadline.isoformat(),
                    "finish": finish_date(sched.finish),
                    "lateByWorkdays": sched.finish - sched.project_deadline_bound,
                },
            )
        )
    for i, bound in enumerate(sched.deadline_bound):
        if bound is not None and ef[i] > bound:
            warnings.append(
                ScheduleWarning(
                    code="SCHED_DEADLINE_MISSED",
                    task=ids[i],
                    details={
                        "deadline": _deadline_iso(net, i),
                        "finish": finish_date(ef[i]),
                        "lateByWorkdays": ef[i] - bound,
                    },
                )
            )
    negative = sorted(ids[i] for i in range(n) if tf[i] < 0)
    if negative:
        warnings.append(
            ScheduleWarning(
                code="SCHED_NEGATIVE_FLOAT",
                details={
                    "taskCount": len(negative),
                    "minTotalFloat": min(tf),
                    "tasks": negative[:_LISTED_TASKS],
                },
            )
        )

    resources: list[ResourceLoad] = []
    for resource, periods in zip(net.resources, overloads(net, cal, es, ef), strict=True):
        shaped = [
            Overallocation(
                start=iso[p.start - lo],
                end=iso[p.end - 1 - lo],
                units=p.units / MICRO,
                capacity=p.capacity / MICRO,
                tasks=sorted(ids[t] for t in p.tasks),
            )
            for p in periods
        ]
        resources.append(ResourceLoad(id=resource.id, overallocations=shaped))
        if shaped:
            warnings.append(
                ScheduleWarning(
                    code="SCHED_RESOURCE_OVERALLOCATED",
                    details={
                        "resource": resource.id,
                        "periods": len(shaped),
                        "firstStart": shaped[0].start,
                        "maxUnits": max(p.units for p in shaped),
                        "capacity": resource.capacity,
                    },
                )
            )

    return CompiledPlan(
        schema_version=SCHEMA_VERSION,
        project=ProjectSchedule(
            start=cal.start.isoformat(),
            finish=finish_date(sched.finish),
            duration_workdays=sched.finish,
            critical_path=[ids[i] for i in sched.critical_path],
        ),
        tasks=tasks,
        resources=resources,
        warnings=warnings,
        stats=Stats(tasks=n, dependencies=net.dependencies, compile_ms=0.0),
    )


def _deadline_iso(net: Network, task: int) -> str:
    ordinal = net.deadline_ordinal[task]
    assert ordinal is not None
    return dt.date.fromordinal(ordinal).isoformat()
