"""Choosing a plan, the "redirecting you to the payment page" interstitial, and the
success / cancel pages that tell the truth about the payment attempt."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.landing.billing_client import BillingError, CheckoutStatus
from services.landing.deps import Billing, MaybeViewer, see_other, to_signin
from services.landing.messages import status_words
from services.landing.pages import render
from services.landing.routes.pricing import new_form_id, pricing_page
from services.landing.web import (
    CsrfChecked,
    LandingSettings,
    Viewer,
    clear_session,
    locale_of,
    sign,
    signature_ok,
)

router = APIRouter()

_FORM_ID = re.compile(r"^[0-9a-f]{32}$")
_ATTEMPT_ID = re.compile(r"^pa_[A-Za-z0-9_-]{1,60}$")
RedirectKind = Literal["checkout", "portal"]
# How often a pending result page looks again (seconds), with and without JavaScript.
POLL_SECONDS = 2


def redirect_link(settings: LandingSettings, viewer: Viewer, kind: RedirectKind, to: str) -> str:
    """Our interstitial for a provider URL billing_api gave this user. Signed, so the
    interstitial can never be made to forward anyone anywhere else."""
    signature = sign(settings, "redirect", viewer.account_id, kind, to)
    return "/checkout/redirect?" + urlencode({"kind": kind, "to": to, "sig": signature})


@router.post("/checkout/start", dependencies=[CsrfChecked])
async def start_checkout(
    request: Request,
    billing: Billing,
    settings: LandingSettings,
    viewer: MaybeViewer,
    plan_id: Annotated[str, Form(alias="planId", min_length=1, max_length=64)],
    form_id: Annotated[str, Form(alias="formId", max_length=64)],
    locale: Annotated[Literal["tr", "en"], Form()] = "en",
) -> Response:
    """Start the checkout for a plan, keyed by the rendered form (one attempt per form),
    then show the interstitial that forwards to the provider's page."""
    if viewer is None:
        return to_signin(request)
    if not _FORM_ID.match(form_id):
        raise AppError(ErrorCode.FORM_EXPIRED)
    base = settings.landing_base_url.rstrip("/")
    try:
        started = await billing.start_checkout(
            viewer.token,
            plan_id=plan_id,
            idempotency_key=f"landing-{form_id}",
            success_url=f"{base}/billing/success",
            cancel_url=f"{base}/billing/cancel",
            locale=locale,
        )
    except BillingError as error:
        if error.code == ErrorCode.ALREADY_SUBSCRIBED:
            return see_other("/account?notice=ALREADY_SUBSCRIBED")
        if error.code == ErrorCode.UNAUTHENTICATED:
            response = to_signin(request)
            clear_session(response, settings)
            return response
        return await pricing_page(request, billing, problem=error.code, status_code=error.status)
    return see_other(redirect_link(settings, viewer, "checkout", started.checkout_url))


@router.get("/checkout/redirect", response_class=HTMLResponse)
async def checkout_redirect(
    request: Request,
    settings: LandingSettings,
    viewer: MaybeViewer,
    to: Annotated[str, Query(max_length=2048)] = "",
    sig: Annotated[str, Query(max_length=128)] = "",
    kind: RedirectKind = "checkout",
) -> Response:
    """ "Redirecting you to the secure payment page": forwards at once (a meta refresh,
    or our script), with a link for when neither runs."""
    if viewer is None:
        return to_signin(request)
    if not to.startswith(("https://", "http://")) or not signature_ok(
        settings, sig, "redirect", viewer.account_id, kind, to
    ):
        raise AppError(ErrorCode.NOT_FOUND)
    return render(request, "redirect.html", target=to, kind=kind)


async def _result_page(
    request: Request, billing: Billing, viewer: Viewer, attempt_id: str, came_back: str
) -> HTMLResponse:
    locale = locale_of(request)
    status: CheckoutStatus | None = None
    code: str | None = None
    plan_name: str | None = None
    if not _ATTEMPT_ID.match(attempt_id):
        code = ErrorCode.PAYMENT_ATTEMPT_NOT_FOUND
    else:
        try:
            status = await billing.checkout_status(viewer.token, attempt_id, locale)
        except BillingError as error:
            code = error.code
    if status is not None and status.status == "succeeded":
        try:
            names = {plan.id: plan.name for plan in await billing.plans(locale)}
            plan_name = names.get(status.plan_id)
        except BillingError:
            plan_name = None
    shown = status.status if status is not None else "error"
    if status is not None and status.error is not None:
        code = status.error.code
    # A page that cannot reach billing_api keeps looking, like a pending one.
    polling = shown == "pending" or code == ErrorCode.SERVICE_UNAVAILABLE
    return render(
        request,
        "result.html",
        came_back=came_back,
        status=status,
        shown=shown,
        code=code,
        plan_name=plan_name,
        subscription_words=status_words(status.subscription_status, locale)
        if status is not None and status.subscription_status
        else None,
        polling=polling,
        poll_seconds=POLL_SECONDS,
        attempt_id=attempt_id,
        form_id=new_form_id(),
    )


@router.get("/billing/success", response_class=HTMLResponse)
async def billing_success(
    request: Request,
    billing: Billing,
    viewer: MaybeViewer,
    payment_attempt_id: Annotated[str, Query(alias="paymentAttemptId", max_length=80)] = "",
) -> Response:
    """Where the provider sends the browser after paying: the attempt's true status."""
    if viewer is None:
        return to_signin(request)
    return await _result_page(request, billing, viewer, payment_attempt_id, "success")


@router.get("/billing/cancel", response_class=HTMLResponse)
async def billing_cancel(
    request: Request,
    billing: Billing,
    viewer: MaybeViewer,
    payment_attempt_id: Annotated[str, Query(alias="paymentAttemptId", max_length=80)] = "",
) -> Response:
    """Where the provider sends the browser after a cancel or a declined card."""
    if viewer is None:
        return to_signin(request)
    return await _result_page(request, billing, viewer, payment_attempt_id, "cancel")


@router.get("/billing/attempt-status")
async def attempt_status(
    request: Request,
    billing: Billing,
    viewer: MaybeViewer,
    payment_attempt_id: Annotated[str, Query(alias="paymentAttemptId", max_length=80)] = "",
) -> JSONResponse:
    """For the result page's script: only the status, so it reloads when it changes."""
    if viewer is None:
        return JSONResponse({"status": "error", "code": ErrorCode.UNAUTHENTICATED}, status_code=401)
    if not _ATTEMPT_ID.match(payment_attempt_id):
        body = {"status": "error", "code": ErrorCode.PAYMENT_ATTEMPT_NOT_FOUND}
        return JSONResponse(body, status_code=404)
    try:
        status = await billing.checkout_status(viewer.token, payment_attempt_id, locale_of(request))
    except BillingError as error:
        return JSONResponse({"status": "error", "code": error.code}, status_code=200)
    return JSONResponse({"status": status.status}, headers={"cache-control": "no-store"})
