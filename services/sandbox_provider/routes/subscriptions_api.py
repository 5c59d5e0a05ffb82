"""``/v1/subscriptions``: read a subscription, schedule or take back its cancellation."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.sandbox_provider import subscriptions
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.database import transaction
from services.sandbox_provider.schemas import CancelSubscriptionIn, SubscriptionObject

router = APIRouter(
    prefix="/v1/subscriptions",
    tags=["subscriptions"],
    dependencies=[Depends(require_api_key)],
    responses=error_responses(ErrorCode.UNAUTHENTICATED, ErrorCode.NOT_FOUND),
)


@router.get("/{subscription_id}", response_model=SubscriptionObject)
async def get_subscription(subscription_id: str, sandbox: Sandbox) -> SubscriptionObject:
    """The subscription as it is now on the sandbox clock."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await subscriptions.load_subscription(session, subscription_id, now, sandbox.config)
    return SubscriptionObject.of(row)


@router.post(
    "/{subscription_id}/cancel",
    response_model=SubscriptionObject,
    responses=error_responses(ErrorCode.SUBSCRIPTION_NOT_CANCELABLE, ErrorCode.VALIDATION_ERROR),
)
async def cancel_subscription(
    subscription_id: str, sandbox: Sandbox, body: CancelSubscriptionIn | None = Body(None)
) -> SubscriptionObject:
    """Cancel a subscription, or undo a pending cancel.

    - `{"at_period_end": true}` (the default): stays active until the period ends, then `canceled`.
    - `{"at_period_end": false}`: resumes a pending cancel; no change if none is pending.
    - `{"immediately": true}`: `canceled` now (a canceled subscription stays as it is).
    """
    body = body or CancelSubscriptionIn()
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await subscriptions.load_subscription(session, subscription_id, now, sandbox.config)
        subscriptions.cancel(
            session,
            row,
            at_period_end=body.at_period_end,
            immediately=body.immediately,
            now=now,
        )
    return SubscriptionObject.of(row)


@router.post(
    "/{subscription_id}/resume",
    response_model=SubscriptionObject,
    responses=error_responses(ErrorCode.SUBSCRIPTION_NOT_CANCELABLE),
)
async def resume_subscription(subscription_id: str, sandbox: Sandbox) -> SubscriptionObject:
    """Undo a pending cancel at period end (same as cancel with `at_period_end: false`)."""
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await subscriptions.load_subscription(session, subscription_id, now, sandbox.config)
        subscriptions.cancel(session, row, at_period_end=False, immediately=False, now=now)
    return SubscriptionObject.of(row)
