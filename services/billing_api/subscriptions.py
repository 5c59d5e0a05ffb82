"""Reading an account's subscription."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing_api.models import Subscription, SubscriptionStatus


async def current_subscription(session: AsyncSession, account_id: str) -> Subscription | None:
    """The account's current subscription: active or trialing first, then the newest."""
    current_first = case(
        (
            Subscription.status.in_(
                [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.TRIALING.value]
            ),
            0,
        ),
        else_=1,
    )
    return await session.scalar(
        select(Subscription)
        .where(Subscription.account_id == account_id)
        .order_by(current_first, Subscription.created_at.desc(), Subscription.id.desc())
        .limit(1)
    )
