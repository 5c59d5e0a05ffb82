"""Billing events to subscribers (the planner): a durable outbox, Standard Webhooks signed.

A ``subscription.updated`` message is written in the same transaction as the
change it announces, one row per subscriber, so a change is never committed
without its announcement nor announced without being committed. Delivery
retries with exponential backoff until the subscriber answers 2xx. The common
outbound sender (``services/common/outbound.py``) claims each message with a lease
before it posts, so two replicas never send one message twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence, Set
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.models import OutboxMessage, Subscription
from services.billing_api.schemas import subscription_out
from services.common.ids import new_id
from services.common.outbound import (
    Claimed,
    OutboundSender,
    OutboxColumns,
    RetryPolicy,
    SendResult,
    claim_rows,
)
from services.common.types import UTCDateTime, utcnow

# About a day of hourly retries; after that a message waits for a person (last_error says why).
MAX_DELIVERY_ATTEMPTS = 40


def announcement_rows(
    subscription: Subscription, subscribers: Sequence[str]
) -> list[dict[str, Any]]:
    """The outbox rows announcing ``subscription`` as it now is, one per subscriber (every
    column but the key), for the transaction that records the change."""
    if not subscribers:
        return []
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
    return [
        {
            "message_id": new_id("msg"),
            "event_type": "subscription.updated",
            "account_id": subscription.account_id,
            "subscriber_url": url,
            "payload": payload,
            "attempts": 0,
            "last_error": None,
            "last_status_code": None,
            "created_at": now,
            "next_attempt_at": now,
            "lease_until": None,
            "delivered_at": None,
        }
        for url in subscribers
    ]


async def announce_subscription(
    session: AsyncSession, subscription: Subscription, subscribers: Sequence[str]
) -> None:
    await write_announcements(session, announcement_rows(subscription, subscribers))


async def write_announcements(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        # A Core insert: the messages are never read back in the transaction that writes them.
        await session.execute(_OUTBOX_INSERT, list(rows))


_OUTBOX_INSERT = insert(cast(Table, OutboxMessage.__table__))


# Outbound billing events: 1 s, 2 s, 4 s … capped at an hour, about a day in all.
RETRY = RetryPolicy(base_seconds=1.0, max_seconds=3600.0, max_attempts=MAX_DELIVERY_ATTEMPTS)
SEND_TIMEOUT_SECONDS = 5.0
# Messages claimed, posted (concurrently) and recorded together. The planner keeps the
# newest state it was told, so messages need no per-account order among themselves.
DELIVERY_BATCH = 16


def backoff(attempts: int) -> timedelta:
    """The delay before retrying after the ``attempts``-th failure (the common backoff)."""
    return RETRY.delay(attempts)


_COLUMNS = OutboxColumns(
    key=OutboxMessage.id,
    lease_until=OutboxMessage.lease_until,
    next_attempt_at=OutboxMessage.next_attempt_at,
)
# Waiting for a send: not delivered yet, and not given up (after the last attempt a
# message waits for a person; last_error says why).
_WAITING = (
    OutboxMessage.delivered_at.is_(None),
    OutboxMessage.attempts < MAX_DELIVERY_ATTEMPTS,
)


class _BillingOutbox:
    """``billing_outbox`` as an outbox for the common sender: due messages in the order
    they were written. The planner keeps the newest state it was told, so messages
    need no per-account ordering."""

    async def claim_due(
        self,
        session: AsyncSession,
        *,
        now: datetime,
        lease_until: datetime,
        include_scheduled: bool,
        exclude: Set[int],
        limit: int,
    ) -> Sequence[Claimed]:
        rows = await claim_rows(
            session,
            OutboxMessage,
            _COLUMNS,
            waiting=_WAITING,
            now=now,
            lease_until=lease_until,
            include_scheduled=include_scheduled,
            exclude=exclude,
            limit=limit,
        )
        return [
            Claimed(row.id, row.message_id, row.subscriber_url, row.payload, row.attempts)
            for row in rows
        ]

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Claimed, SendResult]]
    ) -> None:
        now = utcnow()
        # One statement for the batch (an executemany), built once.
        await session.execute(
            _RECORD,
            [
                {
                    "b_key": claimed.key,
                    "b_attempts": result.attempts,
                    "b_status_code": result.status_code,
                    "b_error": result.error,
                    "b_delivered_at": now if result.delivered else None,
                    # None keeps the time it had (delivered, or given up).
                    "b_next_attempt_at": result.next_attempt_at,
                }
                for claimed, result in sent
            ],
        )


_TABLE = cast(Table, OutboxMessage.__table__)
# What a send's result records (SendResult.bookkeeping's columns and ours), the lease released.
_RECORD = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_key"))
    .values(
        attempts=bindparam("b_attempts"),
        lease_until=None,
        last_status_code=bindparam("b_status_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered_at", type_=UTCDateTime()),
        next_attempt_at=func.coalesce(
            bindparam("b_next_attempt_at", type_=UTCDateTime()), _TABLE.c.next_attempt_at
        ),
    )
)


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    secret: str,
    *,
    reads: async_sessionmaker[AsyncSession] | None = None,
) -> int:
    """Send every message that is due, each claimed before it is sent (so replicas
    never send one twice); returns how many were delivered.

    With ``reads`` (the read-only sessions), a pass with nothing due ends after one
    plain read instead of a claiming write transaction: the worker's idle polls then
    never take SQLite's write lock away from requests.
    """
    if reads is not None and not await _anything_due(reads):
        return 0
    sender = OutboundSender(
        sessions,
        _BillingOutbox(),
        client,
        secret=secret,
        policy=RETRY,
        timeout_seconds=SEND_TIMEOUT_SECONDS,
        user_agent="gw_stack-billing-api/0.1",
        batch=DELIVERY_BATCH,
    )
    return (await sender.deliver_due()).delivered


async def _anything_due(reads: async_sessionmaker[AsyncSession]) -> bool:
    now = utcnow()
    async with reads() as session:
        first = await session.scalar(
            select(OutboxMessage.id)
            .where(
                *_WAITING,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            )
            .limit(1)
        )
    return first is not None
