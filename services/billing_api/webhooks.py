"""Provider webhooks: verify, store durably, then apply exactly once.

The raw body is verified before anything is parsed; a verified event is written
to the inbox (unique on provider + event id) before we answer 2xx, so an event
we acknowledged is never lost. Usually the row goes in already applied, in the
transaction of the event's effects (one transaction per event). A retry flips
the inbox row from pending to applied with a conditional UPDATE in the same
transaction as the event's effects: two appliers (a retrying worker, a second
replica) cannot both win, and a crash mid-apply rolls both back for the worker
to retry.

An event that can never apply (a shape or a value our records cannot hold) is a
dead letter: marked failed with the reason at once, not retried, listed by
``gwstack billing inbox --failed`` and retried on demand by ``replay`` after a fix.
Transient failures back off and, after ``MAX_APPLY_ATTEMPTS``, become dead letters too,
so nothing stays pending for ever.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import structlog
from sqlalchemy import Insert, Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession

from services.billing_api import direct_ingest
from services.billing_api.context import BillingContext
from services.billing_api.events_out import backoff
from services.billing_api.lifecycle import (
    apply_subscription_state,
    new_subscription,
    settle_checkout,
)
from services.billing_api.models import InboxStatus, PaymentAttempt, WebhookInboxEvent
from services.billing_api.provider_adapter import (
    EventKind,
    ProviderEvent,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
    check_event,
)
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.types import utcnow

log = structlog.get_logger("gw_stack.webhooks")

MAX_DUE_BATCH = 100
# After this many failed applications an event stops being retried and waits for a person.
MAX_APPLY_ATTEMPTS = 25
# Failures that another try cannot change: the event itself is the problem.
_PERMANENT = (WebhookPayloadInvalid, DataError)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    duplicate: bool


async def receive(
    context: BillingContext, provider_name: str, body: bytes, headers: Mapping[str, str]
) -> Receipt:
    if provider_name != context.provider.name:
        raise AppError(ErrorCode.PROVIDER_NOT_CONFIGURED, details={"provider": provider_name})
    try:
        event = context.provider.parse_webhook(body, headers)
        # Whatever the provider: a value our columns cannot hold is refused before we
        # store it, never acknowledged and then failed on every retry.
        check_event(event)
    except WebhookSignatureInvalid as exc:
        log.warning("webhook signature refused", provider=provider_name, reason=str(exc))
        raise AppError(ErrorCode.WEBHOOK_SIGNATURE_INVALID) from exc
    except WebhookPayloadInvalid as exc:
        log.warning("webhook payload refused", provider=provider_name, reason=str(exc))
        raise AppError(ErrorCode.WEBHOOK_PAYLOAD_INVALID) from exc

    try:
        # The usual event, a new subscription, straight through the driver; if the
        # subscription is recorded already (or anything fails) nothing was written and
        # the general path below decides.
        direct = await _store_new_subscription(context, provider_name, event, body)
        if direct is not None:
            return direct
    except Exception:
        log.warning("direct ingest failed; taking the general path", exc_info=True)
    try:
        # The usual case in one transaction: the row goes in already settled, together
        # with the event's effects, so it is stored once and applied once, atomically. A
        # duplicate finds the row (on PostgreSQL it waits for a concurrent first insert to
        # commit or roll back) and changes nothing.
        async with context.sessions() as session, session.begin():
            inserted = await _store(session, provider_name, event, body, _settled_status(event))
            if inserted is None:
                return Receipt(event.event_id, duplicate=True)
            await _apply(context, session, event)
        return Receipt(event.event_id, duplicate=False)
    except Exception as exc:
        failure = exc
    # Applying failed and took the row with it: store the event pending (unless a
    # concurrent delivery stored it meanwhile) and record why; the worker retries. If
    # storing fails too, the error answers 5xx and the provider resends.
    async with context.sessions() as session, session.begin():
        inserted = await _store(session, provider_name, event, body, InboxStatus.PENDING)
    if inserted is None:
        return Receipt(event.event_id, duplicate=True)
    await _record_failure(context, inserted, failure)
    # Stored and acknowledged; the worker retries. The provider must not resend for this.
    log.error("webhook apply failed; will retry", event_id=event.event_id, error=repr(failure))
    return Receipt(event.event_id, duplicate=False)


async def _store_new_subscription(
    context: BillingContext, provider_name: str, event: ProviderEvent, body: bytes
) -> Receipt | None:
    """A first report of a subscription stored with its effects in one transaction on
    the driver (``direct_ingest``); None when it is not that (the general path decides)."""
    if not _reports_new_subscription(event) or event.subscription is None:
        return None
    new = new_subscription(
        event.subscription,
        provider=context.provider.name,
        source=_source(event),
        subscribers=context.settings.events_subscribers,
    )
    inbox = _inbox_row(provider_name, event, body, InboxStatus.APPLIED)
    stored = await direct_ingest.store_new_subscription(context.write_engine, inbox, new)
    if stored is direct_ingest.Stored.RECORDED_BEFORE:
        return None
    return Receipt(event.event_id, duplicate=stored is direct_ingest.Stored.DUPLICATE)


async def _store(
    session: AsyncSession,
    provider_name: str,
    event: ProviderEvent,
    body: bytes,
    status: InboxStatus,
) -> int | None:
    """Insert once per (provider, event id); None when we already had it.

    ``status`` is pending, or already settled when the effects go in the same transaction.
    """
    assert session.bind is not None, "sessions are bound to their engine"
    row = _inbox_row(provider_name, event, body, status)
    inserted: int | None = await session.scalar(_inbox_insert(session.bind.dialect.name), row)
    return inserted


def _inbox_row(
    provider_name: str, event: ProviderEvent, body: bytes, status: InboxStatus
) -> dict[str, object]:
    """The event's inbox row, every column but the key."""
    now = utcnow()
    return {
        "provider": provider_name,
        "event_id": event.event_id,
        "event_type": event.type,
        # Verified bytes; PostgreSQL text cannot hold NUL, which no JSON needs raw.
        "payload": body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
        "status": status,
        "attempts": 0,
        "last_error": None,
        "received_at": now,
        "next_attempt_at": now,
        "applied_at": None if status == InboxStatus.PENDING else now,
    }


@functools.cache
def _inbox_insert(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT (provider, event_id) DO NOTHING RETURNING id, built once per
    dialect: building it per event, with its cache key, cost more CPU than running it."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(_INBOX)
        .values({name: bindparam(name) for name in _INBOX_COLUMNS})
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(_INBOX.c.id)
    )


_INBOX = cast(Table, WebhookInboxEvent.__table__)
_INBOX_COLUMNS = (
    "provider",
    "event_id",
    "event_type",
    "payload",
    "status",
    "attempts",
    "last_error",
    "received_at",
    "next_attempt_at",
    "applied_at",
)


async def apply_stored(context: BillingContext, inbox_id: int) -> bool:
    """Apply one stored event if it is still pending. Returns whether this call applied it."""
    async with context.sessions() as session:
        row = await session.get(WebhookInboxEvent, inbox_id)
    if row is None or row.status != InboxStatus.PENDING:
        return False
    try:
        # Verified when it arrived; the signature's timestamp would be stale on a later retry.
        event = context.provider.read_event(row.payload.encode())
        check_event(event)
        async with context.sessions() as session, session.begin():
            claimed = await session.execute(
                update(WebhookInboxEvent)
                .where(
                    WebhookInboxEvent.id == inbox_id,
                    WebhookInboxEvent.status == InboxStatus.PENDING,
                )
                .values(status=_settled_status(event), applied_at=utcnow(), last_error=None)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return False  # another applier got there first
            await _apply(context, session, event)
    except Exception as exc:
        await _record_failure(context, inbox_id, exc)
        raise
    return True


def _settled_status(event: ProviderEvent) -> InboxStatus:
    """Kept either way; an event we do not act on is marked so, not mistaken for an effect."""
    return InboxStatus.IGNORED if event.kind == EventKind.IGNORED else InboxStatus.APPLIED


def _reports_new_subscription(event: ProviderEvent) -> bool:
    """The provider says it created the subscription: most likely one we never recorded."""
    return event.kind == EventKind.SUBSCRIPTION_CHANGED and event.type.endswith(".created")


def _source(event: ProviderEvent) -> str:
    """What the audit row names as the cause of a change."""
    return f"webhook:{event.event_id}"[:40]


async def _apply(context: BillingContext, session: AsyncSession, event: ProviderEvent) -> None:
    if event.kind == EventKind.SUBSCRIPTION_CHANGED and event.subscription is not None:
        await apply_subscription_state(
            session,
            event.subscription,
            provider=context.provider.name,
            source=_source(event),
            subscribers=context.settings.events_subscribers,
            likely_new=_reports_new_subscription(event),
        )
    elif event.kind == EventKind.CHECKOUT_SETTLED and event.checkout is not None:
        attempt = await session.scalar(
            select(PaymentAttempt)
            .where(PaymentAttempt.provider_session_id == event.checkout.session_id)
            .with_for_update()
        )
        if attempt is None:
            log.warning("checkout event for a session we never recorded", event_id=event.event_id)
            return
        await settle_checkout(session, attempt, event.checkout)


async def _record_failure(context: BillingContext, inbox_id: int, exc: Exception) -> None:
    async with context.sessions() as session, session.begin():
        row = await session.get(WebhookInboxEvent, inbox_id, with_for_update=True)
        if row is None or row.status != InboxStatus.PENDING:
            return
        row.attempts += 1
        # The reason is for the operator; exceptions carry no secrets (bodies are not in them).
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, _PERMANENT) or row.attempts >= MAX_APPLY_ATTEMPTS:
            row.status = InboxStatus.FAILED
            log.error(
                "webhook event dead-lettered",
                event_id=row.event_id,
                attempts=row.attempts,
                reason=row.last_error,
            )
        else:
            row.next_attempt_at = utcnow() + backoff(row.attempts)


async def apply_due(context: BillingContext) -> int:
    """The worker's pass: apply every pending event that is due, oldest first."""
    async with context.reads() as session:
        due = (
            await session.scalars(
                select(WebhookInboxEvent.id)
                .where(
                    WebhookInboxEvent.status == InboxStatus.PENDING,
                    WebhookInboxEvent.next_attempt_at <= utcnow(),
                )
                .order_by(WebhookInboxEvent.received_at, WebhookInboxEvent.id)
                .limit(MAX_DUE_BATCH)
            )
        ).all()
    applied = 0
    for inbox_id in due:
        try:
            applied += await apply_stored(context, inbox_id)
        except Exception:
            log.exception("webhook apply failed; will retry", inbox_id=inbox_id)
    return applied


async def failed_events(context: BillingContext, *, limit: int = 100) -> list[WebhookInboxEvent]:
    """The dead letters, newest first."""
    async with context.sessions() as session:
        rows = await session.scalars(
            select(WebhookInboxEvent)
            .where(WebhookInboxEvent.status == InboxStatus.FAILED)
            .order_by(WebhookInboxEvent.received_at.desc(), WebhookInboxEvent.id.desc())
            .limit(limit)
        )
        return list(rows.all())


async def replay(context: BillingContext, event_id: str) -> InboxStatus | None:
    """Try a dead-lettered event again now (after a fix); its status afterwards, or None
    when no such failed event exists. An applied event is never applied twice."""
    async with context.sessions() as session, session.begin():
        row = await session.scalar(
            select(WebhookInboxEvent)
            .where(
                WebhookInboxEvent.provider == context.provider.name,
                WebhookInboxEvent.event_id == event_id,
                WebhookInboxEvent.status == InboxStatus.FAILED,
            )
            .with_for_update()
        )
        if row is None:
            return None
        row.status = InboxStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = utcnow()
        inbox_id = row.id
    try:
        await apply_stored(context, inbox_id)
    except Exception:
        log.warning("replayed webhook failed again", event_id=event_id)
    async with context.sessions() as session:
        status = await session.scalar(
            select(WebhookInboxEvent.status).where(WebhookInboxEvent.id == inbox_id)
        )
    return InboxStatus(status) if status is not None else None
