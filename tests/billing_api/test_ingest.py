"""Webhook ingest stores and applies in one transaction: still once per event, under
concurrent deliveries of the same and of different events, and when a new subscription's
direct store fails part way."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api import lifecycle, webhooks
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


async def test_a_failure_inside_the_direct_store_writes_nothing_and_the_event_still_applies(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The new subscription's rows go straight to the driver; a statement failing after
    # the inbox row went in must take that row with it (the event would otherwise be
    # stored applied with no effect), and the session's path then applies it once.
    real = lifecycle.new_subscription

    def unstorable(*args: Any, **kwargs: Any) -> lifecycle.NewSubscription:
        new = real(*args, **kwargs)
        new.change["source"] = None  # NOT NULL: the audit insert fails
        return new

    monkeypatch.setattr(webhooks, "new_subscription", unstorable)
    now = int(time.time() * 1000)
    first = envelope(
        "customer.subscription.created",
        subscription_object("sub_fails", "active", updated_ms=now),
        event_id="evt_fails",
    )
    answer = await client.post(HOOK, content=first, headers=signed_headers(first, settings))
    assert answer.status_code == 200
    assert answer.json()["duplicate"] is False
    monkeypatch.setattr(webhooks, "new_subscription", real)
    # The connection the failure happened on serves the next event as usual.
    second = envelope(
        "customer.subscription.created",
        subscription_object("sub_after", "active", updated_ms=now, account="acc_after"),
        event_id="evt_after",
    )
    answer = await client.post(HOOK, content=second, headers=signed_headers(second, settings))
    assert answer.status_code == 200
    async with app.state.billing.reads() as session:
        inbox = (
            await session.execute(select(WebhookInboxEvent.event_id, WebhookInboxEvent.status))
        ).all()
        sources = (await session.scalars(select(SubscriptionChange.source))).all()
    assert sorted(inbox) == [("evt_after", InboxStatus.APPLIED), ("evt_fails", InboxStatus.APPLIED)]
    assert sorted(sources) == ["webhook:evt_after", "webhook:evt_fails"]
    assert await _count(app, select(func.count()).select_from(Subscription)) == 2
    assert await _count(app, select(func.count()).select_from(OutboxMessage)) == 2
