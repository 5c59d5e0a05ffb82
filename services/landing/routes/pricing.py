"""``/``: the plans, their prices and what each tier unlocks."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.landing.billing_client import BillingError, Plan, Tier
from services.landing.deps import Billing
from services.landing.formatting import money
from services.landing.pages import render
from services.landing.web import locale_of

router = APIRouter()


def new_form_id() -> str:
    """Names one rendered plan form: its posts share one Idempotency-Key, so a double
    click or a resubmitted form makes one payment attempt."""
    return secrets.token_hex(16)


async def pricing_page(
    request: Request, billing: Billing, *, problem: str | None = None, status_code: int = 200
) -> HTMLResponse:
    locale = locale_of(request)
    try:
        plans = await billing.plans(locale)
    except BillingError as error:
        return render(
            request, "pricing.html", status_code=503, offers=[], problem=error.code, tiers=None
        )
    tiers = await billing.tiers()
    by_tier = {tier.tier: tier for tier in tiers} if tiers is not None else None
    offers = [_offer(plan, locale, by_tier) for plan in plans]
    return render(
        request,
        "pricing.html",
        status_code=status_code,
        offers=offers,
        problem=problem,
        tiers=by_tier,
    )


def _offer(plan: Plan, locale: str, tiers: dict[str, Tier] | None) -> dict[str, object]:
    return {
        "plan": plan,
        "price": money(plan.price.amount, plan.price.currency, locale),
        "tier": tiers.get(plan.tier) if tiers is not None else None,
        "form_id": new_form_id(),
    }


@router.get("/", response_class=HTMLResponse)
async def pricing(request: Request, billing: Billing) -> HTMLResponse:
    """Plans from billing_api; each paid plan has a button that starts its checkout."""
    return await pricing_page(request, billing)
