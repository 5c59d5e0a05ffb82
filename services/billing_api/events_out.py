"""Billing events to subscribers (the planner): a durable outbox, Standard Webhooks signed.

A ``subscription.updated`` message is written in the same transaction as the
change it announces, one row per subscriber, so a change is never committed
without its announcement nor announced without being committed. Delivery
retries with exponential backoff until the subscriber answers 2xx.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import timedelta

import httpx
import standardwebhooks
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.models import OutboxMessage, Subscription
from services.billing_api.schemas import subscription_out
from services.common.ids import new_id
from services.common.types import utcnow

log = structlog.get_logger("gw_stack.billing_events")

MAX_BACKOFF = timedelta(hours=1)
BATCH = 50
# About a day of hourly retries; after that a message waits for a person (last_error says why).
MAX_DELIVERY_ATTEMPTS = 40


def announce_subscription(
    session: AsyncSession, subscription: Subscription, subscribers: Sequence[str]
) -> None:
    now = utcnow()
    payload = json.dumps(
        {
            "type": "subscription.updated",
            "timestamp": now.isoformat(),
            "data": {
                "accountId": subscription.account_id,
                "subscription": subscription_out(subscription).model_dump(
                    mode="json", by_alias=True
                ),
            },
        },
        separators=(",", ":"),
    )
    for url in subscribers:
        session.add(
            OutboxMessage(
                message_id=new_id("msg"),
                event_type="subscription.updated",
                account_id=subscription.account_id,
                subscriber_url=url,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
        )


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at an hour, with jitter so retries do not arrive in step."""
    base = min(2 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient, secret: str
) -> int:
    """Send every message that is due; returns how many were delivered."""
    signer = standardwebhooks.Webhook(secret)
    async with sessions() as session:
        due = (
            await session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.delivered_at.is_(None),
                    OutboxMessage.next_attempt_at <= utcnow(),
                    OutboxMessage.attempts < MAX_DELIVERY_ATTEMPTS,
                )
                .order_by(OutboxMessage.id)
                .limit(BATCH)
            )
        ).all()
    delivered = 0
    for message in due:
        error = await _send(client, signer, message)
        async with sessions() as session, session.begin():
            row = await session.get(OutboxMessage, message.id, with_for_update=True)
            if row is None or row.delivered_at is not None:
                continue
            row.attempts += 1
            if error is None:
                row.delivered_at = utcnow()
                delivered += 1
            else:
                row.last_error = error
                row.next_attempt_at = utcnow() + backoff(row.attempts)
                log.warning(
                    "billing event not delivered",
                    subscriber=row.subscriber_url,
                    attempts=row.attempts,
                    error=error,
                )
    return delivered


async def _send(
    client: httpx.AsyncClient, signer: standardwebhooks.Webhook, message: OutboxMessage
) -> str | None:
    now = utcnow()
    signature = signer.sign(message.message_id, now, message.payload)
    try:
        response = await client.post(
            message.subscriber_url,
            content=message.payload.encode(),
            headers={
                "content-type": "application/json",
                "webhook-id": message.message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signature,
            },
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}"
    if response.status_code // 100 != 2:
        return f"HTTP {response.status_code}"
    return None
