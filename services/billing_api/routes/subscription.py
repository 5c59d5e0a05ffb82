from __future__ import annotations

from fastapi import APIRouter

from services.billing_api.context import Billing
from services.billing_api.schemas import SubscriptionEnvelope, SubscriptionOut
from services.billing_api.subscriptions import current_subscription
from services.common.auth import CurrentAccount
from services.common.errors import AppError, error_responses

router = APIRouter(prefix="/api/billing", tags=["subscription"])


@router.get(
    "/subscription",
    response_model=SubscriptionEnvelope,
    responses=error_responses("UNAUTHENTICATED", "SUBSCRIPTION_NOT_FOUND"),
)
async def get_subscription(billing: Billing, account_id: CurrentAccount) -> SubscriptionEnvelope:
    """The signed-in account's current subscription.

    The account comes from the token. With several subscriptions the current one
    wins: active or trialing first, then the newest. No subscription →
    `404 SUBSCRIPTION_NOT_FOUND`.
    """
    async with billing.sessions() as session:
        subscription = await current_subscription(session, account_id)
    if subscription is None:
        raise AppError("SUBSCRIPTION_NOT_FOUND")
    return SubscriptionEnvelope(
        subscription=SubscriptionOut(
            id=subscription.id,
            account_id=subscription.account_id,
            plan_id=subscription.plan_id,
            status=subscription.status,
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            cancel_at_period_end=subscription.cancel_at_period_end,
            trial_end=subscription.trial_end,
            provider=subscription.provider,
            updated_at=subscription.updated_at,
        )
    )
