"""kill -9 billing_api while webhooks are in flight; after a restart the final state is
right, no event is lost and none is applied twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.billing_api.models import (
    InboxStatus,
    PaymentAttempt,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.db import create_engine, sessionmaker_for
from tests.databases import SqliteTemplates
from tests.e2e.shopper import Shopper, sandbox_call
from tests.e2e.stack import Stack, running_stack, stack_databases

SHOPPERS = 8


@pytest.fixture
def crash_stack(backend: str, tmp_path: Path, sqlite_templates: SqliteTemplates) -> Iterator[Stack]:
    """A stack of its own: the test counts every inbox row and attempt in its databases."""
    with (
        stack_databases(backend, tmp_path, sqlite_templates, "crash") as (billing_db, sandbox_db),
        running_stack(
            tmp_path, billing_db=billing_db, sandbox_db=sandbox_db, names=("sandbox", "billing-api")
        ) as stack,
    ):
        yield stack


def billing_facts(url: str) -> dict[str, object]:
    async def read() -> dict[str, object]:
        engine = create_engine(url)
        try:
            async with sessionmaker_for(engine)() as session:
                inbox = (await session.execute(
                    select(WebhookInboxEvent.event_id, WebhookInboxEvent.status)
                )).all()  # fmt: skip
                changes = (await session.execute(
                    select(SubscriptionChange.subscription_id, func.count())
                    .where(SubscriptionChange.to_status == "active")
                    .group_by(SubscriptionChange.subscription_id)
                )).all()  # fmt: skip
                attempts = (await session.scalars(select(PaymentAttempt.status))).all()
            return {"inbox": inbox, "active_changes": changes, "attempts": attempts}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_kill_9_during_webhooks_loses_nothing_and_applies_once(crash_stack: Stack) -> None:
    shoppers = [
        Shopper.for_stack(crash_stack.env, f"acc_crash_{i}_{time.time_ns()}")
        for i in range(SHOPPERS)
    ]
    started = [shopper.start() for shopper in shoppers]
    billing = crash_stack["billing-api"]

    # Pay everything while billing_api is killed partway through the webhook stream.
    killer = threading.Timer(0.3, billing.kill_hard)
    killer.start()
    for shopper, attempt in zip(shoppers, started, strict=True):
        shopper.pay(attempt["checkoutUrl"], "4242 4242 4242 4242")
    killer.join()

    billing.start()
    sandbox = crash_stack.env["PAYMENT_PROVIDER_ENDPOINT"]
    deadline = time.monotonic() + 30
    while True:
        flushed = sandbox_call(sandbox, "POST", "/v1/webhooks/flush",
                               params={"include_scheduled": "true"})  # fmt: skip
        if flushed["pending"] == 0:
            break
        assert time.monotonic() < deadline, flushed
        time.sleep(0.2)

    for shopper in shoppers:
        shopper.wait_for_subscription("active")

    sent = sandbox_call(sandbox, "GET", "/v1/events", params={"limit": 500})["data"]
    facts = billing_facts(crash_stack.env["BILLING_DATABASE_URL"])
    inbox = dict(facts["inbox"])  # type: ignore[call-overload]
    # Every event the sandbox sent is in the inbox, once, and done with: applied, or
    # ignored when it is a type billing_api does not act on; none pending or failed.
    assert {event["id"] for event in sent} <= set(inbox)
    assert len(inbox) == len(facts["inbox"])  # type: ignore[arg-type]
    assert InboxStatus.APPLIED.value in set(inbox.values())
    assert set(inbox.values()) <= {InboxStatus.APPLIED.value, InboxStatus.IGNORED.value}
    # Each subscription became active exactly once: no event was applied twice.
    active_changes = dict(facts["active_changes"])  # type: ignore[call-overload]
    assert len(active_changes) >= SHOPPERS
    assert set(active_changes.values()) == {1}
    statuses = facts["attempts"]
    assert statuses.count("succeeded") >= SHOPPERS  # type: ignore[attr-defined]
