"""Subscriptions: how they start, renew, fall into dunning, and end.

Time drives most of it. ``next_action_at`` says when the clock next has work
for a subscription (trial end, renewal, dunning retry); ``run_step`` does that
one piece of work as of that moment, and ``catch_up`` repeats it until the
subscription is current. The test clock and the clock worker call it for every
subscription in time order; reads and changes call it for the one they touch,
so a subscription never answers with a state the clock has already passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.ids import new_id
from services.sandbox_provider.cards import EnteredCard
from services.sandbox_provider.clock import add_months, interval_months, next_updated_ms
from services.sandbox_provider.config import SandboxConfig
from services.sandbox_provider.errors import SubscriptionNotCancelable, SubscriptionNotFound
from services.sandbox_provider.models import (
    CardBehavior,
    CheckoutSession,
    Invoice,
    InvoiceStatus,
    Subscription,
    SubscriptionStatus,
)
from services.sandbox_provider.outbox import record_event
from services.sandbox_provider.schemas import InvoiceObject, SubscriptionObject

log = structlog.get_logger("gw_stack.sandbox.subscriptions")

# A subscription lagging further than this many steps is a bug, not a long absence
# (ten years of monthly renewals is 120 steps).
_MAX_STEPS = 10_000

_ENDED = (SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED)


def _period_bounds(row: Subscription, number: int) -> tuple[datetime, datetime]:
    """Start and end of paid period ``number`` (1 = the first after the anchor)."""
    months = interval_months(row.plan["interval"])
    return (
        add_months(row.billing_anchor, (number - 1) * months),
        add_months(row.billing_anchor, number * months),
    )


def _touch(row: Subscription, at: datetime) -> None:
    row.updated_ms = next_updated_ms(row.updated_ms, at)


def _emit(session: AsyncSession, event_type: str, row: Subscription, at: datetime) -> None:
    record_event(session, event_type, SubscriptionObject.of(row), at=at, ordering_key=row.id)


def _emit_invoice(session: AsyncSession, event_type: str, invoice: Invoice, at: datetime) -> None:
    record_event(
        session, event_type, InvoiceObject.of(invoice), at=at, ordering_key=invoice.subscription_id
    )


def _new_invoice(row: Subscription, *, amount: int, reason: str, at: datetime) -> Invoice:
    return Invoice(
        id=new_id("in"),
        subscription_id=row.id,
        status=InvoiceStatus.OPEN,
        billing_reason=reason,
        amount_due=amount,
        currency=row.plan["currency"],
        attempt_count=0,
        period_start=row.current_period_start,
        period_end=row.current_period_end,
        created_at=at,
    )


def start_subscription(
    session: AsyncSession,
    checkout: CheckoutSession,
    *,
    subscription_id: str,
    card_last4: str,
    card_brand: str,
    behavior: CardBehavior,
    at: datetime,
) -> Subscription:
    """The subscription a paid checkout creates, with its first (paid) invoice."""
    plan = checkout.plan
    trial_days = int(plan.get("trial_days", 0))
    trial_end = at + timedelta(days=trial_days) if trial_days else None
    row = Subscription(
        id=subscription_id,
        plan=plan,
        meta=checkout.meta,
        checkout_session_id=checkout.id,
        card_last4=card_last4,
        card_brand=card_brand,
        card_behavior=behavior,
        cancel_at_period_end=False,
        created_at=at,
        updated_ms=next_updated_ms(None, at),
    )
    if trial_end is not None:
        # Like Stripe: the trial is the first period and paid periods count from its end.
        row.status = SubscriptionStatus.TRIALING
        row.trial_end = trial_end
        row.billing_anchor = trial_end
        row.periods_started = 0
        row.current_period_start, row.current_period_end = at, trial_end
    else:
        row.status = SubscriptionStatus.ACTIVE
        row.billing_anchor = at
        row.periods_started = 1
        row.current_period_start, row.current_period_end = _period_bounds(row, 1)
    row.next_action_at = row.current_period_end
    invoice = _new_invoice(
        row,
        amount=0 if trial_end else int(plan["amount"]),
        reason="subscription_create",
        at=at,
    )
    invoice.status, invoice.attempt_count = InvoiceStatus.PAID, 1
    session.add_all([row, invoice])
    _emit(session, "customer.subscription.created", row, at)
    _emit_invoice(session, "invoice.paid", invoice, at)
    return row


def _charge_succeeds(row: Subscription) -> bool:
    return row.card_behavior != CardBehavior.RENEWALS_FAIL


def _end(session: AsyncSession, row: Subscription, at: datetime) -> None:
    row.status = SubscriptionStatus.CANCELED
    row.canceled_at = at
    row.cancel_at_period_end = False
    row.next_action_at = None
    _touch(row, at)
    _emit(session, "customer.subscription.deleted", row, at)


def _renew(session: AsyncSession, row: Subscription, at: datetime, config: SandboxConfig) -> None:
    """Start the next paid period and charge for it; a failed charge starts dunning."""
    row.periods_started += 1
    row.current_period_start, row.current_period_end = _period_bounds(row, row.periods_started)
    invoice = _new_invoice(row, amount=int(row.plan["amount"]), reason="subscription_cycle", at=at)
    invoice.attempt_count = 1
    session.add(invoice)
    if _charge_succeeds(row):
        invoice.status = InvoiceStatus.PAID
        row.status = SubscriptionStatus.ACTIVE
        row.next_action_at = row.current_period_end
        _touch(row, at)
        _emit_invoice(session, "invoice.paid", invoice, at)
        _emit(session, "customer.subscription.updated", row, at)
        return
    row.status = SubscriptionStatus.PAST_DUE
    row.dunning_invoice_id = invoice.id
    _touch(row, at)
    _emit_invoice(session, "invoice.payment_failed", invoice, at)
    _schedule_retry_or_give_up(session, row, invoice, at, config)
    if row.status == SubscriptionStatus.PAST_DUE:
        _emit(session, "customer.subscription.updated", row, at)


def _schedule_retry_or_give_up(
    session: AsyncSession, row: Subscription, invoice: Invoice, at: datetime, config: SandboxConfig
) -> None:
    retries_done = invoice.attempt_count - 1
    if retries_done < len(config.dunning_retry_days):
        row.next_action_at = at + timedelta(days=config.dunning_retry_days[retries_done])
        return
    # Out of retries. No renewals happen during or after dunning.
    if config.dunning_final_status == "canceled":
        _end(session, row, at)
        return
    row.status = SubscriptionStatus.UNPAID
    row.next_action_at = None
    _touch(row, at)
    _emit(session, "customer.subscription.updated", row, at)


async def _retry(
    session: AsyncSession, row: Subscription, at: datetime, config: SandboxConfig
) -> None:
    invoice = await session.get(Invoice, row.dunning_invoice_id) if row.dunning_invoice_id else None
    if invoice is None:  # defensive: nothing to retry
        row.next_action_at = None
        return
    invoice.attempt_count += 1
    if _charge_succeeds(row):
        _overdue_paid(session, row, invoice, at)
        return
    _emit_invoice(session, "invoice.payment_failed", invoice, at)
    _schedule_retry_or_give_up(session, row, invoice, at, config)


def _overdue_paid(session: AsyncSession, row: Subscription, invoice: Invoice, at: datetime) -> None:
    """Dunning is over: the open invoice is paid and the subscription is active again."""
    invoice.status = InvoiceStatus.PAID
    row.status = SubscriptionStatus.ACTIVE
    row.dunning_invoice_id = None
    row.next_action_at = row.current_period_end
    _touch(row, at)
    _emit_invoice(session, "invoice.paid", invoice, at)
    _emit(session, "customer.subscription.updated", row, at)


class CardChange(StrEnum):
    SAVED = "saved"  # nothing was overdue
    RECOVERED = "recovered"  # the overdue invoice is paid; the subscription is active
    STILL_OVERDUE = "still_overdue"  # saved, but charging the overdue invoice failed again


async def replace_card(
    session: AsyncSession, row: Subscription, card: EnteredCard, *, now: datetime
) -> CardChange:
    """Save the card the customer typed on the portal page, and charge an overdue
    invoice with it at once, as a provider retries the open invoice on a new card.

    Without this, dunning could only end in ``unpaid`` or ``canceled``.
    """
    row.card_last4, row.card_brand = card.last4, card.brand
    row.card_behavior = card.test_card.behavior
    _touch(row, now)
    overdue = SubscriptionStatus(row.status) in (
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
    )
    invoice = await session.get(Invoice, row.dunning_invoice_id) if row.dunning_invoice_id else None
    if not overdue or invoice is None:
        return CardChange.SAVED
    invoice.attempt_count += 1
    if _charge_succeeds(row):
        _overdue_paid(session, row, invoice, now)
        return CardChange.RECOVERED
    # The retry schedule already set stays; only this extra attempt is reported.
    _emit_invoice(session, "invoice.payment_failed", invoice, now)
    return CardChange.STILL_OVERDUE


async def run_step(session: AsyncSession, row: Subscription, config: SandboxConfig) -> None:
    """Do what is due at ``row.next_action_at``, as of that moment."""
    at = row.next_action_at
    if at is None:
        return
    status = SubscriptionStatus(row.status)
    if status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        if row.cancel_at_period_end:
            _end(session, row, at)
        else:
            _renew(session, row, at, config)
    elif status == SubscriptionStatus.PAST_DUE:
        await _retry(session, row, at, config)
    else:
        row.next_action_at = None
    if row.next_action_at is not None and row.next_action_at <= at:
        raise RuntimeError(f"subscription {row.id}: a step did not move its clock forward")


async def catch_up(
    session: AsyncSession, row: Subscription, now: datetime, config: SandboxConfig
) -> None:
    for _ in range(_MAX_STEPS):
        if row.next_action_at is None or row.next_action_at > now:
            return
        await run_step(session, row, config)
    log.error("subscription did not catch up with the clock", subscription_id=row.id)


async def load_subscription(
    session: AsyncSession, subscription_id: str, now: datetime, config: SandboxConfig
) -> Subscription:
    """The subscription, locked for this transaction and brought up to ``now``."""
    row = await session.scalar(
        select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    )
    if row is None:
        raise SubscriptionNotFound(subscription_id=subscription_id)
    await catch_up(session, row, now, config)
    return row


def cancel(
    session: AsyncSession,
    row: Subscription,
    *,
    at_period_end: bool,
    immediately: bool,
    now: datetime,
) -> None:
    """Cancel now, cancel at period end, or (``at_period_end=False``) resume a pending cancel."""
    status = SubscriptionStatus(row.status)
    if immediately:
        if status not in _ENDED:
            _end(session, row, now)
        return
    if status not in (
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    ):
        raise SubscriptionNotCancelable(subscription_id=row.id, status=status)
    if row.cancel_at_period_end == at_period_end:
        return  # already so: nothing changes, no event
    row.cancel_at_period_end = at_period_end
    _touch(row, now)
    _emit(session, "customer.subscription.updated", row, now)
