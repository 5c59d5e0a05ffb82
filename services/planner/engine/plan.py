"""The compiled plan: the ``plan`` object of planner responses (schema 1.0).

Keys are camelCase on the wire. Lists follow input order; the values do not
depend on it.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Out(msgspec.Struct, rename="camel"):
    pass


class ProjectSchedule(_Out):
    start: str
    finish: str
    duration_workdays: int
    critical_path: list[str]


# Only strings and numbers: it can never be part of a reference cycle, and a
# large plan has a hundred thousand of them for the garbage collector to skip.
class TaskSchedule(_Out, gc=False):
    id: str
    early_start: str
    early_finish: str
    late_start: str
    late_finish: str
    es: int
    ef: int
    ls: int
    lf: int
    total_float: int
    free_float: int
    critical: bool


class Overallocation(_Out):
    start: str
    end: str
    units: float
    capacity: float
    tasks: list[str]


class ResourceLoad(_Out):
    id: str
    overallocations: list[Overallocation]


class ScheduleWarning(_Out, omit_defaults=True):
    code: str
    message: str  # for people, in the language the plan was compiled for
    details: dict[str, Any]
    task: str | None = None


class Stats(_Out):
    tasks: int
    dependencies: int
    compile_ms: float


class CompiledPlan(_Out):
    schema_version: str
    project: ProjectSchedule
    tasks: list[TaskSchedule]
    resources: list[ResourceLoad]
    warnings: list[ScheduleWarning]
    stats: Stats
