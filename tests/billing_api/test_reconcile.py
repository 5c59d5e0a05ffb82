"""Reconciliation: what the provider says about pending attempts, sessions we never
recorded and living subscriptions is applied once, through the lifecycle rules."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from services.billing_api.catalog import load_catalog
from services.billing_api.checkout import start_checkout
from services.billing_api.context import BillingContext
from services.billing_api.models import (
    AttemptStatus,
    OutboxMessage,
    PaymentAttempt,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from services.billing_api.provider_adapter import CheckoutOutcome, CheckoutRequest, CheckoutState
from services.billing_api.reconcile import MAX_FAILURES_IN_A_ROW, Action, Report, reconcile
from services.billing_api.schemas import CheckoutStartIn
from services.common.db import create_engine, create_read_engine, sessionmaker_for
from services.common.ids import new_id
from services.common.settings import Settings
from tests.billing_api.fakes import FakeProvider, FakeSession
from tests.billing_api.support import checkout_body, make_settings
from tests.databases import SqliteTemplates

SUBSCRIBER = "http://planner.test/internal/billing/events"
_accounts = itertools.count(1)


def reconcile_settings(url: str, **overrides: Any) -> Settings:
    return make_settings(
        url,
        billing_events_subscribers=[SUBSCRIBER],
        reconcile_unrecorded_after_seconds=60,
        **overrides,
    )


@asynccontextmanager
async def billing(settings: Settings, provider: FakeProvider) -> AsyncIterator[BillingContext]:
    """billing_api's context on its own engines, as one replica has it."""
    engine = create_engine(settings.billing_database_url)
    read_engine = create_read_engine(settings.billing_database_url)
    try:
        yield BillingContext(
            settings=settings,
            catalog=load_catalog(settings.plans_catalog_path),
            provider=provider,
            sessions=sessionmaker_for(engine),
            reads=sessionmaker_for(read_engine),
        )
    finally:
        await engine.dispose()
        await read_engine.dispose()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
async def context(billing_db_url: str, provider: FakeProvider) -> AsyncIterator[BillingContext]:
    async with billing(reconcile_settings(billing_db_url), provider) as ctx:
        yield ctx


async def start(context: BillingContext) -> PaymentAttempt:
    """A checkout started the way the endpoint starts one, for a fresh account."""
    account = f"acc_rec_{next(_accounts)}"
    body = CheckoutStartIn.model_validate(checkout_body())
    answer = await start_checkout(context, account, body, None)
    return await attempt(context, answer.body["paymentAttemptId"])


async def attempt(context: BillingContext, attempt_id: str) -> PaymentAttempt:
    async with context.reads() as session:
        row = await session.get(PaymentAttempt, attempt_id)
    assert row is not None
    return row


def unrecorded_session(
    context: BillingContext, provider: FakeProvider, *, age: timedelta
) -> tuple[str, str]:
    """A session the provider opened for a checkout start that crashed before its write:
    (session id, attempt id)."""
    attempt_id = new_id("pa")
    plan = context.catalog.get("pro_monthly")
    assert plan is not None
    request = CheckoutRequest(
        payment_attempt_id=attempt_id,
        account_id=f"acc_lost_{next(_accounts)}",
        plan=plan,
        success_url="http://127.0.0.1:19000/billing/success",
        cancel_url="http://127.0.0.1:19000/billing/cancel",
        locale="en",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    session_id = f"cs_lost_{next(_accounts)}"
    state = CheckoutState(
        session_id=session_id,
        payment_attempt_id=attempt_id,
        outcome=CheckoutOutcome.OPEN,
        error_code=None,
        subscription_id=None,
        as_of=datetime.now(UTC),
    )
    provider.sessions[session_id] = FakeSession(request, state, created_at=datetime.now(UTC) - age)
    return session_id, attempt_id


async def facts(context: BillingContext) -> dict[str, Any]:
    """Everything reconciliation may change, to compare before and after."""
    async with context.reads() as session:
        attempts = (
            await session.execute(
                select(
                    PaymentAttempt.id,
                    PaymentAttempt.status,
                    PaymentAttempt.error_code,
                    PaymentAttempt.provider_subscription_id,
                ).order_by(PaymentAttempt.id)
            )
        ).all()
        subscriptions = (
            await session.execute(
                select(
                    Subscription.provider_subscription_id,
                    Subscription.account_id,
                    Subscription.status,
                    Subscription.cancel_at_period_end,
                    Subscription.current_period_end,
                ).order_by(Subscription.provider_subscription_id)
            )
        ).all()
        changes = await session.scalar(select(func.count()).select_from(SubscriptionChange))
        outbox = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return {
        "attempts": [tuple(row) for row in attempts],
        "subscriptions": [tuple(row) for row in subscriptions],
        "changes": changes,
        "outbox": outbox,
    }


async def subscription_of(context: BillingContext, provider_id: str) -> Subscription:
    async with context.reads() as session:
        row = await session.scalar(
            select(Subscription).where(Subscription.provider_subscription_id == provider_id)
        )
    assert row is not None
    return row


class TestPendingAttempts:
    async def test_a_paid_attempt_becomes_succeeded_with_an_active_subscription(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        pending = await start(context)
        paid = provider.pay(pending.provider_session_id)  # the webhook never came

        report = await reconcile(context)

        assert report.ok
        assert (await attempt(context, pending.id)).status == AttemptStatus.SUCCEEDED
        subscription = await subscription_of(context, paid.subscription_id)
        assert subscription.status == SubscriptionStatus.ACTIVE
        assert subscription.account_id == pending.account_id
        assert report.count(Action.SETTLED, "attempt") == 1
        assert [item.detail for item in report.changes] == ["pending -> succeeded"]
        async with context.reads() as session:
            audit = (await session.scalars(select(SubscriptionChange.source))).all()
            announced = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert audit == ["reconcile"]
        assert announced == 1  # the planner hears of it too

    @pytest.mark.parametrize(
        ("outcome", "error_code", "status"),
        [
            (CheckoutOutcome.FAILED, "CARD_DECLINED", AttemptStatus.FAILED),
            (CheckoutOutcome.EXPIRED, None, AttemptStatus.EXPIRED),
            (CheckoutOutcome.CANCELED, None, AttemptStatus.CANCELED),
        ],
    )
    async def test_a_declined_expired_or_canceled_attempt_is_recorded(
        self,
        context: BillingContext,
        provider: FakeProvider,
        outcome: CheckoutOutcome,
        error_code: str | None,
        status: AttemptStatus,
    ) -> None:
        pending = await start(context)
        provider.settle(pending.provider_session_id, outcome, error_code)

        report = await reconcile(context)

        recorded = await attempt(context, pending.id)
        assert (recorded.status, recorded.error_code) == (status, error_code)
        assert report.ok
        assert report.count(Action.SETTLED) == 1

    async def test_an_open_attempt_stays_pending(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        await start(context)
        before = await facts(context)

        report = await reconcile(context)

        assert await facts(context) == before
        assert report.ok
        assert report.changes == []
        assert provider.expired == []  # our own open session is not ended


class TestSubscriptions:
    async def test_a_change_whose_webhook_was_lost_is_applied(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        pending = await start(context)
        paid = provider.pay(pending.provider_session_id)
        await reconcile(context)
        # A renewal failed at the provider; the webhook saying so was lost.
        provider.subscriptions[paid.subscription_id] = replace(
            paid, status=SubscriptionStatus.PAST_DUE, as_of=paid.as_of + timedelta(days=30)
        )

        report = await reconcile(context)

        held = await subscription_of(context, paid.subscription_id)
        assert held.status == SubscriptionStatus.PAST_DUE
        assert [item.line() for item in report.changes] == [
            f"subscription {held.id}: updated: active -> past_due"
        ]
        async with context.reads() as session:
            audit = (
                await session.execute(
                    select(SubscriptionChange.to_status, SubscriptionChange.source).order_by(
                        SubscriptionChange.id
                    )
                )
            ).all()
        assert [tuple(row) for row in audit] == [("active", "reconcile"), ("past_due", "reconcile")]

    async def test_an_older_state_at_the_provider_does_not_overwrite_ours(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        pending = await start(context)
        paid = provider.pay(pending.provider_session_id)
        await reconcile(context)
        provider.subscriptions[paid.subscription_id] = replace(
            paid, status=SubscriptionStatus.INCOMPLETE, as_of=paid.as_of - timedelta(seconds=5)
        )
        before = await facts(context)

        report = await reconcile(context)

        assert await facts(context) == before
        assert report.changes == []

    async def test_an_ended_subscription_is_not_asked_about(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        pending = await start(context)
        paid = provider.pay(pending.provider_session_id)
        provider.subscriptions[paid.subscription_id] = replace(
            paid, status=SubscriptionStatus.CANCELED
        )
        await reconcile(context)
        provider.down = True

        report = await reconcile(context)  # nothing pending, nothing living

        assert [(item.kind, item.id) for item in report.items] == [("listing", "checkout sessions")]
        assert (await subscription_of(context, paid.subscription_id)).status == "canceled"


class TestUnrecordedSessions:
    async def test_an_open_session_we_never_recorded_is_expired_at_the_provider(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        lost, attempt_id = unrecorded_session(context, provider, age=timedelta(minutes=5))

        report = await reconcile(context)

        assert provider.expired == [lost]
        assert provider.sessions[lost].state.outcome == CheckoutOutcome.EXPIRED
        assert report.ok
        assert report.count(Action.EXPIRED, "session") == 1
        assert attempt_id in report.changes[0].detail
        # Expired, so nothing needs recording: an attempt no one was ever shown.
        assert (await facts(context))["attempts"] == []

    async def test_a_young_one_is_left_to_its_checkout_start(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        lost, _ = unrecorded_session(context, provider, age=timedelta(seconds=5))

        report = await reconcile(context)

        assert provider.expired == []
        assert provider.sessions[lost].state.outcome == CheckoutOutcome.OPEN
        assert report.count(Action.WAITING) == 1
        assert report.ok

    async def test_a_paid_session_we_never_recorded_is_recorded_with_its_subscription(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        lost, attempt_id = unrecorded_session(context, provider, age=timedelta(seconds=5))
        paid = provider.pay(lost)

        report = await reconcile(context)

        recorded = await attempt(context, attempt_id)
        assert recorded.status == AttemptStatus.SUCCEEDED
        assert recorded.provider_session_id == lost
        assert recorded.provider_subscription_id == paid.subscription_id
        assert (await subscription_of(context, paid.subscription_id)).status == "active"
        assert report.count(Action.RECORDED) == 1
        assert provider.expired == []

    async def test_one_paid_while_we_expired_it_is_recorded_as_paid(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        _lost, attempt_id = unrecorded_session(context, provider, age=timedelta(minutes=5))
        paying = provider.expire_checkout

        async def paid_first(session_id: str) -> None:
            provider.pay(session_id)  # the customer was quicker; expiring a paid one is a no-op

        provider.expire_checkout = paid_first  # type: ignore[method-assign]
        try:
            report = await reconcile(context)
        finally:
            provider.expire_checkout = paying  # type: ignore[method-assign]

        assert (await attempt(context, attempt_id)).status == AttemptStatus.SUCCEEDED
        assert report.count(Action.RECORDED) == 1

    async def test_sessions_opened_by_something_else_are_left_alone(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        lost, _ = unrecorded_session(context, provider, age=timedelta(hours=1))
        session = provider.sessions[lost]
        session.state = replace(session.state, payment_attempt_id="order-1234")

        report = await reconcile(context)

        assert provider.expired == []
        assert report.items == []

    async def test_a_recorded_session_is_not_touched(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        pending = await start(context)
        provider.sessions[pending.provider_session_id].created_at -= timedelta(hours=1)

        await reconcile(context)

        assert provider.expired == []


class TestProviderDown:
    async def test_nothing_changes_and_the_report_says_why(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        first = await start(context)
        second = await start(context)
        provider.pay(first.provider_session_id)
        provider.pay(second.provider_session_id)
        unrecorded_session(context, provider, age=timedelta(hours=1))
        provider.down = True
        before = await facts(context)

        report = await reconcile(context)

        assert await facts(context) == before
        assert not report.ok
        assert report.stopped is not None
        assert "fake provider is down" in report.stopped
        assert report.count(Action.FAILED) >= 1
        assert all(item.action == Action.FAILED for item in report.items)

    async def test_a_provider_failing_midway_keeps_what_it_answered_and_stops(
        self, context: BillingContext, provider: FakeProvider
    ) -> None:
        attempts = [await start(context) for _ in range(5)]
        for pending in attempts:
            provider.settle(pending.provider_session_id, CheckoutOutcome.EXPIRED)
        provider.answers_before_down = 2

        report = await reconcile(context)

        statuses = [(await attempt(context, a.id)).status for a in attempts]
        assert statuses[:2] == [AttemptStatus.EXPIRED, AttemptStatus.EXPIRED]
        assert statuses[2:] == [AttemptStatus.PENDING] * 3
        assert report.count(Action.SETTLED) == 2
        assert report.count(Action.FAILED) == MAX_FAILURES_IN_A_ROW
        assert report.stopped is not None
        assert not report.ok
        # The next pass, with the provider back, finishes the job.
        provider.down, provider.answers_before_down = False, None
        assert (await reconcile(context)).count(Action.SETTLED) == 3


class TestReplicas:
    async def test_two_replicas_at_once_apply_each_fact_once(
        self, billing_db_url: str, provider: FakeProvider
    ) -> None:
        settings = reconcile_settings(billing_db_url)
        async with billing(settings, provider) as one, billing(settings, provider) as two:
            paid = [await start(one) for _ in range(3)]
            for pending in paid:
                provider.pay(pending.provider_session_id)
            declined = await start(one)
            provider.settle(declined.provider_session_id, CheckoutOutcome.FAILED, "CARD_DECLINED")
            lost_paid, lost_attempt = unrecorded_session(one, provider, age=timedelta(hours=1))
            provider.pay(lost_paid)
            lost_open, _ = unrecorded_session(one, provider, age=timedelta(hours=1))

            reports = await asyncio.gather(reconcile(one), reconcile(two))

            assert all(report.ok for report in reports)
            settled = sum(r.count(Action.SETTLED) for r in reports)
            recorded = sum(r.count(Action.RECORDED) for r in reports)
            assert (settled, recorded) == (4, 1)
            after = await facts(one)
        # Four subscriptions, each became active once and was announced once.
        assert after["changes"] == 4
        assert after["outbox"] == 4
        assert len(after["subscriptions"]) == 4
        assert provider.sessions[lost_open].state.outcome == CheckoutOutcome.EXPIRED
        assert (lost_attempt, "succeeded") in [(a[0], a[1]) for a in after["attempts"]]


# -- running it twice is running it once ----------------------------------------------

FATES = st.sampled_from(["open", "paid", "trial", "declined", "canceled", "expired"])
LOST = st.sampled_from(["old_open", "young_open", "paid", "expired"])
DRIFT = st.sampled_from(["same", "past_due", "canceled", "cancel_at_period_end", "older"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fates=st.lists(FATES, max_size=4),
    lost=st.lists(LOST, max_size=3),
    drifts=st.lists(DRIFT, max_size=3),
)
def test_reconciling_twice_is_reconciling_once(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_templates: SqliteTemplates,
    fates: list[str],
    lost: list[str],
    drifts: list[str],
) -> None:
    path = Path(tmp_path_factory.mktemp("reconcile_twice")) / "billing.db"
    url = sqlite_templates.copy("billing_api", path)

    async def scenario() -> None:
        provider = FakeProvider()
        async with billing(reconcile_settings(url), provider) as context:
            await _world(context, provider, fates, lost, drifts)
            first = await reconcile(context)
            once = await facts(context)
            expired_once = list(provider.expired)

            second = await reconcile(context)

            assert await facts(context) == once
            assert provider.expired == expired_once  # no second call to end anything
            assert first.ok
            assert second.ok
            assert {item.action for item in second.changes} <= {Action.WAITING}
            assert second.count(Action.WAITING) == first.count(Action.WAITING)
            await provider.aclose()

    asyncio.run(scenario())


async def _world(
    context: BillingContext,
    provider: FakeProvider,
    fates: list[str],
    lost: list[str],
    drifts: list[str],
) -> None:
    for fate in fates:
        pending = await start(context)
        session_id = pending.provider_session_id
        match fate:
            case "paid" | "trial":
                provider.pay(session_id, trial=fate == "trial")
            case "declined":
                provider.settle(session_id, CheckoutOutcome.FAILED, "CARD_DECLINED")
            case "canceled":
                provider.settle(session_id, CheckoutOutcome.CANCELED)
            case "expired":
                provider.settle(session_id, CheckoutOutcome.EXPIRED)
    for kind in lost:
        age = timedelta(seconds=5) if kind == "young_open" else timedelta(hours=2)
        session_id, _ = unrecorded_session(context, provider, age=age)
        if kind == "paid":
            provider.pay(session_id)
        elif kind == "expired":
            provider.settle(session_id, CheckoutOutcome.EXPIRED)
    for drift in drifts:
        pending = await start(context)
        paid = provider.pay(pending.provider_session_id)
        await reconcile(context)  # recorded as the webhook would have
        later = paid.as_of + timedelta(days=1)
        match drift:
            case "past_due":
                changed = replace(paid, status=SubscriptionStatus.PAST_DUE, as_of=later)
            case "canceled":
                changed = replace(paid, status=SubscriptionStatus.CANCELED, as_of=later)
            case "cancel_at_period_end":
                changed = replace(paid, cancel_at_period_end=True, as_of=later)
            case "older":
                changed = replace(
                    paid, status=SubscriptionStatus.INCOMPLETE, as_of=paid.as_of - timedelta(1)
                )
            case _:
                changed = paid
        provider.subscriptions[paid.subscription_id] = changed


def test_the_summary_counts_in_words() -> None:
    from services.billing_api.reconcile import Item

    report = Report(
        items=[
            Item("attempt", "pa_1", Action.SETTLED, "pending -> succeeded"),
            Item("attempt", "pa_2", Action.UNCHANGED, "still open at the provider"),
            Item("session", "cs_1", Action.EXPIRED, "payable but never recorded"),
            Item("subscription", "sub_1", Action.FAILED, "provider unavailable: down"),
        ]
    )
    assert report.summary() == (
        "2 pending attempts checked (1 settled); 1 unrecorded session found (1 expired, "
        "0 recorded, 0 too young to end); 1 subscription checked (0 updated); 1 failed"
    )
    assert not report.ok


class TestWorker:
    async def test_every_replica_reconciles_every_interval(
        self, billing_db_url: str, provider: FakeProvider
    ) -> None:
        from services.billing_api.worker import reconcile_forever

        settings = reconcile_settings(billing_db_url, reconcile_interval_seconds=0.05)
        async with billing(settings, provider) as context:
            pending = await start(context)
            provider.pay(pending.provider_session_id)  # and the webhook is lost
            task = asyncio.create_task(reconcile_forever(context))
            try:
                for _ in range(200):
                    if (await attempt(context, pending.id)).status != AttemptStatus.PENDING:
                        break
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()
            assert (await attempt(context, pending.id)).status == AttemptStatus.SUCCEEDED

    @pytest.mark.parametrize(("interval", "tasks"), [(0, ["billing-worker"]),
                             (300, ["billing-reconcile", "billing-worker"])])  # fmt: skip
    async def test_an_interval_of_zero_turns_the_periodic_pass_off(
        self, billing_db_url: str, provider: FakeProvider, interval: float, tasks: list[str]
    ) -> None:
        from services.billing_api.worker import running

        settings = reconcile_settings(billing_db_url, reconcile_interval_seconds=interval)
        async with billing(settings, provider) as context, running(context):
            names = sorted(
                task.get_name()
                for task in asyncio.all_tasks()
                if task.get_name().startswith("billing-")
            )
        assert names == tasks
