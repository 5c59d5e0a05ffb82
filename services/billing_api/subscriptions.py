"""Reading an account's subscription."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing_api.context import BillingContext
from services.billing_api.lifecycle import apply_subscription_state
from services.billing_api.models import CURRENT_STATUSES, Subscription, SubscriptionStatus
from services.billing_api.provider_adapter import ProviderUnavailable
from services.billing_api.schemas import AnyRow
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.plain_reads import PlainReads

_TABLE = Subscription.__table__.c

# What GET /api/billing/subscription shows (schemas.SubscriptionOut), read as a plain row.
SHOWN_COLUMNS = (
    _TABLE.id,
    _TABLE.account_id,
    _TABLE.plan_id,
    _TABLE.status,
    _TABLE.current_period_start,
    _TABLE.current_period_end,
    _TABLE.cancel_at_period_end,
    _TABLE.trial_end,
    _TABLE.provider,
    _TABLE.updated_at,
)


_S = TypeVar("_S", bound=Select[Any])


def _current_first(statement: _S) -> _S:
    """The account's current subscription: active or trialing first, then the newest.

    Table columns, not ORM attributes, so the Core variant stays a Core statement.
    """
    # Equalities, not IN (...): an IN list is an "expanding" parameter that SQLAlchemy
    # re-renders into the SQL on every execution instead of reusing the cached statement.
    is_current = or_(*(_TABLE.status == status.value for status in CURRENT_STATUSES))
    # The account's rows come from ix_subscriptions_account_status; sorting those few
    # puts the current one first.
    return (
        statement.where(_TABLE.account_id == bindparam("account_id"))
        .order_by(case((is_current, 0), else_=1), _TABLE.created_at.desc(), _TABLE.id.desc())
        .limit(1)
    )


# Both built once: SQLAlchemy remembers a statement object's cache key, so the hot read does
# not rebuild the expression and its key on every request.
# The ORM object, for flows that go on to change it or hand it to the provider.
CURRENT_SUBSCRIPTION = _current_first(select(Subscription))
# The shown fields as a Core row: no ORM session, identity map or instance to build, which
# is most of the CPU of the hottest read (every page view, every cold planner check).
CURRENT_SUBSCRIPTION_SHOWN = _current_first(select(*SHOWN_COLUMNS))


async def current_subscription(session: AsyncSession, account_id: str) -> Subscription | None:
    """The account's current subscription: active or trialing first, then the newest."""
    return await session.scalar(CURRENT_SUBSCRIPTION, {"account_id": account_id})


async def shown_subscription(reads: PlainReads, account_id: str) -> AnyRow | None:
    """The same choice as :func:`current_subscription`, only the fields the API shows, as a
    plain read (``services.common.plain_reads``: on SQLite without a hop to another thread)."""
    return await reads.first(CURRENT_SUBSCRIPTION_SHOWN, {"account_id": account_id})


async def change_cancellation(
    context: BillingContext, account_id: str, *, cancel: bool
) -> Subscription:
    """Cancel at period end (``cancel=True``) or take such a cancellation back.

    The provider is asked first; what it answers is recorded through the same
    lifecycle rule the webhooks use.
    """
    async with context.reads() as session:
        subscription = await current_subscription(session, account_id)
    if subscription is None:
        raise AppError(ErrorCode.SUBSCRIPTION_NOT_FOUND)
    if not SubscriptionStatus(subscription.status).is_current:
        raise AppError(
            ErrorCode.SUBSCRIPTION_NOT_CANCELABLE, details={"status": subscription.status}
        )
    if subscription.cancel_at_period_end == cancel:
        return subscription  # already so: asking twice is not an error
    try:
        state = await context.provider.cancel_subscription(
            subscription.provider_subscription_id, at_period_end=cancel
        )
    except ProviderUnavailable as exc:
        raise AppError(ErrorCode.PROVIDER_UNAVAILABLE, headers={"Retry-After": "5"}) from exc
    async with context.sessions() as session, session.begin():
        return await apply_subscription_state(
            session,
            state,
            provider=context.provider.name,
            source="api:cancel" if cancel else "api:resume",
            subscribers=context.settings.events_subscribers,
        )
