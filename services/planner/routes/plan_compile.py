"""``POST /v1/plan/compile`` and ``/v1/plan/compile_with_access_preview``: a plan document
in, a schedule out, within the account's tier limits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.common.auth import AppSettings, CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_body, error_responses, preferred_locale
from services.common.settings import Settings
from services.planner.access_lookup import AccessAnswer
from services.planner.compile_gate import gate_of
from services.planner.compile_slots import OVERLAP_MAX_BODY_BYTES, CompileSlots
from services.planner.context import AccountAccess, Slots
from services.planner.engine import CompiledPlan, PlanInvalid, PlanJSONInvalid, compile_plan
from services.planner.engine.messages import invalid_json_message, locale_of
from services.planner.gating import task_limit
from services.planner.wire_schema import (
    COMPILED_PLAN_REF,
    PLAN_DOCUMENT_REF,
    PLAN_EXAMPLE,
    PROBLEM_REF,
)

router = APIRouter(tags=["plans"])
T = TypeVar("T")

_PLAN_INVALID_BODY = {
    "type": "object",
    "required": ["ok", "error", "errors"],
    "properties": {
        "ok": {"const": False},
        "error": {"$ref": "#/components/schemas/ErrorDetail"},
        "errors": {"type": "array", "items": PROBLEM_REF, "maxItems": 100},
    },
}
PLAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PLAN_DOCUMENT_REF, "example": PLAN_EXAMPLE}},
    }
}
# What the answer to the example looks like, computed from it, so the two cannot drift.
_ANSWER_EXAMPLE = {
    "ok": True,
    "plan": msgspec.to_builtins(compile_plan(msgspec.json.encode(PLAN_EXAMPLE), clock=lambda: 0.0)),
}
_COMPONENT = "#/components/schemas/{}".format
_COMPILE_WITH_ACCESS_BODY = {
    "type": "object",
    "required": ["ok", "plan", "billing", "featureAccess", "source"],
    "properties": {
        "ok": {"const": True},
        "plan": COMPILED_PLAN_REF,
        "billing": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["ok", "preview"],
                    "properties": {
                        "ok": {"const": True},
                        "preview": {"$ref": _COMPONENT("PreviewOut")},
                    },
                },
                {"$ref": _COMPONENT("BillingFailed")},
            ]
        },
        "featureAccess": {"$ref": _COMPONENT("FeatureAccessOut")},
        "source": {"enum": ["live", "cache", "stale", "fallback"]},
    },
}
# PAYLOAD_TOO_LARGE: a body over PLANNER_MAX_BODY_BYTES, refused while it is read;
# PLAN_TOO_LARGE: more tasks than the tier's maxTasksPerPlan, with the count in `errors`.
PLAN_ERRORS: dict[int | str, dict[str, Any]] = {
    **error_responses(
        ErrorCode.PLAN_INVALID_JSON,
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.PLAN_TOO_LARGE,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.PLAN_CONCURRENCY_LIMIT,
        # Every compile turn of this process is taken for longer than a request waits.
        ErrorCode.SERVICE_UNAVAILABLE,
    ),
    422: {
        "description": "`PLAN_INVALID`: every problem found (at most 100) is in `errors`, "
        "each with a code, a message and a JSON Pointer `path` into the request body.",
        "content": {"application/json": {"schema": _PLAN_INVALID_BODY}},
    },
}


def problems_response(
    request: Request,
    code: ErrorCode,
    status: int,
    problems: list[Any],
    *,
    truncated: bool = False,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> JSONResponse:
    if truncated:
        details = {"truncated": True}
    error = error_body(code, locale=preferred_locale(request), message=message, details=details)
    body: dict[str, Any] = {"ok": False, **error, "errors": msgspec.to_builtins(problems)}
    return JSONResponse(body, status_code=status)


def max_tasks(access: AccessAnswer, settings: Settings) -> int:
    return task_limit(access.feature_access, settings.planner_max_tasks)


async def compile_within_limits(
    request: Request,
    body: bytes,
    *,
    account_id: str,
    access: AccessAnswer,
    slots: CompileSlots,
    settings: Settings,
) -> CompiledPlan | JSONResponse:
    """Compile in one of the account's slots; the plan, or the coded answer for its problems."""
    return await run_compiler(
        request,
        compile_plan,
        body,
        account_id=account_id,
        limit=max_tasks(access, settings),
        concurrent=access.feature_access.max_concurrent_plans,
        slots=slots,
    )


async def run_compiler(
    request: Request,
    compiler: Callable[..., T],
    body: bytes | str,
    *,
    account_id: str,
    limit: int,
    concurrent: int,
    slots: CompileSlots,
) -> T | JSONResponse:
    """``compiler`` (``compile_plan`` or ``compile_document``) in one of the account's
    ``concurrent`` slots, at most ``limit`` tasks; its result or the coded problem answer."""
    gate = gate_of(request.app)

    async def in_turn() -> T | JSONResponse:
        async with gate.turn():
            return await _compiled(request, compiler, body, limit)

    # A small plan compiles while its slot is asked for; a large one waits for it.
    small = len(body) <= OVERLAP_MAX_BODY_BYTES
    return await slots.run(account_id, concurrent, in_turn, small=small)


async def _compiled(
    request: Request, compiler: Callable[..., T], body: bytes | str, limit: int
) -> T | JSONResponse:
    try:
        # Off the event loop: a large plan takes a second of CPU. Warnings
        # speak the reader's language, as error answers do.
        return await run_in_threadpool(
            functools.partial(compiler, body, max_tasks=limit, locale=preferred_locale(request))
        )
    except PlanJSONInvalid as exc:
        # Where the body stops being JSON, in the reader's language.
        locale = locale_of(preferred_locale(request))
        return problems_response(
            request,
            ErrorCode.PLAN_INVALID_JSON,
            400,
            [],
            message=invalid_json_message(exc.line, exc.column, locale),
            details=exc.details,
        )
    except PlanInvalid as exc:
        if exc.too_large:
            return problems_response(request, ErrorCode.PLAN_TOO_LARGE, 413, exc.problems)
        return problems_response(
            request, ErrorCode.PLAN_INVALID, 422, exc.problems, truncated=exc.truncated
        )


@router.post(
    "/v1/plan/compile",
    summary="Compile a plan into a schedule",
    openapi_extra=PLAN_BODY,
    responses={
        200: {
            "description": "The compiled schedule.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["ok", "plan"],
                        "properties": {"ok": {"const": True}, "plan": COMPILED_PLAN_REF},
                    },
                    "example": _ANSWER_EXAMPLE,
                }
            },
        },
        **PLAN_ERRORS,
    },
)
async def compile_endpoint(
    request: Request,
    account_id: CurrentAccount,
    access: AccountAccess,
    slots: Slots,
    settings: AppSettings,
) -> Response:
    """Compile a plan document (schema 1.0) into a critical-path schedule.

    The answer has early and late dates, working-day offsets, total and free
    float and the critical path for every task, resource over-allocations and
    scheduling warnings, each with a message in the language of
    `Accept-Language` (Turkish or English). A plan with problems answers 422 listing all of them
    at once; a body that is not JSON answers 400 with the line and column
    where it stops being JSON. The scheduling rules are in
    `docs/planner_engine.md`. More tasks
    than your tier's `maxTasksPerPlan` is `413 PLAN_TOO_LARGE`; more running
    compilations than its `maxConcurrentPlans` is `429 PLAN_CONCURRENCY_LIMIT`.
    """
    body = await request.body()  # the request frame has bounded its size
    plan = await compile_within_limits(
        request, body, account_id=account_id, access=access, slots=slots, settings=settings
    )
    if isinstance(plan, JSONResponse):
        return plan
    return Response(msgspec.json.encode({"ok": True, "plan": plan}), media_type="application/json")


@router.post(
    "/v1/plan/compile_with_access_preview",
    summary="Compile a plan, with what the account's subscription gives it",
    openapi_extra=PLAN_BODY,
    responses={
        200: {
            "description": "The compiled schedule, the billing outcome and `featureAccess`.",
            "content": {"application/json": {"schema": _COMPILE_WITH_ACCESS_BODY}},
        },
        **PLAN_ERRORS,
    },
)
async def compile_with_access_preview(
    request: Request,
    account_id: CurrentAccount,
    access: AccountAccess,
    slots: Slots,
    settings: AppSettings,
) -> Response:
    """Compile a plan and say what the account's subscription gives it, in one answer.

    **A plan that compiles always answers 200 with `ok: true` and the plan**,
    whatever billing does: a billing failure shows only as
    `"billing": {"ok": false, "kind": "…"}`, with `featureAccess` from the last
    known access (`source: "stale"`) or else the free tier (`"fallback"`).
    """
    body = await request.body()
    plan = await compile_within_limits(
        request, body, account_id=account_id, access=access, slots=slots, settings=settings
    )
    if isinstance(plan, JSONResponse):
        return plan
    answer = {
        "ok": True,
        "plan": plan,
        "billing": access.billing_wire(),
        "featureAccess": access.feature_access.to_wire(),
        "source": access.source,
    }
    return Response(msgspec.json.encode(answer), media_type="application/json")
