"""What the planner knows of the signed-in account's subscription, and the tier table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.common.auth import CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.planner.billing_client import BillingFailure
from services.planner.context import AccountAccess, BearerToken, Planner
from services.planner.gating import tiers_wire
from services.planner.schemas import AccessPreviewOut, BillingFailed, ProbeOk, TiersOut

router = APIRouter(tags=["access"])


@router.get(
    "/v1/billing/subscription_probe",
    response_model=ProbeOk | BillingFailed,
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)
async def subscription_probe(
    planner: Planner, account_id: CurrentAccount, token: BearerToken
) -> dict[str, Any]:
    """Read billing_api's `GET /api/billing/subscription` now, with your token.

    A diagnostic: no cache, nothing stored. `{"ok": true, "subscription": {…}|null}`
    when billing answered, `{"ok": false, "kind": "…"}` when it did not
    (`timeout`, `connection_error`, `http_error`, `invalid_response`,
    `unauthorized`, `circuit_open`). Always 200 for a signed-in user.
    """
    outcome = await planner.billing.read_subscription(token, account_id)
    if isinstance(outcome, BillingFailure):
        return {"ok": False, "kind": outcome.kind.value}
    subscription = outcome.subscription
    return {"ok": True, "subscription": subscription.to_wire() if subscription else None}


@router.get(
    "/v1/billing/access_preview",
    response_model=AccessPreviewOut,
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)
async def access_preview(access: AccountAccess) -> JSONResponse:
    """What your subscription gives you now: the preview, `featureAccess` and where it came from.

    `source` is `live` (billing_api was read now), `cache` (the last known
    access is recent, from a read or a billing event), `stale` (billing is
    failing; the last known access is used up to its maximum age) or `fallback`
    (billing is failing and nothing usable is known: the free tier). Answers 200
    whatever billing does, within the billing budget.
    """
    return JSONResponse(access.to_wire())


@router.get("/v1/access/tiers", response_model=TiersOut)
async def access_tiers() -> JSONResponse:
    """Public: what each tier unlocks, for the pricing page. The same table the planner enforces."""
    return JSONResponse({"tiers": tiers_wire()})
