"""Sending the outbox: signed per Standard Webhooks, retried with backoff.

An event is claimed with a short lease (``SELECT … FOR UPDATE SKIP LOCKED`` on
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
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import structlog
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from services.common.settings import Settings
from services.common.types import utcnow
from services.sandbox_provider.config import SandboxConfig, webhook_target
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import DeliveryStatus, WebhookEvent

log = structlog.get_logger("gw_stack.sandbox.webhooks")

_LEASE_MARGIN_SECONDS = 5.0
_jitter = secrets.SystemRandom()


def backoff_seconds(attempts: int, config: SandboxConfig) -> float:
    """Delay after the ``attempts``-th failure: doubling up to a cap, then ±20% jitter so
    many events failing together do not all come back at the same moment."""
    nominal = min(
        config.webhook_backoff_max_seconds,
        config.webhook_backoff_base_seconds * 2.0 ** min(attempts - 1, 40),
    )
    return nominal * _jitter.uniform(0.8, 1.2)


@dataclass
class FlushResult:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    seen: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Claimed:
    seq: int
    id: str
    type: str
    payload: str
    attempts: int


class WebhookSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        config: SandboxConfig,
        client: httpx.AsyncClient,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._config = config
        self._client = client

    async def deliver_due(self, *, include_scheduled: bool = False) -> FlushResult:
        """Send every event that is due (with ``include_scheduled``: also those waiting
        out a backoff), each at most once per call, until none is left."""
        result = FlushResult()
        while event := await self._claim_next(include_scheduled, exclude=result.seen):
            result.seen.add(event.seq)
            result.attempted += 1
            if await self._send(event):
                result.delivered += 1
            else:
                result.failed += 1
        return result

    async def pending_count(self) -> int:
        async with transaction(self._sessions) as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.status == DeliveryStatus.PENDING)
            )
        return int(count or 0)

    async def _claim_next(self, include_scheduled: bool, *, exclude: set[int]) -> _Claimed | None:
        # One at a time: events go out in the order they were recorded, and a lease
        # only has to outlast one request.
        now = utcnow()
        earlier = aliased(WebhookEvent)
        held_back = exists().where(
            earlier.ordering_key == WebhookEvent.ordering_key,
            earlier.status == DeliveryStatus.PENDING,
            earlier.seq < WebhookEvent.seq,
        )
        query = (
            select(WebhookEvent)
            .where(
                WebhookEvent.status == DeliveryStatus.PENDING,
                or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now),
                ~held_back,
            )
            .order_by(WebhookEvent.seq)
            .limit(1)
            .with_for_update(skip_locked=True, of=WebhookEvent)
        )
        if not include_scheduled:
            query = query.where(WebhookEvent.next_attempt_at <= now)
        if exclude:
            query = query.where(WebhookEvent.seq.not_in(exclude))
        lease_until = now + timedelta(
            seconds=self._config.webhook_timeout_seconds + _LEASE_MARGIN_SECONDS
        )
        async with transaction(self._sessions) as session:
            row = await session.scalar(query)
            if row is None:
                return None
            row.lease_until = lease_until
            return _Claimed(row.seq, row.id, row.type, row.payload, row.attempts)

    def _signed_headers(self, event: _Claimed) -> dict[str, str]:
        # The signature's timestamp is the real time of this attempt: receivers reject
        # stale ones, and a retry days later must still verify.
        sent_at = utcnow()
        signer = Webhook(self._settings.webhook_secret.get_secret_value())
        return {
            "content-type": "application/json",
            "user-agent": "gw_stack-sandbox-provider/0.1",
            "webhook-id": event.id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(event.id, sent_at, event.payload),
        }

    async def _send(self, event: _Claimed) -> bool:
        url = webhook_target(self._settings, self._config)
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                url,
                content=event.payload.encode(),
                headers=self._signed_headers(event),
                timeout=self._config.webhook_timeout_seconds,
            )
            status_code = response.status_code
            if not response.is_success:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        await self._record(event, status_code=status_code, error=error)
        return error is None

    async def _record(self, event: _Claimed, *, status_code: int | None, error: str | None) -> None:
        now = utcnow()
        attempts = event.attempts + 1
        values: dict[str, object] = {
            "attempts": attempts,
            "lease_until": None,
            "last_status_code": status_code,
            "last_error": error,
        }
        if error is None:
            values.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
            log.info("webhook delivered", event_id=event.id, type=event.type, attempts=attempts)
        elif attempts >= self._config.webhook_max_attempts:
            values.update(status=DeliveryStatus.FAILED)
            log.warning("webhook given up", event_id=event.id, type=event.type, error=error)
        else:
            delay = backoff_seconds(attempts, self._config)
            values.update(next_attempt_at=now + timedelta(seconds=delay))
            log.info(
                "webhook failed, will retry",
                event_id=event.id,
                type=event.type,
                error=error,
                retry_in_s=round(delay, 2),
            )
        async with transaction(self._sessions) as session:
            await session.execute(
                update(WebhookEvent).where(WebhookEvent.seq == event.seq).values(**values)
            )


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
