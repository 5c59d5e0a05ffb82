"""``POST /v1/billing_portal/sessions``: hosted card-update sessions for a subscription."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.sandbox_provider import portal, subscriptions
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.database import transaction
from services.sandbox_provider.schemas import PortalSessionCreate, PortalSessionObject

router = APIRouter(
    prefix="/v1/billing_portal/sessions",
    tags=["billing portal"],
    dependencies=[Depends(require_api_key)],
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)


@router.post(
    "",
    response_model=PortalSessionObject,
    responses=error_responses(ErrorCode.VALIDATION_ERROR, ErrorCode.NOT_FOUND),
)
async def create_portal_session(body: PortalSessionCreate, sandbox: Sandbox) -> PortalSessionObject:
    """Open the hosted card page for a subscription; send the browser to `url`.

    Saving a card there charges an overdue renewal at once (`past_due` or
    `unpaid` → `active` when it succeeds), then goes back to `return_url`. The
    page lives for an hour.
    """
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        subscription = await subscriptions.load_subscription(
            session, body.subscription, now, sandbox.config
        )
        row = portal.create_session(
            session, subscription, body, now=now, public_base_url=sandbox.public_base_url
        )
    return PortalSessionObject.of(row)
