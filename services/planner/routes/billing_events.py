"""``POST /internal/billing/events``: billing_api tells the planner a subscription changed."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.planner import billing_events
from services.planner.context import Planner
from services.planner.schemas import EventReceiptOut

router = APIRouter(tags=["billing events"])


@router.post(
    "/internal/billing/events",
    response_model=EventReceiptOut,
    responses=error_responses(
        ErrorCode.WEBHOOK_SIGNATURE_INVALID, ErrorCode.WEBHOOK_PAYLOAD_INVALID
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A billing event, Standard Webhooks signed with BILLING_EVENTS_SECRET.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_billing_event(request: Request, planner: Planner) -> EventReceiptOut:
    """Take in a billing_api event (for billing_api, not for users).

    The signature is verified on the raw body first; a forged, unsigned or
    stale one is `400 WEBHOOK_SIGNATURE_INVALID`. Each `webhook-id` is taken
    in once (a redelivery answers 200 with `duplicate: true`), and a
    `subscription.updated` older than what the planner holds changes nothing.
    """
    body = await request.body()
    secret = planner.settings.billing_events_secret.get_secret_value()
    receipt = await billing_events.take_in(planner.sessions, secret, body, request.headers)
    if receipt.account_id is not None:
        planner.access.forget(receipt.account_id)
    return EventReceiptOut(
        received=True, webhook_id=receipt.webhook_id, duplicate=receipt.duplicate
    )
