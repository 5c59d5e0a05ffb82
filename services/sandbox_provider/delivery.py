"""Sending the outbox: signed per Standard Webhooks, retried with backoff.

The common outbound sender (``services/common/outbound.py``) does the work: an
event is claimed with a short lease (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two sandbox processes do not both take it), sent outside any
transaction, and its result recorded. A sender that dies mid-send leaves a lease
that simply runs out, and the event is sent again: receivers must accept
duplicates anyway. Events sharing an ordering key (one subscription, one session)
go one at a time in the order they were recorded; a failing one holds back the
ones behind it, so a receiver never sees a later state before an earlier one.

Retry timing is on the real clock, not the sandbox clock: the receiver being
down is a real-world fact that the test clock must not skip over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence, Set
from datetime import datetime

import httpx
import structlog
from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from services.common.outbound import (
    Claimed,
    FlushResult,
    OutboundSender,
    OutboxColumns,
    RetryPolicy,
    SendResult,
    claim_rows,
)
from services.common.outbound import backoff_seconds as _common_backoff
from services.common.settings import Settings
from services.common.types import utcnow
from services.sandbox_provider.config import SandboxConfig, webhook_target
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import DeliveryStatus, WebhookEvent

log = structlog.get_logger("gw_stack.sandbox.webhooks")

__all__ = ["FlushResult", "WebhookSender", "backoff_seconds", "list_events", "run_delivery"]


def backoff_seconds(attempts: int, config: SandboxConfig) -> float:
    """The common backoff with the sandbox's configured base and cap."""
    return _common_backoff(
        attempts,
        base_seconds=config.webhook_backoff_base_seconds,
        max_seconds=config.webhook_backoff_max_seconds,
    )


_COLUMNS = OutboxColumns(
    key=WebhookEvent.seq,
    lease_until=WebhookEvent.lease_until,
    next_attempt_at=WebhookEvent.next_attempt_at,
)


class _SandboxOutbox:
    """The sandbox's ``webhook_events`` table as an outbox for the common sender.

    Events sharing an ordering key (one subscription, one session) go one at a time
    in the order they were recorded; a failing one holds back the ones behind it,
    so a receiver never sees a later state before an earlier one.
    """

    def __init__(self, url: str) -> None:
        self._url = url

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
        earlier = aliased(WebhookEvent)
        held_back = exists().where(
            earlier.ordering_key == WebhookEvent.ordering_key,
            earlier.status == DeliveryStatus.PENDING,
            earlier.seq < WebhookEvent.seq,
        )
        rows = await claim_rows(
            session,
            WebhookEvent,
            _COLUMNS,
            waiting=(WebhookEvent.status == DeliveryStatus.PENDING, ~held_back),
            now=now,
            lease_until=lease_until,
            include_scheduled=include_scheduled,
            exclude=exclude,
            limit=limit,
        )
        return [Claimed(row.seq, row.id, self._url, row.payload, row.attempts) for row in rows]

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Claimed, SendResult]]
    ) -> None:
        for claimed, result in sent:
            values = result.bookkeeping()
            if result.delivered:
                values.update(status=DeliveryStatus.DELIVERED, delivered_at=utcnow())
            elif result.given_up:
                values.update(status=DeliveryStatus.FAILED)
            else:
                values.update(next_attempt_at=result.next_attempt_at)
            await session.execute(
                update(WebhookEvent).where(WebhookEvent.seq == claimed.key).values(**values)
            )


class WebhookSender:
    """The sandbox's provider webhooks, sent by the common outbound sender."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        config: SandboxConfig,
        client: httpx.AsyncClient,
    ) -> None:
        self._sessions = sessions
        self._sender = OutboundSender(
            sessions,
            _SandboxOutbox(webhook_target(settings, config)),
            client,
            secret=settings.webhook_secret.get_secret_value(),
            policy=RetryPolicy(
                base_seconds=config.webhook_backoff_base_seconds,
                max_seconds=config.webhook_backoff_max_seconds,
                max_attempts=config.webhook_max_attempts,
            ),
            timeout_seconds=config.webhook_timeout_seconds,
            user_agent="gw_stack-sandbox-provider/0.1",
        )

    async def deliver_due(self, *, include_scheduled: bool = False) -> FlushResult:
        """Send every event that is due (with ``include_scheduled``: also those waiting
        out a backoff), each at most once per call, until none is left."""
        return await self._sender.deliver_due(include_scheduled=include_scheduled)

    async def pending_count(self) -> int:
        async with transaction(self._sessions) as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.status == DeliveryStatus.PENDING)
            )
        return int(count or 0)


async def run_delivery(sender: WebhookSender, poll_seconds: float) -> None:
    """The delivery worker: send what is due, sleep a little, forever."""
    while True:
        try:
            await sender.deliver_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery round failed")
        await asyncio.sleep(poll_seconds)


async def list_events(
    session: AsyncSession, *, limit: int, event_type: str | None
) -> Sequence[WebhookEvent]:
    query = select(WebhookEvent).order_by(WebhookEvent.seq.desc()).limit(limit)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    return (await session.scalars(query)).all()
