"""``GET /api/billing/plans``: the public plans catalog."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.billing_api.context import Billing
from services.billing_api.schemas import PlanOut, PlansOut, Price
from services.common.errors import preferred_locale

router = APIRouter(prefix="/api/billing", tags=["plans"])


@router.get("/plans", response_model=PlansOut)
async def list_plans(billing: Billing, request: Request, response: Response) -> PlansOut:
    """The plans catalog (public, no token).

    Prices are integer minor units with an ISO currency (29900 TRY = 299,00 ₺).
    Names are in the `Accept-Language` (Turkish or English).
    """
    locale = preferred_locale(request)
    response.headers["Vary"] = "Accept-Language"
    return PlansOut(
        plans=[
            PlanOut(
                id=plan.id,
                name=plan.name_in(locale),
                tier=plan.tier,
                price=Price(amount=plan.amount, currency=plan.currency),
                interval=plan.interval,
                trial_days=plan.trial_days,
            )
            for plan in billing.catalog.plans
        ]
    )
