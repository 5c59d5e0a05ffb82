"""``/api/billing/subscription``: read the account's subscription, cancel at period end, resume."""

from __future__ import annotations

from fastapi import APIRouter

from services.billing_api.context import Billing
from services.billing_api.schemas import SubscriptionEnvelope, subscription_out
from services.billing_api.subscriptions import change_cancellation, shown_subscription
from services.common.auth import CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import AppError, error_responses

router = APIRouter(prefix="/api/billing", tags=["subscription"])


@router.get(
    "/subscription",
    response_model=SubscriptionEnvelope,
    responses=error_responses(ErrorCode.UNAUTHENTICATED, ErrorCode.SUBSCRIPTION_NOT_FOUND),
)
async def get_subscription(billing: Billing, account_id: CurrentAccount) -> SubscriptionEnvelope:
    """The signed-in account's current subscription.

    The account comes from the token. With several subscriptions the current one
    wins: active or trialing first, then the newest. No subscription →
    `404 SUBSCRIPTION_NOT_FOUND`.
    """
    subscription = await shown_subscription(billing.plain_reads, account_id)
    if subscription is None:
        raise AppError(ErrorCode.SUBSCRIPTION_NOT_FOUND)
    return SubscriptionEnvelope(subscription=subscription_out(subscription))


@router.post(
    "/subscription/cancel",
    response_model=SubscriptionEnvelope,
    responses=error_responses(
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.SUBSCRIPTION_NOT_FOUND,
        ErrorCode.SUBSCRIPTION_NOT_CANCELABLE,
        ErrorCode.PROVIDER_UNAVAILABLE,
    ),
)
async def cancel_subscription(billing: Billing, account_id: CurrentAccount) -> SubscriptionEnvelope:
    """Cancel the current subscription at the end of the paid period.

    Access stays until `currentPeriodEnd`; `cancelAtPeriodEnd` becomes true. Asking
    again changes nothing. Only an active or trialing subscription can be canceled.
    """
    subscription = await change_cancellation(billing, account_id, cancel=True)
    return SubscriptionEnvelope(subscription=subscription_out(subscription))


@router.post(
    "/subscription/resume",
    response_model=SubscriptionEnvelope,
    responses=error_responses(
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.SUBSCRIPTION_NOT_FOUND,
        ErrorCode.SUBSCRIPTION_NOT_CANCELABLE,
        ErrorCode.PROVIDER_UNAVAILABLE,
    ),
)
async def resume_subscription(billing: Billing, account_id: CurrentAccount) -> SubscriptionEnvelope:
    """Take back a cancellation at period end, before the period ends."""
    subscription = await change_cancellation(billing, account_id, cancel=False)
    return SubscriptionEnvelope(subscription=subscription_out(subscription))
