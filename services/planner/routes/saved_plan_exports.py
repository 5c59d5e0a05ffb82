"""``GET /v1/plans/{planId}/export?format=ics|csv``: a saved plan as a calendar or a sheet."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from services.common.auth import AppSettings, CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.planner import saved_plans
from services.planner.context import AccountAccess, Planner, Slots
from services.planner.engine import compile_document, to_csv, to_ics
from services.planner.gating import require
from services.planner.routes.plan_compile import run_compiler
from services.planner.routes.saved_plans import PlanId

router = APIRouter(tags=["saved plans"])

MEDIA_TYPES = {"ics": "text/calendar; charset=utf-8", "csv": "text/csv; charset=utf-8"}
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def file_name(project_id: str, extension: str) -> str:
    """A plain ASCII file name from the project id (ids may hold dots: no "..", no hidden file)."""
    stem = _UNSAFE_IN_FILE_NAME.sub("_", project_id).strip("_") or "plan"
    return f"{stem}.{extension}"


@router.get(
    "/v1/plans/{planId}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The file: iCalendar (RFC 5545, all-day events) or CSV.",
            "content": {
                "text/calendar": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **error_responses(
            ErrorCode.UNAUTHENTICATED,
            ErrorCode.FEATURE_NOT_AVAILABLE,
            ErrorCode.SAVED_PLAN_NOT_FOUND,
            ErrorCode.PLAN_CONCURRENCY_LIMIT,
            ErrorCode.PLAN_INVALID,
        ),
    },
)
async def export_saved_plan(
    request: Request,
    planner: Planner,
    account_id: CurrentAccount,
    access: AccountAccess,
    slots: Slots,
    settings: AppSettings,
    plan_id: PlanId,
    format: Annotated[Literal["ics", "csv"], Query()],
) -> Response:
    """Download a saved plan's schedule (needs `canExport`).

    `format=ics` gives an iCalendar file with one all-day event per task
    (`DTEND` exclusive); `format=csv` one row per task. Another account's plan is 404.
    """
    async with planner.sessions() as session:
        plan = await saved_plans.find(session, account_id, plan_id)
    require(access.feature_access, "canExport", upgrade_url=planner.upgrade_url)
    compiled = await run_compiler(
        request,
        compile_document,
        plan.document,
        account_id=account_id,
        # Saved within its tier when it was saved: the engine's ceiling only.
        limit=settings.planner_max_tasks,
        concurrent=access.feature_access.max_concurrent_plans,
        slots=slots,
    )
    if isinstance(compiled, JSONResponse):
        return compiled
    doc, schedule = compiled
    content = (
        to_ics(doc, schedule, stamp=plan.updated_at)
        if format == "ics"
        else to_csv(doc, schedule).encode()
    )
    name = file_name(doc.project.id, format)
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
