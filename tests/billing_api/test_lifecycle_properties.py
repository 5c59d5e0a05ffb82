"""Property tests for the billing state machine: however provider reports arrive
(late, twice, out of order), the record ends at the newest fact, and a settled
payment attempt never changes again."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.lifecycle import apply_subscription_state, settle_checkout
from services.billing_api.models import (
    AttemptStatus,
    PaymentAttempt,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from services.billing_api.provider_adapter import CheckoutOutcome, CheckoutState, SubscriptionState
from services.common.db import create_engine, sessionmaker_for
from services.common.migrate import upgrade

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2027, 1, 1, tzinfo=UTC)
_ids = itertools.count()


@pytest.fixture(scope="module")
def sessions(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('props')) / 'billing.db'}"
    asyncio.run(upgrade("billing_api", url))
    engine = create_engine(url)
    yield sessionmaker_for(engine)
    asyncio.run(engine.dispose())


report = st.tuples(
    st.sampled_from(list(SubscriptionStatus)),
    st.booleans(),  # cancel_at_period_end
)


@PROPERTY
@given(
    reports=st.lists(report, min_size=1, max_size=8),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(min_value=0, max_value=7), max_size=4),
)
def test_the_newest_report_wins_whatever_the_arrival_order(
    sessions: async_sessionmaker[AsyncSession],
    reports: list[tuple[SubscriptionStatus, bool]],
    order: object,
    repeats: list[int],
) -> None:
    provider_id = f"sub_prop_{next(_ids)}"
    produced = [
        SubscriptionState(
            subscription_id=provider_id,
            account_id="acc_prop",
            plan_id="pro_monthly",
            status=status,
            current_period_start=T0,
            current_period_end=T0 + timedelta(days=30),
            cancel_at_period_end=cancel,
            trial_end=None,
            canceled_at=None,
            as_of=T0 + timedelta(seconds=index),  # the provider's own order
        )
        for index, (status, cancel) in enumerate(reports)
    ]
    arrivals = produced + [produced[i % len(produced)] for i in repeats]  # duplicates
    order.shuffle(arrivals)  # type: ignore[attr-defined]

    async def run() -> tuple[Subscription, int]:
        for state in arrivals:
            async with sessions() as session, session.begin():
                await apply_subscription_state(session, state, provider="stub", source="prop")
        async with sessions() as session:
            record = await session.scalar(
                select(Subscription).where(Subscription.provider_subscription_id == provider_id)
            )
            assert record is not None
            history = select(SubscriptionChange).where(
                SubscriptionChange.subscription_id == record.id
            )
            changes = len((await session.scalars(history)).all())
        return record, changes

    record, changes = asyncio.run(run())
    newest = produced[-1]
    assert record.status == newest.status.value
    assert record.cancel_at_period_end == newest.cancel_at_period_end
    assert record.provider_state_at == newest.as_of
    # One audit row per status actually recorded; never more than the reports that arrived.
    assert 1 <= changes <= len(arrivals)


@PROPERTY
@given(outcomes=st.lists(st.sampled_from(list(CheckoutOutcome)), min_size=1, max_size=6))
def test_a_settled_attempt_never_changes(
    sessions: async_sessionmaker[AsyncSession], outcomes: list[CheckoutOutcome]
) -> None:
    attempt_id = f"pa_prop_{next(_ids)}"

    async def run() -> str:
        async with sessions() as session, session.begin():
            session.add(
                PaymentAttempt(
                    id=attempt_id, account_id="acc_prop", plan_id="pro_monthly",
                    status=AttemptStatus.PENDING, provider="stub",
                    provider_session_id=f"cs_{attempt_id}", checkout_url="https://x",
                    success_url="https://x", cancel_url="https://x", locale=None,
                    expires_at=T0,
                )
            )  # fmt: skip
        for outcome in outcomes:
            async with sessions() as session, session.begin():
                attempt = await session.get(PaymentAttempt, attempt_id)
                assert attempt is not None
                state = CheckoutState(f"cs_{attempt_id}", attempt_id, outcome, None, None, T0)
                await settle_checkout(session, attempt, state)
        async with sessions() as session:
            attempt = await session.get(PaymentAttempt, attempt_id)
            assert attempt is not None
            return attempt.status

    final = asyncio.run(run())
    settled = [o for o in outcomes if o != CheckoutOutcome.OPEN]
    expected = {
        CheckoutOutcome.PAID: "succeeded",
        CheckoutOutcome.FAILED: "failed",
        CheckoutOutcome.CANCELED: "canceled",
        CheckoutOutcome.EXPIRED: "expired",
    }
    assert final == (expected[settled[0]] if settled else "pending")
