"""``/account``: the subscription in words, cancel at period end, resume, update card."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.common.error_codes import ErrorCode
from services.landing.billing_client import BillingError
from services.landing.deps import Billing, MaybeViewer, see_other, to_signin
from services.landing.formatting import day
from services.landing.messages import status_words
from services.landing.pages import error_page, render
from services.landing.routes.checkout import redirect_link
from services.landing.web import CsrfChecked, LandingSettings, clear_session, locale_of

router = APIRouter()

# Notices /account may be asked to show; anything else in the query is ignored.
NOTICES = {"ALREADY_SUBSCRIBED", "canceled", "resumed", "portal"}
# A card can be changed while the subscription can still be charged again.
CARD_UPDATABLE = {"trialing", "active", "past_due", "unpaid", "incomplete", "paused"}


def _signed_out(request: Request, settings: LandingSettings) -> Response:
    response = to_signin(request)
    clear_session(response, settings)
    return response


@router.get("/account", response_class=HTMLResponse)
async def account_page(
    request: Request,
    billing: Billing,
    settings: LandingSettings,
    viewer: MaybeViewer,
    notice: str = "",
) -> Response:
    """The current subscription: plan, status in words, period and trial ends."""
    if viewer is None:
        return to_signin(request)
    locale = locale_of(request)
    try:
        subscription = await billing.subscription(viewer.token, locale)
        plans = {plan.id: plan.name for plan in await billing.plans(locale)}
    except BillingError as error:
        if error.code == ErrorCode.UNAUTHENTICATED:
            return _signed_out(request, settings)
        return error_page(request, error.code, status_code=error.status)
    view = None
    if subscription is not None:
        view = {
            "plan": plans.get(subscription.plan_id, subscription.plan_id),
            "status": subscription.status,
            "status_words": status_words(subscription.status, locale),
            "period_end": day(subscription.current_period_end, locale),
            "trial_end": day(subscription.trial_end, locale)
            if subscription.status == "trialing"
            else None,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "can_cancel": subscription.status in ("active", "trialing"),
            "can_update_card": subscription.status in CARD_UPDATABLE,
        }
    return render(
        request,
        "account.html",
        subscription=view,
        notice=notice if notice in NOTICES else None,
    )


async def _change(
    request: Request,
    billing: Billing,
    settings: LandingSettings,
    viewer: MaybeViewer,
    *,
    cancel: bool,
) -> Response:
    if viewer is None:
        return to_signin(request)
    try:
        await billing.change_cancellation(viewer.token, cancel=cancel, locale=locale_of(request))
    except BillingError as error:
        if error.code == ErrorCode.UNAUTHENTICATED:
            return _signed_out(request, settings)
        return error_page(request, error.code, status_code=error.status)
    return see_other("/account?notice=" + ("canceled" if cancel else "resumed"))


@router.post("/account/cancel", dependencies=[CsrfChecked])
async def cancel_subscription(
    request: Request, billing: Billing, settings: LandingSettings, viewer: MaybeViewer
) -> Response:
    """Cancel at the end of the paid period; access stays until then."""
    return await _change(request, billing, settings, viewer, cancel=True)


@router.post("/account/resume", dependencies=[CsrfChecked])
async def resume_subscription(
    request: Request, billing: Billing, settings: LandingSettings, viewer: MaybeViewer
) -> Response:
    """Take back a cancellation at period end."""
    return await _change(request, billing, settings, viewer, cancel=False)


@router.post("/account/card", dependencies=[CsrfChecked])
async def update_card(
    request: Request, billing: Billing, settings: LandingSettings, viewer: MaybeViewer
) -> Response:
    """Open the provider's card page for this account (card data never comes here)."""
    if viewer is None:
        return to_signin(request)
    return_url = settings.landing_base_url.rstrip("/") + "/account?notice=portal"
    try:
        url = await billing.portal(viewer.token, return_url=return_url, locale=locale_of(request))
    except BillingError as error:
        if error.code == ErrorCode.UNAUTHENTICATED:
            return _signed_out(request, settings)
        return error_page(request, error.code, status_code=error.status)
    return see_other(redirect_link(settings, viewer, "portal", url))
