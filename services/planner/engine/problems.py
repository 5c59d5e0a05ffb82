"""Validation problems: what is wrong with a plan document, and where.

Every problem carries a stable ``code`` for machines, an English ``message``
for people, a JSON Pointer ``path`` (RFC 6901) into the submitted document and
free-form ``details``. Validation collects up to ``MAX_PROBLEMS`` of them so a
client can fix a document in one round trip instead of one error at a time.
"""

from __future__ import annotations

import enum
from typing import Any, Final

import msgspec

from services.common.error_codes import ErrorCode

MAX_PROBLEMS: Final = 100


class ProblemCode(enum.StrEnum):
    """The registry's plan-document codes, under the short names the engine uses.

    Values come from ``ErrorCode``, so the codes and their texts have one list;
    a test checks this covers every plan-document code the registry has.
    """

    SCHEMA_VERSION_UNSUPPORTED = ErrorCode.PLAN_SCHEMA_VERSION_UNSUPPORTED
    FIELD_REQUIRED = ErrorCode.PLAN_FIELD_REQUIRED
    FIELD_TYPE = ErrorCode.PLAN_FIELD_TYPE
    FIELD_UNKNOWN = ErrorCode.PLAN_FIELD_UNKNOWN
    DUPLICATE_ID = ErrorCode.PLAN_DUPLICATE_ID
    UNKNOWN_DEPENDENCY = ErrorCode.PLAN_UNKNOWN_DEPENDENCY
    SELF_DEPENDENCY = ErrorCode.PLAN_SELF_DEPENDENCY
    CYCLE = ErrorCode.PLAN_CYCLE
    NEGATIVE_DURATION = ErrorCode.PLAN_NEGATIVE_DURATION
    MILESTONE_DURATION = ErrorCode.PLAN_MILESTONE_DURATION
    INVALID_DATE = ErrorCode.PLAN_INVALID_DATE
    UNKNOWN_TIMEZONE = ErrorCode.PLAN_UNKNOWN_TIMEZONE
    UNKNOWN_CALENDAR = ErrorCode.PLAN_UNKNOWN_CALENDAR
    UNKNOWN_RESOURCE = ErrorCode.PLAN_UNKNOWN_RESOURCE
    UNKNOWN_PARENT = ErrorCode.PLAN_UNKNOWN_PARENT
    EMPTY_WORKWEEK = ErrorCode.PLAN_EMPTY_WORKWEEK
    LAG_OUT_OF_RANGE = ErrorCode.PLAN_LAG_OUT_OF_RANGE
    HORIZON_EXCEEDED = ErrorCode.PLAN_HORIZON_EXCEEDED
    TOO_LARGE = ErrorCode.PLAN_TOO_LARGE


class Problem(msgspec.Struct, frozen=True):
    code: str
    message: str
    path: str
    details: dict[str, Any] = {}


def pointer(*parts: str | int) -> str:
    """Build a JSON Pointer, escaping ``~`` and ``/`` inside keys as RFC 6901 requires."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class TooManyProblems(Exception):
    """Raised inside a collector once it is full, to stop a walk early."""


class ProblemList:
    """Collects problems up to a limit; ``truncated`` tells whether more were found."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[Problem] = []
        self.limit = limit
        self.truncated = False

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(
        self,
        code: ProblemCode,
        message: str,
        path: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        if len(self.items) >= self.limit:
            self.truncated = True
            raise TooManyProblems
        self.items.append(Problem(str(code), message, path, details or {}))


class PlanInvalid(Exception):
    """The document cannot be compiled; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem], *, truncated: bool = False) -> None:
        super().__init__(f"{len(problems)} problem(s) in the plan document")
        self.problems = problems
        self.truncated = truncated

    @property
    def too_large(self) -> bool:
        return any(p.code == ProblemCode.TOO_LARGE for p in self.problems)
