"""Checkout sessions: opened by the API, paid or abandoned on the hosted page.

A session is settled exactly once. Every transition out of ``open`` is a
conditional ``UPDATE … WHERE outcome = 'open'``, so a double click, two tabs or
two sandbox processes cannot pay a session twice or pay one that has just
expired; whoever loses the race sees the settled session instead.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.types import utcnow
from services.sandbox_provider.cards import EnteredCard
from services.sandbox_provider.clock import unix_ms
from services.sandbox_provider.errors import CheckoutSessionNotFound
from services.sandbox_provider.models import CardBehavior, CheckoutSession, Outcome
from services.sandbox_provider.outbox import record_event
from services.sandbox_provider.schemas import CheckoutSessionCreate, CheckoutSessionObject
from services.sandbox_provider.subscriptions import start_subscription

DEFAULT_LIFETIME = timedelta(hours=24)


def create_session(
    session: AsyncSession, body: CheckoutSessionCreate, *, now: datetime, public_base_url: str
) -> CheckoutSession:
    """Open a session.

    ``expires_at`` is read as a lifetime from the real clock: callers such as
    billing_api compute it from real time and do not know the sandbox clock, and
    after a test-clock advance their deadline would already be in the sandbox's past.
    """
    if body.expires_at is None:
        lifetime = DEFAULT_LIFETIME
    else:
        lifetime = timedelta(seconds=body.expires_at - utcnow().timestamp())
        if lifetime <= timedelta(0):
            raise AppError(
                ErrorCode.VALIDATION_ERROR,
                "expires_at must be in the future.",
                details={"problems": [{"field": "expires_at", "problem": "in the past"}]},
            )
    session_id = new_id("cs")
    row = CheckoutSession(
        id=session_id,
        outcome=Outcome.OPEN,
        url=f"{public_base_url.rstrip('/')}/checkout/{session_id}",
        client_reference_id=body.client_reference_id,
        meta=dict(body.metadata),
        plan=body.plan.model_dump(),
        success_url=body.success_url,
        cancel_url=body.cancel_url,
        locale=body.locale,
        form_token=secrets.token_urlsafe(24),
        awaiting_3ds=False,
        expires_at=now + lifetime,
        created_at=now,
        updated_ms=unix_ms(now),
    )
    session.add(row)
    return row


async def list_sessions(
    session: AsyncSession,
    *,
    created_since: datetime | None,
    starting_after: str | None,
    limit: int,
    now: datetime,
) -> tuple[list[CheckoutSession], bool]:
    """Sessions newest first (Stripe's order), a page at a time; and whether more follow.

    Like a read of one session, one past its deadline is expired first, so a listing
    never shows a session as open that can no longer be paid.
    """
    query = select(CheckoutSession).order_by(
        CheckoutSession.created_at.desc(), CheckoutSession.id.desc()
    )
    if created_since is not None:
        query = query.where(CheckoutSession.created_at >= created_since)
    if starting_after is not None:
        cursor = await session.get(CheckoutSession, starting_after)
        if cursor is None:
            raise CheckoutSessionNotFound(session_id=starting_after)
        query = query.where(
            or_(
                CheckoutSession.created_at < cursor.created_at,
                and_(
                    CheckoutSession.created_at == cursor.created_at,
                    CheckoutSession.id < cursor.id,
                ),
            )
        )
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    page = rows[:limit]
    for row in page:
        if row.outcome == Outcome.OPEN and row.expires_at <= now:
            await settle(session, row, Outcome.EXPIRED, at=row.expires_at)
    return page, len(rows) > limit


def token_matches(row: CheckoutSession, token: str) -> bool:
    return hmac.compare_digest(row.form_token.encode(), token.encode())


async def find_session(
    session: AsyncSession, session_id: str, *, now: datetime
) -> CheckoutSession | None:
    """The session as it is at ``now``: one past its deadline is expired first."""
    row = await session.get(CheckoutSession, session_id)
    if row is not None and row.outcome == Outcome.OPEN and row.expires_at <= now:
        await settle(session, row, Outcome.EXPIRED, at=row.expires_at)
    return row


async def get_session(session: AsyncSession, session_id: str, *, now: datetime) -> CheckoutSession:
    row = await find_session(session, session_id, now=now)
    if row is None:
        raise CheckoutSessionNotFound(session_id=session_id)
    return row


def _bumped(column: Any, at: datetime) -> ColumnElement[int]:
    # updated = max(at, updated + 1) in SQL that SQLite and PostgreSQL both speak.
    at_ms = unix_ms(at)
    return case((column >= at_ms, column + 1), else_=at_ms)


async def _transition(
    session: AsyncSession, row: CheckoutSession, at: datetime, **values: Any
) -> bool:
    """Apply ``values`` only if the session is still open (and, when paying, not past due)."""
    conditions = [CheckoutSession.id == row.id, CheckoutSession.outcome == Outcome.OPEN]
    if values.get("outcome") in (Outcome.PAID, None):
        conditions.append(CheckoutSession.expires_at > at)
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(CheckoutSession)
            .where(*conditions)
            .values(updated_ms=_bumped(CheckoutSession.updated_ms, at), **values)
            .execution_options(synchronize_session=False)
        ),
    )
    await session.refresh(row)
    return result.rowcount == 1


def _emit(session: AsyncSession, row: CheckoutSession, at: datetime) -> None:
    event_type = (
        "checkout.session.completed" if row.outcome == Outcome.PAID else "checkout.session.expired"
    )
    record_event(
        session,
        event_type,
        CheckoutSessionObject.of(row),
        at=at,
        ordering_key=row.id,
    )


async def settle(
    session: AsyncSession,
    row: CheckoutSession,
    outcome: Outcome,
    *,
    at: datetime,
    error_code: str | None = None,
) -> bool:
    """End an open session without payment (failed, canceled or expired).

    Returns False when it was already settled; nothing changes then.
    """
    assert outcome in (Outcome.FAILED, Outcome.CANCELED, Outcome.EXPIRED)
    if not await _transition(
        session, row, at, outcome=outcome, error_code=error_code, awaiting_3ds=False
    ):
        return False
    _emit(session, row, at)
    return True


async def complete_payment(
    session: AsyncSession,
    row: CheckoutSession,
    *,
    card_last4: str,
    card_brand: str,
    behavior: CardBehavior,
    now: datetime,
) -> bool:
    """Mark the session paid and start its subscription; False if it was not open any more."""
    subscription_id = new_id("sub")
    if not await _transition(
        session,
        row,
        now,
        outcome=Outcome.PAID,
        subscription_id=subscription_id,
        card_last4=card_last4,
        card_brand=card_brand,
        card_behavior=behavior,
        awaiting_3ds=False,
    ):
        return False
    start_subscription(
        session,
        row,
        subscription_id=subscription_id,
        card_last4=card_last4,
        card_brand=card_brand,
        behavior=behavior,
        at=now,
    )
    _emit(session, row, now)
    return True


class PayResult(StrEnum):
    PAID = "paid"
    FAILED = "failed"
    CHALLENGE = "challenge"  # 3-D Secure first
    NOT_OPEN = "not_open"  # settled or expired meanwhile; nothing was charged


async def pay(
    session: AsyncSession, row: CheckoutSession, card: EnteredCard, *, now: datetime
) -> PayResult:
    test_card = card.test_card
    if test_card.challenge:
        ok = await _transition(
            session,
            row,
            now,
            awaiting_3ds=True,
            card_last4=card.last4,
            card_brand=card.brand,
            card_behavior=test_card.behavior,
        )
        return PayResult.CHALLENGE if ok else PayResult.NOT_OPEN
    if test_card.error_code is not None:
        ok = await settle(session, row, Outcome.FAILED, at=now, error_code=test_card.error_code)
        return PayResult.FAILED if ok else PayResult.NOT_OPEN
    ok = await complete_payment(
        session,
        row,
        card_last4=card.last4,
        card_brand=card.brand,
        behavior=test_card.behavior,
        now=now,
    )
    return PayResult.PAID if ok else PayResult.NOT_OPEN


async def answer_challenge(
    session: AsyncSession, row: CheckoutSession, *, approve: bool, now: datetime
) -> PayResult:
    """The cardholder's answer on the 3-D Secure page."""
    if row.outcome != Outcome.OPEN or not row.awaiting_3ds:
        return PayResult.NOT_OPEN
    if not approve:
        ok = await settle(
            session, row, Outcome.FAILED, at=now, error_code=ErrorCode.AUTHENTICATION_FAILED
        )
        return PayResult.FAILED if ok else PayResult.NOT_OPEN
    assert row.card_last4 is not None
    assert row.card_brand is not None
    ok = await complete_payment(
        session,
        row,
        card_last4=row.card_last4,
        card_brand=row.card_brand,
        behavior=CardBehavior(row.card_behavior or CardBehavior.CHARGES_SUCCEED),
        now=now,
    )
    return PayResult.PAID if ok else PayResult.NOT_OPEN


async def due_session(session: AsyncSession, *, until: datetime) -> CheckoutSession | None:
    """The open session whose deadline comes first, if it is at or before ``until``."""
    return await session.scalar(
        select(CheckoutSession)
        .where(CheckoutSession.outcome == Outcome.OPEN, CheckoutSession.expires_at <= until)
        .order_by(CheckoutSession.expires_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
