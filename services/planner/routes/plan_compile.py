"""``POST /v1/plan/compile``: a plan document in, a schedule out."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.common.auth import AppSettings, CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_body, error_responses, preferred_locale
from services.planner.engine import PlanInvalid, PlanJSONInvalid, compile_plan
from services.planner.wire_schema import COMPILED_PLAN_REF, PLAN_DOCUMENT_REF, PROBLEM_REF

router = APIRouter(tags=["plans"])

_PLAN_INVALID_BODY = {
    "type": "object",
    "required": ["ok", "error", "errors"],
    "properties": {
        "ok": {"const": False},
        "error": {"$ref": "#/components/schemas/ErrorDetail"},
        "errors": {"type": "array", "items": PROBLEM_REF, "maxItems": 100},
    },
}


def _problems_response(
    request: Request, code: ErrorCode, status: int, problems: list[Any], *, truncated: bool = False
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, **error_body(code, locale=preferred_locale(request))}
    if truncated:
        body["error"]["details"] = {"truncated": True}
    body["errors"] = msgspec.to_builtins(problems)
    return JSONResponse(body, status_code=status)


@router.post(
    "/v1/plan/compile",
    summary="Compile a plan into a schedule",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PLAN_DOCUMENT_REF}},
        }
    },
    responses={
        200: {
            "description": "The compiled schedule.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["ok", "plan"],
                        "properties": {"ok": {"const": True}, "plan": COMPILED_PLAN_REF},
                    }
                }
            },
        },
        # PAYLOAD_TOO_LARGE: a body over PLANNER_MAX_BODY_BYTES, refused while it is read;
        # PLAN_TOO_LARGE: more tasks than allowed, with the count in `errors`.
        **error_responses(
            ErrorCode.PLAN_INVALID_JSON,
            ErrorCode.UNAUTHENTICATED,
            ErrorCode.PLAN_TOO_LARGE,
            ErrorCode.PAYLOAD_TOO_LARGE,
        ),
        422: {
            "description": "`PLAN_INVALID`: every problem found (at most 100) is in `errors`, "
            "each with a code, a message and a JSON Pointer `path` into the request body.",
            "content": {"application/json": {"schema": _PLAN_INVALID_BODY}},
        },
    },
)
async def compile_endpoint(
    request: Request, account: CurrentAccount, settings: AppSettings
) -> Response:
    """Compile a plan document (schema 1.0) into a critical-path schedule.

    The answer has early and late dates, working-day offsets, total and free
    float and the critical path for every task, resource over-allocations and
    scheduling warnings. A plan with problems answers 422 listing all of them
    at once; the scheduling rules are in `docs/planner_engine.md`.
    """
    body = await request.body()  # the request frame has bounded its size
    try:
        # Off the event loop: a large plan takes a second of CPU.
        plan = await run_in_threadpool(compile_plan, body, max_tasks=settings.planner_max_tasks)
    except PlanJSONInvalid:
        return _problems_response(request, ErrorCode.PLAN_INVALID_JSON, 400, [])
    except PlanInvalid as exc:
        if exc.too_large:
            return _problems_response(request, ErrorCode.PLAN_TOO_LARGE, 413, exc.problems)
        return _problems_response(
            request, ErrorCode.PLAN_INVALID, 422, exc.problems, truncated=exc.truncated
        )
    return Response(msgspec.json.encode({"ok": True, "plan": plan}), media_type="application/json")
