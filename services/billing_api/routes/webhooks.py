"""``POST /api/billing/webhooks/{provider}``: signed provider events into the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.billing_api import webhooks
from services.billing_api.context import Billing
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.common.schemas import CamelModel

router = APIRouter(prefix="/api/billing/webhooks", tags=["webhooks"])


class WebhookReceipt(CamelModel):
    received: bool
    event_id: str
    duplicate: bool


@router.post(
    "/{provider}",
    response_model=WebhookReceipt,
    responses=error_responses(
        ErrorCode.WEBHOOK_SIGNATURE_INVALID,
        ErrorCode.WEBHOOK_PAYLOAD_INVALID,
        ErrorCode.PROVIDER_NOT_CONFIGURED,
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The provider's signed event, verified on the raw bytes.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_webhook(
    request: Request,
    billing: Billing,
    provider: Annotated[str, Path(max_length=20, pattern=r"^[a-z0-9_]+$")],
) -> WebhookReceipt:
    """Receive a payment provider's event.

    The signature is verified on the raw body (constant-time, with a timestamp
    tolerance) before anything is parsed. A verified event is stored once per
    `(provider, eventId)` and answered 200 at once, duplicates included; it is
    applied exactly once, and a failed application is retried by the worker.
    """
    body = await request.body()
    receipt = await webhooks.receive(billing, provider, body, request.headers)
    return WebhookReceipt(received=True, event_id=receipt.event_id, duplicate=receipt.duplicate)
