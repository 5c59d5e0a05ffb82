"""``POST /api/billing/portal``: the provider's page where the customer replaces the card."""

from __future__ import annotations

from fastapi import APIRouter, Body

from services.billing_api import portal
from services.billing_api.context import Billing
from services.billing_api.schemas import PortalIn, PortalOut
from services.common.auth import CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses

router = APIRouter(prefix="/api/billing", tags=["subscription"])


@router.post(
    "/portal",
    response_model=PortalOut,
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.INVALID_JSON,
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.SUBSCRIPTION_NOT_FOUND,
        ErrorCode.REDIRECT_URL_NOT_ALLOWED,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.PROVIDER_UNAVAILABLE,
    ),
)
async def open_portal(
    billing: Billing, account_id: CurrentAccount, body: PortalIn | None = Body(None)
) -> PortalOut:
    """A provider page where the signed-in account updates its card.

    Send the browser to `url`. A new card also pays an overdue renewal, so a
    `past_due` subscription becomes `active` again (reported by webhook). The page
    sends the browser back to `returnUrl` (an allowed origin; default the landing
    site's account page). No subscription → `404 SUBSCRIPTION_NOT_FOUND`.
    """
    body = body or PortalIn()
    url = await portal.open_portal(
        billing, account_id, return_url=body.return_url, locale=body.locale
    )
    return PortalOut(url=url)
