"""The plan compiler: plan document v1 in, critical-path schedule out.

A library with no web or billing dependency. ``compile_plan`` is the entry
point; ``exports`` turns a compiled plan into iCalendar or CSV.
"""

from .compiler import CompiledPlan, compile_document, compile_plan
from .document import PlanDocument
from .exports import CSV_COLUMNS, event_uid, to_csv, to_ics
from .problems import MAX_PROBLEMS, PlanInvalid, Problem, ProblemCode
from .validate import DEFAULT_HORIZON_DAYS, DEFAULT_MAX_TASKS, PlanJSONInvalid, read_document

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_MAX_TASKS",
    "MAX_PROBLEMS",
    "CompiledPlan",
    "PlanDocument",
    "PlanInvalid",
    "PlanJSONInvalid",
    "Problem",
    "ProblemCode",
    "compile_document",
    "compile_plan",
    "event_uid",
    "read_document",
    "to_csv",
    "to_ics",
]
