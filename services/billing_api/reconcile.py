"""Reconciliation: ask the provider what it knows, and record what we missed.

Webhooks are how billing_api learns of changes, but one can be lost for good (an
endpoint misconfigured for a day, a provider that gave up retrying), and a crash
between a checkout start's provider call and our write leaves a session at the
provider that we never recorded: payable, yet tied to no attempt. A pass:

1. asks about every pending attempt's session, and records a settled one (paid,
   with its subscription; declined, canceled or expired);
2. lists the provider's sessions of the last day and, for one of ours that has no
   attempt and is older than ``RECONCILE_UNRECORDED_AFTER_SECONDS`` (younger, its
   checkout start may still be recording it), expires it at the provider if it is
   still open, and records it if it was paid, so the customer's money is tied to
   their account;
3. asks about every subscription that has not ended, and applies what the provider
   says unless we hold a newer state.

Everything is applied through ``lifecycle``, which orders reports by the
provider's as-of, settles an attempt once and changes nothing on a repeat: a
second pass, or two replicas passing at once, apply each fact once. Only what the
provider answered is applied; after ``MAX_FAILURES_IN_A_ROW`` failed calls the
pass stops (the provider is down) and says so, leaving the rest for the next one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

import structlog
from sqlalchemy import select

from services.billing_api.context import BillingContext
from services.billing_api.lifecycle import (
    apply_subscription_state,
    record_checkout_result,
    record_found_checkout,
)
from services.billing_api.models import (
    FINAL_STATUSES,
    AttemptStatus,
    PaymentAttempt,
    Subscription,
)
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    ProviderCheckout,
    ProviderUnavailable,
    SubscriptionState,
)
from services.common.auth import ACCOUNT_ID
from services.common.types import utcnow

log = structlog.get_logger("gw_stack.reconcile")

SOURCE = "reconcile"  # the audit rows' source
# Stripe's longest session lifetime (and the sandbox's default): an older session of
# ours has ended, and one paid before then was found by an earlier pass.
LOOKBACK = timedelta(hours=24)
MAX_FAILURES_IN_A_ROW = 3
_ATTEMPT_ID = re.compile(r"pa_[0-9a-f]{24}")  # services.common.ids.new_id("pa")
_IN_CLAUSE = 500  # ids per IN (...) when asking which sessions are recorded

T = TypeVar("T")


class Action(StrEnum):
    UNCHANGED = "unchanged"
    SETTLED = "settled"  # a pending attempt got its final status
    UPDATED = "updated"  # a subscription took the provider's newer state
    EXPIRED = "expired"  # an unrecorded, payable session was ended at the provider
    RECORDED = "recorded"  # an unrecorded session that was paid is now an attempt of ours
    WAITING = "waiting"  # an unrecorded session too young to end yet
    FAILED = "failed"  # the provider did not answer about it; the next pass tries again


@dataclass(frozen=True, slots=True)
class Item:
    kind: str  # "attempt", "session", "subscription", or "listing" (of the sessions)
    id: str
    action: Action
    detail: str  # in words, for the operator

    def line(self) -> str:
        return f"{self.kind} {self.id}: {self.action}: {self.detail}"


@dataclass
class Report:
    items: list[Item] = field(default_factory=list)
    stopped: str | None = None  # why the pass ended early

    def count(self, action: Action, kind: str | None = None) -> int:
        return sum(
            item.action == action and (kind is None or item.kind == kind) for item in self.items
        )

    @property
    def ok(self) -> bool:
        return self.stopped is None and self.count(Action.FAILED) == 0

    @property
    def changes(self) -> list[Item]:
        return [item for item in self.items if item.action != Action.UNCHANGED]

    def summary(self) -> str:
        checked = {kind: sum(i.kind == kind for i in self.items) for kind in _KINDS}
        parts = [
            f"{_many(checked['attempt'], 'pending attempt')} checked "
            f"({self.count(Action.SETTLED)} settled)",
            f"{_many(checked['session'], 'unrecorded session')} found "
            f"({self.count(Action.EXPIRED)} expired, {self.count(Action.RECORDED)} recorded, "
            f"{self.count(Action.WAITING)} too young to end)",
            f"{_many(checked['subscription'], 'subscription')} checked "
            f"({self.count(Action.UPDATED)} updated)",
        ]
        failed = self.count(Action.FAILED)
        if failed:
            parts.append(f"{failed} failed")
        return "; ".join(parts)


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


_KINDS = ("attempt", "session", "subscription")


class _ProviderDown(Exception):
    pass


class _Pass:
    def __init__(self, context: BillingContext, report: Report) -> None:
        self._context = context
        self._report = report
        self._failures_in_a_row = 0
        self._provider = context.provider.name

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        """One provider call; a failure (``ProviderUnavailable``) goes to the caller,
        which records it with ``_failed``."""
        try:
            answer = await call()
        except ProviderUnavailable:
            self._failures_in_a_row += 1
            raise
        self._failures_in_a_row = 0
        return answer

    def _failed(self, kind: str, item_id: str, exc: ProviderUnavailable) -> None:
        """Record a failed item; enough failed calls in a row end the pass."""
        self._add(kind, item_id, Action.FAILED, f"provider unavailable: {exc}")
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            self._report.stopped = (
                f"the provider failed {self._failures_in_a_row} calls in a row "
                f"(last: {exc}); the rest is left for the next pass"
            )
            raise _ProviderDown from exc

    def _add(self, kind: str, item_id: str, action: Action, detail: str) -> None:
        item = Item(kind, item_id, action, detail)
        self._report.items.append(item)
        if action != Action.UNCHANGED:
            log.info("reconciled", kind=kind, id=item_id, action=str(action), detail=detail)

    # -- 1. pending attempts ---------------------------------------------------------
    async def pending_attempts(self) -> None:
        async with self._context.reads() as session:
            pending = (
                await session.scalars(
                    select(PaymentAttempt)
                    .where(
                        PaymentAttempt.status == AttemptStatus.PENDING,
                        PaymentAttempt.provider == self._provider,
                    )
                    .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
                )
            ).all()
        for attempt in pending:
            try:
                await self._attempt(attempt)
            except ProviderUnavailable as exc:
                self._failed("attempt", attempt.id, exc)

    async def _attempt(self, attempt: PaymentAttempt) -> None:
        state = await self._ask(
            lambda: self._context.provider.get_checkout(attempt.provider_session_id)
        )
        if state.outcome == CheckoutOutcome.OPEN:
            self._add("attempt", attempt.id, Action.UNCHANGED, "still open at the provider")
            return
        subscription = await self._subscription_of(state.subscription_id)
        async with self._context.sessions() as session, session.begin():
            recorded, settled = await record_checkout_result(
                session,
                attempt.id,
                state,
                subscription,
                provider=self._provider,
                source=SOURCE,
                subscribers=self._context.settings.events_subscribers,
            )
            status = recorded.status
        if settled:
            self._add("attempt", attempt.id, Action.SETTLED, f"pending -> {status}")
        else:  # a webhook or a status read settled it since we looked
            self._add("attempt", attempt.id, Action.UNCHANGED, f"already {status}")

    async def _subscription_of(self, subscription_id: str | None) -> SubscriptionState | None:
        if subscription_id is None:
            return None
        return await self._ask(lambda: self._context.provider.get_subscription(subscription_id))

    # -- 2. sessions we never recorded -----------------------------------------------
    async def unrecorded_sessions(self) -> None:
        now = utcnow()
        try:
            listed = await self._ask(
                lambda: self._context.provider.list_checkouts(created_since=now - LOOKBACK)
            )
        except ProviderUnavailable as exc:
            self._failed("listing", "checkout sessions", exc)
            return
        ours = [found for found in listed if _looks_ours(found)]
        recorded = await self._recorded_sessions([found.state.session_id for found in ours])
        grace = timedelta(seconds=self._context.settings.reconcile_unrecorded_after_seconds)
        for found in ours:
            session_id = found.state.session_id
            if session_id in recorded:
                continue
            payable = found.state.outcome == CheckoutOutcome.OPEN
            if not payable and found.state.outcome != CheckoutOutcome.PAID:
                continue  # ended unpaid: nothing can be paid through it, nothing to tie
            # On the provider's clock: after a sandbox test-clock advance a session looks
            # younger than it is and waits here longer; it still ends at its own expiry.
            if payable and now - found.created_at < grace:
                age = int((now - found.created_at).total_seconds())
                self._add(
                    "session",
                    session_id,
                    Action.WAITING,
                    f"opened {age} s ago for {found.account_id}; its checkout start "
                    "may still record it",
                )
                continue
            try:
                await self._unrecorded(found, payable=payable)
            except ProviderUnavailable as exc:
                self._failed("session", session_id, exc)

    async def _unrecorded(self, found: ProviderCheckout, *, payable: bool) -> None:
        session_id = found.state.session_id
        if payable:
            await self._ask(lambda: self._context.provider.expire_checkout(session_id))
            # The customer may have paid just before: read what it became.
            state = await self._ask(lambda: self._context.provider.get_checkout(session_id))
            found = replace(found, state=state)
            if state.outcome == CheckoutOutcome.OPEN:
                self._add(
                    "session",
                    session_id,
                    Action.FAILED,
                    "still open after the provider was asked to expire it",
                )
                return
        if found.state.outcome != CheckoutOutcome.PAID:
            self._add(
                "session",
                session_id,
                Action.EXPIRED,
                f"payable but never recorded (attempt {found.state.payment_attempt_id} "
                f"for {found.account_id}); {found.state.outcome} at the provider now",
            )
            return
        subscription = await self._subscription_of(found.state.subscription_id)
        async with self._context.sessions() as session, session.begin():
            attempt = await record_found_checkout(
                session,
                found,
                subscription,
                provider=self._provider,
                source=SOURCE,
                subscribers=self._context.settings.events_subscribers,
            )
        if attempt is None:
            self._add("session", session_id, Action.UNCHANGED, "recorded meanwhile")
        else:
            self._add(
                "session",
                session_id,
                Action.RECORDED,
                f"paid but never recorded: attempt {attempt.id} for {attempt.account_id} "
                f"recorded as {attempt.status}",
            )

    async def _recorded_sessions(self, session_ids: Sequence[str]) -> set[str]:
        recorded: set[str] = set()
        async with self._context.reads() as session:
            for start in range(0, len(session_ids), _IN_CLAUSE):
                chunk = session_ids[start : start + _IN_CLAUSE]
                rows = await session.scalars(
                    select(PaymentAttempt.provider_session_id).where(
                        PaymentAttempt.provider_session_id.in_(chunk)
                    )
                )
                recorded.update(rows.all())
        return recorded

    # -- 3. subscriptions that have not ended ----------------------------------------
    async def living_subscriptions(self) -> None:
        async with self._context.reads() as session:
            living = (
                await session.scalars(
                    select(Subscription)
                    .where(
                        Subscription.status.not_in(FINAL_STATUSES),
                        Subscription.provider == self._provider,
                    )
                    .order_by(Subscription.provider_state_at, Subscription.id)
                )
            ).all()
        for held in living:
            try:
                await self._subscription(held)
            except ProviderUnavailable as exc:
                self._failed("subscription", held.id, exc)

    async def _subscription(self, held: Subscription) -> None:
        before = _facts(held)
        state = await self._ask(
            lambda: self._context.provider.get_subscription(held.provider_subscription_id)
        )
        async with self._context.sessions() as session, session.begin():
            now = await apply_subscription_state(
                session,
                state,
                provider=self._provider,
                source=SOURCE,
                subscribers=self._context.settings.events_subscribers,
            )
            after = _facts(now)
        if after == before:
            self._add("subscription", held.id, Action.UNCHANGED, f"{held.status}, as recorded")
        elif after[0] != before[0]:
            self._add("subscription", held.id, Action.UPDATED, f"{before[0]} -> {after[0]}")
        else:
            self._add(
                "subscription",
                held.id,
                Action.UPDATED,
                f"{after[0]}; period or cancellation updated",
            )


def _facts(subscription: Subscription) -> tuple[object, ...]:
    return (
        subscription.status,
        subscription.plan_id,
        subscription.current_period_start,
        subscription.current_period_end,
        subscription.cancel_at_period_end,
        subscription.trial_end,
        subscription.canceled_at,
    )


def _looks_ours(found: ProviderCheckout) -> bool:
    """Our attempt id and an account id of ours: anything else cannot be recorded."""
    return bool(
        _ATTEMPT_ID.fullmatch(found.state.payment_attempt_id)
        and ACCOUNT_ID.fullmatch(found.account_id)
    )


async def reconcile(context: BillingContext) -> Report:
    """One pass (see the module's docstring); the report says what it did."""
    report = Report()
    run = _Pass(context, report)
    try:
        await run.pending_attempts()
        await run.unrecorded_sessions()
        await run.living_subscriptions()
    except _ProviderDown:
        log.warning("reconciliation stopped", reason=report.stopped)
    return report
