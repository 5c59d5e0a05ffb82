"""How provider facts change our records: the one home for those rules.

Webhooks, the checkout-status poll, reconciliation and the subscription endpoints
all report what the provider says through these functions, so a fact is applied
the same way whichever path brought it, and applying it twice changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from services.billing_api.events_out import (
    announce_subscription,
    announcement_rows,
    write_announcements,
)
from services.billing_api.models import (
    AttemptStatus,
    PaymentAttempt,
    Subscription,
    SubscriptionChange,
)
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    CheckoutState,
    ProviderCheckout,
    SubscriptionState,
)
from services.common.ids import new_id
from services.common.types import utcnow

_OUTCOME_TO_STATUS = {
    CheckoutOutcome.PAID: AttemptStatus.SUCCEEDED,
    CheckoutOutcome.FAILED: AttemptStatus.FAILED,
    CheckoutOutcome.CANCELED: AttemptStatus.CANCELED,
    CheckoutOutcome.EXPIRED: AttemptStatus.EXPIRED,
}


async def settle_checkout(
    session: AsyncSession, attempt: PaymentAttempt, state: CheckoutState
) -> bool:
    """Move a pending attempt to its final status; a settled attempt never changes again.

    Returns whether anything changed.
    """
    if attempt.status != AttemptStatus.PENDING or state.outcome == CheckoutOutcome.OPEN:
        return False
    attempt.status = _OUTCOME_TO_STATUS[state.outcome]
    attempt.error_code = state.error_code if state.outcome == CheckoutOutcome.FAILED else None
    attempt.provider_subscription_id = state.subscription_id
    return True


async def record_checkout_result(
    session: AsyncSession,
    attempt_id: str,
    state: CheckoutState,
    subscription: SubscriptionState | None,
    *,
    provider: str,
    source: str,
    subscribers: Sequence[str] = (),
) -> tuple[PaymentAttempt, bool]:
    """What the provider answered about an attempt's session: the subscription it paid
    for (announced like a webhook's change) and the attempt's final status, under the
    attempt's row lock. Returns the attempt as it now is, and whether this settled it."""
    locked = await session.scalar(
        select(PaymentAttempt).where(PaymentAttempt.id == attempt_id).with_for_update()
    )
    assert locked is not None, "attempts are never deleted"
    if subscription is not None:
        await apply_subscription_state(
            session, subscription, provider=provider, source=source, subscribers=subscribers
        )
    settled = await settle_checkout(session, locked, state)
    return locked, settled


async def record_found_checkout(
    session: AsyncSession,
    found: ProviderCheckout,
    subscription: SubscriptionState | None,
    *,
    provider: str,
    source: str,
    subscribers: Sequence[str] = (),
) -> PaymentAttempt | None:
    """Record the attempt of a provider session we never recorded (a crash between the
    provider call and our write), settled as the provider says.

    None when the attempt is recorded already (a second reconciler, or the checkout
    start itself, got there first): nothing changes then.
    """
    attempt = PaymentAttempt(
        id=found.state.payment_attempt_id,
        account_id=found.account_id,
        plan_id=found.plan_id,
        status=AttemptStatus.PENDING,
        provider=provider,
        provider_session_id=found.state.session_id,
        checkout_url=found.checkout_url or "",
        success_url=found.success_url,
        cancel_url=found.cancel_url,
        locale=found.locale,
        expires_at=found.expires_at,
    )
    try:
        async with session.begin_nested():
            session.add(attempt)
    except IntegrityError:
        return None
    if subscription is not None:
        await apply_subscription_state(
            session, subscription, provider=provider, source=source, subscribers=subscribers
        )
    await settle_checkout(session, attempt, found.state)
    return attempt


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What the first report of a subscription records, as rows (every column but an
    autoincrement key): the subscription, its audit row and its announcements.

    Written together, in the transaction that stores the report, and only when no row
    with that provider id exists yet (``apply_subscription_state`` and, for webhooks,
    ``services/billing_api/direct_ingest.py``); otherwise the report is an update.
    """

    recorded: Subscription  # the subscription as built, not in any session
    subscription: dict[str, Any]
    change: dict[str, Any]
    announcements: list[dict[str, Any]]


def new_subscription(
    state: SubscriptionState, *, provider: str, source: str, subscribers: Sequence[str] = ()
) -> NewSubscription:
    """The rows a subscription we have never recorded is stored with."""
    created = _new_subscription(state, provider)
    return NewSubscription(
        recorded=created,
        subscription={name: getattr(created, name) for name in _NEW_SUBSCRIPTION_COLUMNS},
        change=_change_row(created, None, source),
        announcements=announcement_rows(created, subscribers),
    )


async def apply_subscription_state(
    session: AsyncSession,
    state: SubscriptionState,
    *,
    provider: str,
    source: str,
    subscribers: Sequence[str] = (),
    likely_new: bool = False,
) -> Subscription:
    """Record the provider's view of a subscription unless we already hold a newer one,
    and announce the change to the subscribers in the same transaction.

    ``likely_new`` (the provider says it created the subscription) tries the insert
    first: one statement instead of a lookup that finds nothing and then the insert.
    When the subscription is there after all, the insert does nothing and the lookup
    below finds it, as when another writer recorded it first.
    """
    existing = None if likely_new else await _locked_subscription(session, state.subscription_id)
    if existing is None:
        new = new_subscription(state, provider=provider, source=source, subscribers=subscribers)
        if await _insert_unless_recorded(session, new.subscription):
            # Stored by the statement above: the session holds it as loaded, not new, so
            # it is not inserted again and later changes to it are updates.
            created = new.recorded
            make_transient_to_detached(created)
            session.add(created)
            await session.execute(_AUDIT_INSERT, new.change)
            await write_announcements(session, new.announcements)
            return created
        # Another writer recorded it first (webhook beside a status poll): update theirs.
        # (On PostgreSQL the insert waited for that writer's commit, so this finds it.)
        existing = await _locked_subscription(session, state.subscription_id)
        assert existing is not None

    if state.as_of < existing.provider_state_at:
        return existing  # an older report: the state we hold is newer
    previous = existing.status
    reported = {
        "plan_id": state.plan_id,
        "status": state.status.value,
        "current_period_start": state.current_period_start,
        "current_period_end": state.current_period_end,
        "cancel_at_period_end": state.cancel_at_period_end,
        "trial_end": state.trial_end,
        "canceled_at": state.canceled_at,
    }
    changed = {k: v for k, v in reported.items() if getattr(existing, k) != v}
    existing.provider_state_at = state.as_of
    if not changed:
        return existing  # the same facts again: nothing to record or announce
    for key, value in changed.items():
        setattr(existing, key, value)
    existing.updated_at = utcnow()
    if previous != existing.status:
        await _audit(session, existing, previous, source)
    await announce_subscription(session, existing, subscribers)
    return existing


# Statements every webhook runs, built once (building one, with its cache key, cost more
# CPU than running it).
_LOCKED_SUBSCRIPTION = (
    select(Subscription)
    .where(Subscription.provider_subscription_id == bindparam("provider_subscription_id"))
    .with_for_update()
)
_SUBSCRIPTIONS = cast(Table, Subscription.__table__)
_NEW_SUBSCRIPTION_COLUMNS = tuple(column.name for column in _SUBSCRIPTIONS.columns)
_AUDIT_INSERT = insert(cast(Table, SubscriptionChange.__table__))


async def _locked_subscription(
    session: AsyncSession, provider_subscription_id: str
) -> Subscription | None:
    return await session.scalar(
        _LOCKED_SUBSCRIPTION, {"provider_subscription_id": provider_subscription_id}
    )


@functools.cache
def _subscription_insert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (provider_subscription_id) DO NOTHING RETURNING id.

    One statement where a savepoint around an ORM insert took three (SAVEPOINT, INSERT,
    RELEASE) to survive the same conflict.
    """
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(_SUBSCRIPTIONS)
        .values({name: bindparam(name) for name in _NEW_SUBSCRIPTION_COLUMNS})
        .on_conflict_do_nothing(index_elements=["provider_subscription_id"])
        .returning(_SUBSCRIPTIONS.c.id)
    )


async def _insert_unless_recorded(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a new subscription's row unless one with its provider id exists (then False)."""
    statement = _subscription_insert(_dialect_of(session))
    return await session.scalar(statement, values) is not None


def _dialect_of(session: AsyncSession) -> str:
    assert session.bind is not None, "sessions are bound to their engine"
    name: str = session.bind.dialect.name
    return name


def _new_subscription(state: SubscriptionState, provider: str) -> Subscription:
    now = utcnow()
    return Subscription(
        id=new_id("sub"),
        account_id=state.account_id,
        plan_id=state.plan_id,
        status=state.status,
        provider=provider,
        provider_subscription_id=state.subscription_id,
        current_period_start=state.current_period_start,
        current_period_end=state.current_period_end,
        cancel_at_period_end=state.cancel_at_period_end,
        trial_end=state.trial_end,
        canceled_at=state.canceled_at,
        provider_state_at=state.as_of,
        created_at=now,
        updated_at=now,
    )


def _change_row(subscription: Subscription, previous: str | None, source: str) -> dict[str, Any]:
    """The audit row of a subscription's move from ``previous`` to its status now."""
    return {
        "subscription_id": subscription.id,
        "account_id": subscription.account_id,
        "from_status": previous,
        "to_status": subscription.status,
        "source": source,
        "provider_state_at": subscription.provider_state_at,
        "recorded_at": utcnow(),
    }


async def _audit(
    session: AsyncSession, subscription: Subscription, previous: str | None, source: str
) -> None:
    # A Core insert: the audit row is never read back in the transaction that writes it.
    await session.execute(_AUDIT_INSERT, _change_row(subscription, previous, source))
