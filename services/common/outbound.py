"""Sending signed webhooks from a durable outbox: claim with a lease, sign, post, record.

The one sender behind the sandbox's provider webhooks and billing_api's billing
events. Messages are claimed with a short lease in their own transaction (``SELECT …
FOR UPDATE SKIP LOCKED`` on PostgreSQL, so replicas passing over the same table
take different rows; SQLite's write lock at BEGIN does the same), a batch of them
(``batch``, 1 unless a table says otherwise) at a time, sent outside any
transaction, concurrently, and their results recorded together. Never send first
and lock afterwards: two replicas would both send. A sender that dies mid-send
leaves a lease that runs out, and the message is sent again, so delivery is at
least once and receivers dedupe on ``webhook-id``; without a crash each message is
sent once.

What differs between outboxes is each table's ``OutboxTable``: which rows still
wait for a send (billing_api's outbox: not delivered and under its attempt limit;
the sandbox's: pending and not held back behind an earlier event of the same
object), where a message goes, and what columns record a result. Those are
parameters of the one claim query here (``claim_rows``: lease, due time, order,
``SKIP LOCKED``); the flow, the signature, the HTTP call and the one backoff
function are here too.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import httpx
import structlog
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from services.common import signing
from services.common.types import utcnow

log = structlog.get_logger("gw_stack.outbound")

_LEASE_MARGIN_SECONDS = 5.0
_jitter = secrets.SystemRandom()


def backoff_seconds(attempts: int, *, base_seconds: float, max_seconds: float) -> float:
    """Delay after the ``attempts``-th failure: doubling from ``base_seconds`` up to
    ``max_seconds``, then ±20% jitter so many messages failing together do not all
    come back at the same moment."""
    nominal = min(max_seconds, base_seconds * 2.0 ** min(max(attempts - 1, 0), 40))
    return nominal * _jitter.uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float
    max_attempts: int  # after this many failed sends a message is given up (last_error says why)

    def delay(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=backoff_seconds(
                attempts, base_seconds=self.base_seconds, max_seconds=self.max_seconds
            )
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message this sender holds the lease on."""

    key: int  # the row's primary key
    message_id: str  # Standard Webhooks ``webhook-id``
    url: str
    payload: str
    attempts: int  # sends before this one


@dataclass(frozen=True, slots=True)
class SendResult:
    attempts: int  # sends including this one
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None  # when to try again; None once delivered or given up

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def given_up(self) -> bool:
        return self.error is not None and self.next_attempt_at is None

    def bookkeeping(self) -> dict[str, object]:
        """The columns every outbox table records after a send, its lease released."""
        return {
            "attempts": self.attempts,
            "lease_until": None,
            "last_status_code": self.status_code,
            "last_error": self.error,
        }


Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class OutboxColumns:
    """Where an outbox table keeps what the claim reads and writes."""

    key: InstrumentedAttribute[int]  # the primary key; also the sending order
    lease_until: InstrumentedAttribute[datetime | None]  # held by the sender posting it
    next_attempt_at: InstrumentedAttribute[datetime]  # due from then (a backoff pushes it on)


async def claim_rows(
    session: AsyncSession,
    model: type[Row],
    columns: OutboxColumns,
    *,
    waiting: Sequence[ColumnElement[bool]],
    now: datetime,
    lease_until: datetime,
    include_scheduled: bool,
    exclude: Set[int],
    limit: int,
) -> Sequence[Row]:
    """Lock the first ``limit`` rows (in key order) that are still ``waiting`` for a send,
    are due and are not leased to a live sender; lease them until ``lease_until`` and
    return them.

    ``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a replica claiming at the same moment
    takes the next rows instead of waiting for these. SQLite has no row locks and
    ignores the clause; there the write lock each claim's transaction takes at BEGIN
    lets one claimant at a time read and lease, which is the same guarantee.
    """
    lease = columns.lease_until
    query = (
        select(model)
        .where(*waiting, or_(lease.is_(None), lease < now))
        .order_by(columns.key)
        .limit(limit)
        .with_for_update(skip_locked=True, of=model)
    )
    if not include_scheduled:
        query = query.where(columns.next_attempt_at <= now)
    if exclude:
        query = query.where(columns.key.not_in(exclude))
    rows = (await session.scalars(query)).all()
    for row in rows:
        setattr(row, lease.key, lease_until)  # flushed with the claim's transaction
    return rows


class OutboxTable(Protocol):
    """How one outbox table is read and written; every call runs in the sender's transaction."""

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
        """Lock up to ``limit`` due rows, in sending order, set their lease to
        ``lease_until`` and return them; none when nothing is due. ``claim_rows`` does
        it, given what "waiting" means here."""
        ...

    async def record(
        self, session: AsyncSession, sent: Sequence[tuple[Claimed, SendResult]]
    ) -> None:
        """Store each result of a batch and release its lease."""
        ...


@dataclass
class FlushResult:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    # Attempted in this call and not delivered: not claimed again by the same call. (A
    # delivered message no longer waits, so it needs no exclusion: excluding every
    # message sent made each claim of a long backlog list all those before it, a
    # claim's cost growing with the pass.)
    not_delivered: set[int] = field(default_factory=set)


class OutboundSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: OutboxTable,
        client: httpx.AsyncClient,
        *,
        secret: str,
        policy: RetryPolicy,
        timeout_seconds: float,
        user_agent: str,
        batch: int = 1,
    ) -> None:
        """``batch``: how many messages one claim takes and posts at once (each to its own
        subscriber URL, concurrently), their results recorded in one transaction. One
        message at a time cost a claim and a record transaction, six or seven round
        trips, per message; a table whose receivers need one message at a time in order
        keeps 1."""
        self._batch = batch
        self._sessions = sessions
        self._table = table
        self._client = client
        self._secret = secret
        self._policy = policy
        self._timeout = timeout_seconds
        self._user_agent = user_agent

    async def deliver_due(self, *, include_scheduled: bool = False) -> FlushResult:
        """Send every message that is due (with ``include_scheduled``: also those waiting
        out a backoff), each at most once per call, until none is left."""
        result = FlushResult()
        while batch := await self._claim(include_scheduled, exclude=result.not_delivered):
            outcomes = await asyncio.gather(*(self._send(claimed) for claimed in batch))
            sent = list(zip(batch, outcomes, strict=True))
            async with self._sessions() as session, session.begin():
                await self._table.record(session, sent)
            self._log(sent)
            for claimed, outcome in sent:
                result.attempted += 1
                if outcome.delivered:
                    result.delivered += 1
                else:
                    result.failed += 1
                    result.not_delivered.add(claimed.key)
        return result

    async def _claim(self, include_scheduled: bool, *, exclude: Set[int]) -> Sequence[Claimed]:
        # A batch is sent all at once, so its leases only have to outlast one request.
        now = utcnow()
        lease_until = now + timedelta(seconds=self._timeout + _LEASE_MARGIN_SECONDS)
        async with self._sessions() as session, session.begin():
            return await self._table.claim_due(
                session,
                now=now,
                lease_until=lease_until,
                include_scheduled=include_scheduled,
                exclude=exclude,
                limit=self._batch,
            )

    async def _send(self, claimed: Claimed) -> SendResult:
        """Post one message; what happened, to be recorded with its batch's."""
        body = claimed.payload.encode()
        # The signature's timestamp is the real time of this attempt: receivers refuse
        # stale ones, and a retry hours later must still verify.
        headers = {
            "content-type": "application/json",
            "user-agent": self._user_agent,
            **signing.signed_headers(self._secret, claimed.message_id, body),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                claimed.url, content=body, headers=headers, timeout=self._timeout
            )
            status_code = response.status_code
            if not response.is_success:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        return self._result(claimed, status_code, error)

    def _result(self, claimed: Claimed, status_code: int | None, error: str | None) -> SendResult:
        attempts = claimed.attempts + 1
        next_attempt_at = None
        if error is not None and attempts < self._policy.max_attempts:
            next_attempt_at = utcnow() + self._policy.delay(attempts)
        return SendResult(attempts, status_code, error, next_attempt_at)

    def _log(self, sent: Sequence[tuple[Claimed, SendResult]]) -> None:
        # One line for a batch's deliveries (a line each cost more than its post's
        # bookkeeping); a line for each failure, with its reason.
        delivered = [claimed.message_id for claimed, result in sent if result.delivered]
        if delivered:
            log.info("webhooks delivered", count=len(delivered), message_ids=delivered)
        for claimed, result in sent:
            if result.delivered:
                continue
            fields = {
                "message_id": claimed.message_id,
                "url": claimed.url,
                "attempts": result.attempts,
                "error": result.error,
            }
            if result.given_up:
                log.warning("webhook given up", **fields)
            else:
                assert result.next_attempt_at is not None
                retry_in = (result.next_attempt_at - utcnow()).total_seconds()
                log.info("webhook failed, will retry", retry_s=retry_in, **fields)
