"""Saved plans: ``POST/GET /v1/plans`` and ``GET/PUT/DELETE /v1/plans/{planId}``.

Creating and changing need ``canSavePlans``; reading and deleting never do, so
a downgrade keeps every plan readable and deletable.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.common.auth import AppSettings, CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.common.settings import Settings
from services.planner import saved_plans
from services.planner.access_lookup import AccessAnswer
from services.planner.context import AccountAccess, Planner, Slots
from services.planner.engine import PlanDocument, compile_document
from services.planner.gating import require
from services.planner.models import SavedPlan
from services.planner.routes.plan_compile import PLAN_BODY, PLAN_ERRORS, max_tasks, run_compiler
from services.planner.schemas import (
    SavedPlanDocumentEnvelope,
    SavedPlanEnvelope,
    SavedPlanOut,
    SavedPlansOut,
)

router = APIRouter(tags=["saved plans"])

PlanId = Annotated[str, Path(alias="planId")]
_REFUSED = error_responses(ErrorCode.FEATURE_NOT_AVAILABLE)
_NOT_FOUND = error_responses(ErrorCode.SAVED_PLAN_NOT_FOUND)


def summary(plan: SavedPlan) -> SavedPlanOut:
    return SavedPlanOut(
        id=plan.id,
        name=plan.name,
        task_count=plan.task_count,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


async def _checked(
    request: Request,
    account_id: str,
    access: AccessAnswer,
    slots: Slots,
    settings: Settings,
    planner_upgrade_url: str,
) -> tuple[PlanDocument, str] | JSONResponse:
    """The body as a plan that compiles within the tier, or the answer saying why not."""
    require(access.feature_access, "canSavePlans", upgrade_url=planner_upgrade_url)
    body = await request.body()
    compiled = await run_compiler(
        request,
        compile_document,
        body,
        account_id=account_id,
        limit=max_tasks(access, settings),
        concurrent=access.feature_access.max_concurrent_plans,
        slots=slots,
    )
    if isinstance(compiled, JSONResponse):
        return compiled
    return compiled[0], body.decode()  # it compiled, so it is UTF-8 JSON


@router.post(
    "/v1/plans",
    status_code=201,
    response_model=SavedPlanEnvelope,
    openapi_extra=PLAN_BODY,
    responses={**PLAN_ERRORS, **_REFUSED},
)
async def create_saved_plan(
    request: Request,
    planner: Planner,
    account_id: CurrentAccount,
    access: AccountAccess,
    slots: Slots,
    settings: AppSettings,
) -> Any:
    """Save a plan document (needs `canSavePlans`).

    The plan must compile within your tier (`413 PLAN_TOO_LARGE` past its
    `maxTasksPerPlan`, `422 PLAN_INVALID` with every problem). The answer's `id`
    is unguessable; `Location` points at the saved plan.
    """
    checked = await _checked(request, account_id, access, slots, settings, planner.upgrade_url)
    if isinstance(checked, JSONResponse):
        return checked
    async with planner.sessions() as session, session.begin():
        plan = saved_plans.create(session, account_id, *checked)
    envelope = SavedPlanEnvelope(plan=summary(plan))
    return JSONResponse(
        envelope.model_dump(mode="json", by_alias=True),
        status_code=201,
        headers={"Location": f"/v1/plans/{plan.id}"},
    )


@router.get(
    "/v1/plans",
    response_model=SavedPlansOut,
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)
async def list_saved_plans(
    planner: Planner,
    account_id: CurrentAccount,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SavedPlansOut:
    """Your saved plans, most recently changed first (any tier)."""
    async with planner.sessions() as session:
        plans = await saved_plans.newest(session, account_id, limit)
    return SavedPlansOut(plans=[summary(plan) for plan in plans])


@router.get(
    "/v1/plans/{planId}",
    response_model=SavedPlanDocumentEnvelope,
    responses={**error_responses(ErrorCode.UNAUTHENTICATED), **_NOT_FOUND},
)
async def read_saved_plan(planner: Planner, account_id: CurrentAccount, plan_id: PlanId) -> Any:
    """One of your saved plans with its document (any tier). Another account's is 404."""
    async with planner.sessions() as session:
        plan = await saved_plans.find(session, account_id, plan_id)
    out = summary(plan).model_dump(mode="json", by_alias=True)
    # The stored document goes out as stored, without a decode and re-encode.
    body = {"plan": {**out, "document": msgspec.Raw(plan.document.encode())}}
    return Response(msgspec.json.encode(body), media_type="application/json")


@router.put(
    "/v1/plans/{planId}",
    response_model=SavedPlanEnvelope,
    openapi_extra=PLAN_BODY,
    responses={**PLAN_ERRORS, **_REFUSED, **_NOT_FOUND},
)
async def replace_saved_plan(
    request: Request,
    planner: Planner,
    account_id: CurrentAccount,
    access: AccountAccess,
    slots: Slots,
    settings: AppSettings,
    plan_id: PlanId,
) -> Any:
    """Replace a saved plan's document (needs `canSavePlans`; the same checks as saving)."""
    async with planner.sessions() as session:
        await saved_plans.find(session, account_id, plan_id)  # 404 before 403: nothing leaks
    checked = await _checked(request, account_id, access, slots, settings, planner.upgrade_url)
    if isinstance(checked, JSONResponse):
        return checked
    async with planner.sessions() as session, session.begin():
        plan = await saved_plans.find(session, account_id, plan_id, for_update=True)
        saved_plans.replace(plan, *checked)
    return SavedPlanEnvelope(plan=summary(plan))


@router.delete(
    "/v1/plans/{planId}",
    status_code=204,
    responses={**error_responses(ErrorCode.UNAUTHENTICATED), **_NOT_FOUND},
)
async def delete_saved_plan(
    planner: Planner, account_id: CurrentAccount, plan_id: PlanId
) -> Response:
    """Delete one of your saved plans (any tier: a downgrade never traps a plan)."""
    async with planner.sessions() as session, session.begin():
        plan = await saved_plans.find(session, account_id, plan_id, for_update=True)
        await session.delete(plan)
    return Response(status_code=204)
