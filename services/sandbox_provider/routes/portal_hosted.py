"""The hosted card page (the sandbox's billing portal).

Like the checkout page, the card number and CVC arrive in a form post and go no
further than ``cards.read_card_form``: only the last four digits and the brand
are kept, nothing is logged or echoed back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.common.error_codes import ErrorCode, known_code, spec_for
from services.common.errors import preferred_locale
from services.sandbox_provider import portal, subscriptions
from services.sandbox_provider.cards import TEST_CARDS, read_card_form
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import Invoice, PortalSession, Subscription
from services.sandbox_provider.pages import format_amount, texts
from services.sandbox_provider.routes.hosted import (
    CARD_FORM_REFUSED,
    PAGE_HEADERS,
    PAGE_MOVES_ON,
    STALE_FORM,
    CardNumber,
    FormField,
)
from services.sandbox_provider.subscriptions import CardChange

router = APIRouter(prefix="/portal", tags=["hosted pages"], default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
log = structlog.get_logger("gw_stack.sandbox.portal")

# An unknown or ended portal session answers 404 with a page saying so.
UNKNOWN_PORTAL: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such portal session: a page saying so.", "content": {"text/html": {}}}
}
CARD_POST = {**UNKNOWN_PORTAL, **PAGE_MOVES_ON, **STALE_FORM, **CARD_FORM_REFUSED}


def _locale(request: Request, row: PortalSession | None) -> str:
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


def _message(
    request: Request, locale: str, *, heading: str, body: str, link: str, status_code: int = 200
) -> HTMLResponse:
    t = texts(locale)
    return _page(
        request,
        "message.html",
        locale,
        status_code,
        heading=heading,
        body=body,
        outcome="",
        link=link,
        link_text=t["continue"] if link else "",
    )


def _not_found(request: Request) -> HTMLResponse:
    locale = _locale(request, None)
    t = texts(locale)
    return _message(
        request,
        locale,
        heading=t["portal_not_found_title"],
        body=t["portal_not_found_body"],
        link="",
        status_code=404,
    )


async def _card_page(
    request: Request,
    row: PortalSession,
    subscription: Subscription,
    invoice: Invoice | None,
    *,
    status_code: int = 200,
    problems: list[str] | None = None,
    declined: str | None = None,
    expiry: str = "",
    name: str = "",
) -> HTMLResponse:
    locale = _locale(request, row)
    t = texts(locale)
    overdue = ""
    if invoice is not None:
        amount = format_amount(invoice.amount_due, invoice.currency, locale)
        overdue = t["portal_overdue"].format(amount=amount)
    return _page(
        request,
        "portal.html",
        locale,
        status_code,
        portal_id=row.id,
        token=row.form_token,
        plan_name=subscription.plan["name"],
        brand=subscription.card_brand,
        last4=subscription.card_last4,
        overdue=overdue,
        problems=[t[key] for key in problems or []] + ([declined] if declined else []),
        return_url=row.return_url,
        expiry=expiry,
        name=name,
        cards=TEST_CARDS,
    )


async def _open_invoice(session: Any, subscription: Subscription) -> Invoice | None:
    if subscription.dunning_invoice_id is None:
        return None
    invoice: Invoice | None = await session.get(Invoice, subscription.dunning_invoice_id)
    return invoice


@router.get("/{portal_id}", summary="Hosted card page", responses=UNKNOWN_PORTAL)
async def portal_page(portal_id: str, request: Request, sandbox: Sandbox) -> Response:
    """The subscription's current card and a form for a new one."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await portal.find_open(session, portal_id, now=now)
        if row is None:
            return _not_found(request)
        subscription = await subscriptions.load_subscription(
            session, row.subscription_id, now, sandbox.config
        )
        invoice = await _open_invoice(session, subscription)
        return await _card_page(request, row, subscription, invoice)


@router.post("/{portal_id}/card", summary="Save a new card (form post)", responses=CARD_POST)
async def save_card(
    portal_id: str,
    request: Request,
    sandbox: Sandbox,
    card_number: CardNumber = "",
    expiry: FormField = "",
    cvc: FormField = "",
    name: FormField = "",
    token: FormField = "",
) -> Response:
    """Check the card; a card the bank declines is not saved. A saved card pays an
    overdue invoice at once; then back to `return_url`."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await portal.find_open(session, portal_id, now=now)
        if row is None:
            return _not_found(request)
        locale = _locale(request, row)
        t = texts(locale)
        if not portal.token_matches(row, token):
            return _message(
                request,
                locale,
                heading=t["forbidden_title"],
                body=t["forbidden_body"],
                link=f"/portal/{row.id}",
                status_code=403,
            )
        subscription = await subscriptions.load_subscription(
            session, row.subscription_id, now, sandbox.config
        )
        invoice = await _open_invoice(session, subscription)
        card, problems = read_card_form(card_number, expiry, cvc, name, today=now.date())
        refused = card.test_card.error_code if card is not None else None
        if card is None or refused is not None:
            declined = None
            if refused is not None:
                code = known_code(refused, default=ErrorCode.CARD_DECLINED)
                declined = t["portal_declined"].format(reason=spec_for(code).message(locale))
            return await _card_page(
                request, row, subscription, invoice, status_code=422, problems=problems,
                declined=declined, expiry=expiry, name=name,
            )  # fmt: skip
        change = await subscriptions.replace_card(session, subscription, card, now=now)
    log.info("portal card saved", portal_id=row.id, result=change)
    if change is CardChange.STILL_OVERDUE:
        return _message(
            request,
            locale,
            heading=t["portal_still_overdue_title"],
            body=t["portal_still_overdue_body"],
            link=row.return_url,
        )
    return RedirectResponse(row.return_url, status_code=303, headers={"cache-control": "no-store"})
