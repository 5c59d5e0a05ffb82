"""Webhook ingest stores and applies in one transaction: still once per event, under
concurrent deliveries of the same and of different events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api.models import (
    InboxStatus,
    OutboxMessage,
    Subscription,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.settings import Settings
from tests.billing_api.sandbox_events import envelope, signed_headers, subscription_object

HOOK = "/api/billing/webhooks/stub"


async def _count(app: FastAPI, statement: Any) -> int:
    async with app.state.billing.reads() as session:
        return int(await session.scalar(statement) or 0)


async def test_the_same_event_delivered_at_once_is_stored_and_applied_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    body = envelope(
        "customer.subscription.created",
        subscription_object("sub_race", "active", updated_ms=int(time.time() * 1000)),
        event_id="evt_race",
    )
    answers = await asyncio.gather(
        *(client.post(HOOK, content=body, headers=signed_headers(body, settings)) for _ in range(6))
    )
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 5
    row = select(WebhookInboxEvent.status).where(WebhookInboxEvent.event_id == "evt_race")
    async with app.state.billing.reads() as session:
        assert (await session.scalars(row)).all() == [InboxStatus.APPLIED]
    assert await _count(app, select(func.count()).select_from(Subscription)) == 1
    assert await _count(app, select(func.count()).select_from(SubscriptionChange)) == 1
    assert await _count(app, select(func.count()).select_from(OutboxMessage)) == 1


async def test_concurrent_events_are_each_applied_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    now = int(time.time() * 1000)
    bodies = [
        envelope(
            "customer.subscription.created",
            subscription_object(f"sub_{i}", "active", updated_ms=now, account=f"acc_{i}"),
            event_id=f"evt_{i}",
        )
        for i in range(8)
    ]
    answers = await asyncio.gather(
        *(client.post(HOOK, content=b, headers=signed_headers(b, settings)) for b in bodies * 2)
    )
    assert all(a.status_code == 200 for a in answers)
    assert sum(a.json()["duplicate"] for a in answers) == 8
    applied = select(func.count()).where(WebhookInboxEvent.status == InboxStatus.APPLIED)
    assert await _count(app, applied) == 8
    assert await _count(app, select(func.count()).select_from(SubscriptionChange)) == 8


async def test_a_created_event_for_a_subscription_already_recorded_updates_it(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    # A "created" event tries its insert first; when the subscription is there (another
    # delivery, or a poll, recorded it), it must update that row, never add a second.
    now = int(time.time() * 1000)
    reports = [("trialing", now, "evt_first"), ("active", now + 1000, "evt_newer")]
    reports.append(("canceled", now - 1000, "evt_older"))
    bodies = [
        envelope(
            "customer.subscription.created",
            subscription_object("sub_twice", status, updated_ms=at),
            event_id=event_id,
        )
        for status, at, event_id in reports
    ]
    for body in bodies:
        answer = await client.post(HOOK, content=body, headers=signed_headers(body, settings))
        assert answer.status_code == 200
        assert answer.json()["duplicate"] is False
    async with app.state.billing.reads() as session:
        statuses = (await session.scalars(select(Subscription.status))).all()
    assert statuses == ["active"]  # the newer report won; the older one changed nothing
    assert await _count(app, select(func.count()).select_from(SubscriptionChange)) == 2
    applied = select(func.count()).where(WebhookInboxEvent.status == InboxStatus.APPLIED)
    assert await _count(app, applied) == 3
