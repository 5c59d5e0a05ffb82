"""The hosted pages a customer's browser sees: checkout, 3-D Secure, and the endings.

Card numbers and CVCs arrive here in form posts and go no further than
``cards.read_card_form``: they are not logged, stored or echoed back into a page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.common.error_codes import ErrorCode, known_code, spec_for
from services.common.errors import preferred_locale
from services.sandbox_provider import checkout
from services.sandbox_provider.cards import TEST_CARDS, read_card_form
from services.sandbox_provider.checkout import PayResult
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import CheckoutSession, Outcome
from services.sandbox_provider.pages import format_amount, texts

# An unknown id answers 404 with the same HTML page as an ended session.
UNKNOWN_SESSION: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session: a page saying so.", "content": {"text/html": {}}}
}
PAGE_MOVES_ON: dict[int | str, dict[str, Any]] = {
    303: {"description": "On to the next page: `success_url`, `cancel_url`, or another step."}
}
STALE_FORM: dict[int | str, dict[str, Any]] = {
    403: {"description": "The form's token is not this session's: a page saying so.",
          "content": {"text/html": {}}}
}  # fmt: skip
# A card form that does not check out comes back as the page again, with what is wrong;
# a form field of the wrong shape is the usual JSON VALIDATION_ERROR.
CARD_FORM_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "The form again, saying what is wrong (HTML); or `VALIDATION_ERROR`.",
        "content": {
            "text/html": {},
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}},
        },
    }
}

router = APIRouter(prefix="/checkout", tags=["hosted pages"], default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
log = structlog.get_logger("gw_stack.sandbox.checkout")

# Pages carry their own CSS and nothing else; they are never cached (they hold a form token).
PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "cache-control": "no-store",
}

CardNumber = Annotated[str, Form(alias="cardNumber")]
FormField = Annotated[str, Form()]


def _locale(request: Request, row: CheckoutSession | None) -> str:
    if row is not None and row.locale in ("tr", "en"):
        return row.locale
    return preferred_locale(request)


def _page(
    request: Request, template: str, locale: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.update(locale=locale, t=texts(locale))
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=PAGE_HEADERS
    )


def _return_url(url: str, row: CheckoutSession) -> str:
    # Stripe's placeholder, so a success URL can name the session it came from.
    return url.replace("{CHECKOUT_SESSION_ID}", row.id)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"cache-control": "no-store"})


def _amount(row: CheckoutSession, locale: str) -> str:
    return format_amount(int(row.plan["amount"]), str(row.plan["currency"]), locale)


def _checkout_page(
    request: Request,
    row: CheckoutSession,
    *,
    now: datetime,
    status_code: int = 200,
    problems: list[str] | None = None,
    expiry: str = "",
    name: str = "",
) -> HTMLResponse:
    locale = _locale(request, row)
    t = texts(locale)
    amount = _amount(row, locale)
    trial_days = int(row.plan.get("trial_days", 0))
    trial = ""
    if trial_days:
        # The trial starts when the customer pays, so "now" is the best estimate.
        day = (now + timedelta(days=trial_days)).date()
        shown = day.strftime("%d.%m.%Y") if locale == "tr" else day.isoformat()
        trial = t["trial"].format(days=trial_days, date=shown)
    return _page(
        request,
        "checkout.html",
        locale,
        status_code,
        session_id=row.id,
        token=row.form_token,
        plan_name=row.plan["name"],
        amount=amount,
        interval=t["per_year"] if row.plan["interval"] == "year" else t["per_month"],
        trial=trial,
        pay_label=t["start_trial"] if trial_days else t["pay"].format(amount=amount),
        problems=[t[key] for key in problems or []],
        expiry=expiry,
        name=name,
        cards=TEST_CARDS,
    )


def _settled_page(request: Request, row: CheckoutSession) -> HTMLResponse:
    """What a session that can no longer be paid shows, with the way back."""
    locale = _locale(request, row)
    t = texts(locale)
    outcome = Outcome(row.outcome)
    if outcome is Outcome.PAID:
        heading, body, link = t["paid_title"], t["paid_body"], row.success_url
    else:
        heading, link = t["ended_title"], row.cancel_url
        if outcome is Outcome.FAILED:
            reason = spec_for(
                known_code(row.error_code, default=ErrorCode.PROCESSING_ERROR)
            ).message(locale)
            body = t["failed_body"].format(reason=reason)
        else:
            body = t["canceled_body" if outcome is Outcome.CANCELED else "expired_body"]
    return _page(
        request,
        "message.html",
        locale,
        heading=heading,
        body=body,
        outcome=outcome.value,
        link=_return_url(link, row),
        link_text=t["continue"],
    )


def _not_found(request: Request) -> HTMLResponse:
    locale = _locale(request, None)
    t = texts(locale)
    return _page(
        request,
        "message.html",
        locale,
        404,
        heading=t["not_found_title"],
        body=t["not_found_body"],
        outcome="",
        link="",
    )


def _stale_form(request: Request, row: CheckoutSession) -> HTMLResponse:
    locale = _locale(request, row)
    t = texts(locale)
    return _page(
        request,
        "message.html",
        locale,
        403,
        heading=t["forbidden_title"],
        body=t["forbidden_body"],
        outcome=row.outcome,
        link=f"/checkout/{row.id}",
        link_text=t["back_to_payment"],
    )


def _closed_page(request: Request, row: CheckoutSession | None) -> Response:
    """The answer for a session that cannot take a payment: unknown, or already ended."""
    return _not_found(request) if row is None else _settled_page(request, row)


def _after_payment(request: Request, row: CheckoutSession, result: PayResult) -> Response:
    log.info("checkout payment", session_id=row.id, result=result, error_code=row.error_code)
    match result:
        case PayResult.PAID:
            return _redirect(_return_url(row.success_url, row))
        case PayResult.FAILED:
            return _redirect(_return_url(row.cancel_url, row))
        case PayResult.CHALLENGE:
            return _redirect(f"/checkout/{row.id}/3ds")
        case PayResult.NOT_OPEN:
            return _settled_page(request, row)


@router.get("/{session_id}", summary="Hosted checkout page", responses=UNKNOWN_SESSION)
async def checkout_page(session_id: str, request: Request, sandbox: Sandbox) -> Response:
    """The card form for an open session; a closed one says how it ended."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.find_session(session, session_id, now=now)
    if row is None or row.outcome != Outcome.OPEN:
        return _closed_page(request, row)
    return _checkout_page(request, row, now=now)


@router.post(
    "/{session_id}/pay",
    summary="Pay with a card (form post)",
    responses={**UNKNOWN_SESSION, **PAGE_MOVES_ON, **STALE_FORM, **CARD_FORM_REFUSED},
)
async def pay(
    session_id: str,
    request: Request,
    sandbox: Sandbox,
    card_number: CardNumber = "",
    expiry: FormField = "",
    cvc: FormField = "",
    name: FormField = "",
    token: FormField = "",
) -> Response:
    """Validate the card, then charge it: success → `success_url`, decline → `cancel_url`,
    3-D Secure card → the challenge page. Invalid input → the form again with 422."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.find_session(session, session_id, now=now)
        if row is None or row.outcome != Outcome.OPEN:
            return _closed_page(request, row)
        if not checkout.token_matches(row, token):
            return _stale_form(request, row)
        card, problems = read_card_form(card_number, expiry, cvc, name, today=now.date())
        if card is None:
            return _checkout_page(
                request,
                row,
                now=now,
                status_code=422,
                problems=problems,
                expiry=expiry,
                name=name,
            )
        result = await checkout.pay(session, row, card, now=now)
    return _after_payment(request, row, result)


@router.get(
    "/{session_id}/cancel", summary="Cancel link", responses={**UNKNOWN_SESSION, **PAGE_MOVES_ON}
)
async def cancel(session_id: str, request: Request, sandbox: Sandbox, token: str = "") -> Response:
    """Cancel the session (outcome `canceled`) and go back to `cancel_url`."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.find_session(session, session_id, now=now)
        if row is None or row.outcome != Outcome.OPEN:
            return _closed_page(request, row)
        if not checkout.token_matches(row, token):
            # A link from elsewhere: show the page instead of ending someone's checkout.
            return _redirect(f"/checkout/{row.id}")
        settled = await checkout.settle(session, row, Outcome.CANCELED, at=now)
    if not settled:
        return _settled_page(request, row)
    log.info("checkout canceled", session_id=row.id)
    return _redirect(_return_url(row.cancel_url, row))


@router.get(
    "/{session_id}/3ds",
    summary="3-D Secure challenge page",
    responses={**UNKNOWN_SESSION, **PAGE_MOVES_ON},
)
async def three_ds_page(session_id: str, request: Request, sandbox: Sandbox) -> Response:
    """The pretend bank's page: approve or fail the payment."""
    async with transaction(sandbox.sessions) as session:
        row = await checkout.find_session(session, session_id, now=await sandbox_now(session))
    if row is None or row.outcome != Outcome.OPEN:
        return _closed_page(request, row)
    if not row.awaiting_3ds:
        return _redirect(f"/checkout/{row.id}")
    locale = _locale(request, row)
    return _page(
        request,
        "three_ds.html",
        locale,
        session_id=row.id,
        token=row.form_token,
        amount=_amount(row, locale),
        brand=row.card_brand or "",
        last4=row.card_last4 or "",
    )


@router.post(
    "/{session_id}/3ds",
    summary="Answer the 3-D Secure challenge (form post)",
    responses={**UNKNOWN_SESSION, **PAGE_MOVES_ON, **STALE_FORM},
)
async def three_ds_answer(
    session_id: str,
    request: Request,
    sandbox: Sandbox,
    decision: FormField = "",
    token: FormField = "",
) -> Response:
    """`approve` → paid, to `success_url`; `fail` → `AUTHENTICATION_FAILED`, to `cancel_url`."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.find_session(session, session_id, now=now)
        if row is None or row.outcome != Outcome.OPEN:
            return _closed_page(request, row)
        if not checkout.token_matches(row, token) or decision not in ("approve", "fail"):
            return _stale_form(request, row)
        if not row.awaiting_3ds:
            return _redirect(f"/checkout/{row.id}")
        result = await checkout.answer_challenge(
            session, row, approve=decision == "approve", now=now
        )
    return _after_payment(request, row, result)
