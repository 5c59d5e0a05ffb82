"""Billing events: concurrent delivery passes (replicas' workers) post each message once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
from fastapi import FastAPI

from services.billing_api.events_out import DELIVERY_BATCH, deliver_due
from services.billing_api.models import OutboxMessage
from services.common import signing
from services.common.ids import new_id
from services.common.settings import Settings
from services.common.types import utcnow


async def test_concurrent_passes_post_each_message_once(app: FastAPI, settings: Settings) -> None:
    # More than two claims' worth: each pass takes several batches, beside the others.
    messages = 2 * DELIVERY_BATCH + 6
    now = utcnow()
    async with app.state.billing.sessions() as session, session.begin():
        for _ in range(messages):
            message_id = new_id("msg")
            session.add(
                OutboxMessage(
                    message_id=message_id,
                    event_type="subscription.updated",
                    account_id="acc_alice",
                    subscriber_url="http://planner.test/internal/billing/events",
                    payload=json.dumps({"id": message_id}),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    secret = settings.billing_events_secret.get_secret_value()
    received: Counter[str] = Counter()

    async def subscriber(request: httpx.Request) -> httpx.Response:
        signing.verify(secret, request.content, request.headers, tolerance_seconds=60)
        received[request.headers["webhook-id"]] += 1
        await asyncio.sleep(0.01)  # a real request takes a while: the passes overlap
        return httpx.Response(204)

    async with httpx.AsyncClient(transport=httpx.MockTransport(subscriber)) as http:
        delivered = await asyncio.gather(
            *(deliver_due(app.state.billing.sessions, http, secret) for _ in range(3))
        )
    assert sum(delivered) == messages
    assert len(received) == messages
    assert set(received.values()) == {1}
