"""The benchmark's databases, seed rows and signed webhook events.

Each run gets fresh databases: a SQLite file in a temporary folder, and a
random-named PostgreSQL database that is dropped afterwards. The seed is a
paid account (an old canceled subscription and the active one, so "current
first" has something to decide) among a few thousand other accounts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import standardwebhooks
from sqlalchemy import func, insert, select

from bench import postgres
from services.billing_api.models import (
    InboxStatus,
    OutboxMessage,
    Subscription,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.db import create_engine
from services.common.migrate import upgrade

ACCOUNT = "acc_bench"
OTHER_ACCOUNTS = 5_000
EVENT_PREFIX = "evt_bench_"


@contextlib.contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A migrated, seeded billing database; yields its SQLAlchemy URL."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-billing-") as folder:
            url = f"sqlite+aiosqlite:///{folder}/billing.db"
            asyncio.run(_prepare(url))
            yield url
        return
    with postgres.empty_database("billing") as url:
        asyncio.run(_prepare(url))
        yield url


def _subscription(index: int, account: str, status: str, created: datetime) -> dict[str, Any]:
    return {
        "id": f"sub_seed_{index}",
        "account_id": account,
        "plan_id": "pro_monthly",
        "status": status,
        "provider": "stub",
        "provider_subscription_id": f"sub_stub_seed_{index}",
        "current_period_start": created,
        "current_period_end": created + timedelta(days=30),
        "cancel_at_period_end": False,
        "trial_end": None,
        "canceled_at": created + timedelta(days=3) if status == "canceled" else None,
        "provider_state_at": created,
        "created_at": created,
        "updated_at": created,
    }


async def _prepare(url: str) -> None:
    await upgrade("billing_api", url)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    rows = [
        _subscription(0, ACCOUNT, "canceled", start),
        _subscription(1, ACCOUNT, "active", start + timedelta(days=40)),
    ]
    rows += [
        _subscription(i + 2, f"acc_seed_{i}", ("active", "canceled", "past_due")[i % 3], start)
        for i in range(OTHER_ACCOUNTS)
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Subscription), rows)
    finally:
        await engine.dispose()


def signed_events(
    secret: str, count: int, *, every_nth_again: int = 10
) -> list[tuple[bytes, dict[str, str]]]:
    """``count`` distinct signed ``customer.subscription.created`` events; every n-th
    position re-sends an event from five positions earlier (a provider's retry)."""
    signer = standardwebhooks.Webhook(secret)
    now = datetime.now(UTC)
    unix = int(time.time())
    unique: list[tuple[bytes, dict[str, str]]] = []
    events: list[tuple[bytes, dict[str, str]]] = []
    for i in range(count):
        body = json.dumps(
            {
                "id": f"{EVENT_PREFIX}{i}",
                "object": "event",
                "type": "customer.subscription.created",
                "created": unix,
                "data": {
                    "object": {
                        "id": f"sub_ingest_{i}",
                        "object": "subscription",
                        "status": "active",
                        "current_period_start": unix,
                        "current_period_end": unix + 30 * 86400,
                        "cancel_at_period_end": False,
                        "trial_end": None,
                        "canceled_at": None,
                        "metadata": {
                            "accountId": f"acc_ingest_{i}",
                            "paymentAttemptId": f"pa_ingest_{i}",
                            "planId": "pro_monthly",
                        },
                        "created": unix,
                        "updated": unix * 1000,
                    }
                },
            },
            separators=(",", ":"),
        ).encode()
        message_id = f"msg_bench_{i}"
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(message_id, now, body.decode()),
        }
        unique.append((body, headers))
        events.append((body, headers))
        if every_nth_again and i % every_nth_again == every_nth_again - 1:
            events.append(unique[max(i - 5, 0)])
    return events


async def ingest_counts(url: str, *, wait_seconds: float = 60) -> dict[str, int]:
    """Inbox rows, applied rows and audit rows of the benchmark's events, once the worker
    has applied what is due (or ``wait_seconds`` have passed)."""
    engine = create_engine(url)
    like = f"{EVENT_PREFIX}%"
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            async with engine.connect() as connection:
                pending = await connection.scalar(
                    select(func.count())
                    .select_from(WebhookInboxEvent)
                    .where(
                        WebhookInboxEvent.event_id.like(like),
                        WebhookInboxEvent.status == InboxStatus.PENDING,
                    )
                )
                await connection.rollback()
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        async with engine.connect() as connection:
            counts = {
                "stored": await connection.scalar(
                    select(func.count()).where(WebhookInboxEvent.event_id.like(like))
                ),
                "storedDistinct": await connection.scalar(
                    select(func.count(func.distinct(WebhookInboxEvent.event_id))).where(
                        WebhookInboxEvent.event_id.like(like)
                    )
                ),
                "applied": await connection.scalar(
                    select(func.count()).where(
                        WebhookInboxEvent.event_id.like(like),
                        WebhookInboxEvent.status == InboxStatus.APPLIED,
                    )
                ),
                "pending": pending,
                # One audit row per application: more than one per event would be a double apply.
                "auditRows": await connection.scalar(
                    select(func.count()).where(SubscriptionChange.source.like(f"webhook:{like}"))
                ),
                "subscriptions": await connection.scalar(
                    select(func.count()).where(
                        Subscription.provider_subscription_id.like("sub_ingest_%")
                    )
                ),
            }
            await connection.rollback()
        return {key: int(value or 0) for key, value in counts.items()}
    finally:
        await engine.dispose()


async def wait_for_deliveries(url: str, *, wait_seconds: float = 120) -> int:
    """Wait until the outbox has delivered every announcement (or ``wait_seconds`` have
    passed); how many are still undelivered."""
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            async with engine.connect() as connection:
                undelivered = await connection.scalar(
                    select(func.count()).where(OutboxMessage.delivered_at.is_(None))
                )
                await connection.rollback()
            if not undelivered or time.monotonic() > deadline:
                return int(undelivered or 0)
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
