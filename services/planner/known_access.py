"""The last known access of each account, kept in the planner's database.

One rule, used by billing reads and billing events alike, decides whether what
was just learned replaces what is stored (``record``):

* about the same subscription, the one with the later ``updatedAt`` wins, so a
  late or redelivered event never rolls access back;
* about another subscription of the account, billing_api's own choice of the
  current one applies: active or trialing first, then the newer;
* "no subscription" from a read replaces what is stored only if nothing was
  learned after that read began (an event may have overtaken the read).

Every replica reads and writes the same rows, so an event taken in by one
planner process is seen by all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.planner.billing_client import BillingSubscription
from services.planner.models import KnownAccess

_CURRENT = frozenset({"active", "trialing"})

LearnedFrom = Literal["read", "event"]


@dataclass(frozen=True, slots=True)
class Known:
    """A snapshot of a ``KnownAccess`` row, safe to keep after its session closes."""

    status: str | None  # billing's status, lower case; None = no subscription
    subscription_id: str | None
    subscription_updated_at: datetime | None
    learned_at: datetime


def _snapshot(row: KnownAccess) -> Known:
    return Known(row.status, row.subscription_id, row.subscription_updated_at, row.learned_at)


async def load(session: AsyncSession, account_id: str) -> Known | None:
    row = await session.get(KnownAccess, account_id)
    return None if row is None else _snapshot(row)


def replaces(stored: KnownAccess, incoming: BillingSubscription | None, *, as_of: datetime) -> bool:
    """Does ``incoming`` (learned as of ``as_of``) replace what ``stored`` holds?"""
    if incoming is None:
        return stored.learned_at <= as_of
    if stored.subscription_id is None:
        return True
    previous = stored.subscription_updated_at
    if incoming.id == stored.subscription_id:
        return previous is None or incoming.updated_at >= previous
    incoming_current = incoming.status.lower() in _CURRENT
    stored_current = (stored.status or "").lower() in _CURRENT
    if incoming_current != stored_current:
        return incoming_current
    return previous is None or incoming.updated_at >= previous


async def record(
    session: AsyncSession,
    account_id: str,
    incoming: BillingSubscription | None,
    *,
    learned_from: LearnedFrom,
    as_of: datetime,
    now: datetime,
) -> Known:
    """Store what was learned unless the stored access is newer; returns what is stored.

    Runs inside the caller's transaction. The row is locked (PostgreSQL) or the
    database is (SQLite's BEGIN IMMEDIATE), so two replicas recording at once
    apply the rule one after the other.
    """
    for _ in range(2):
        stored = await session.get(KnownAccess, account_id, with_for_update=True)
        if stored is None:
            row = KnownAccess(account_id=account_id)
            _fill(row, incoming, learned_from, now)
            try:
                async with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                continue  # another replica inserted it first: apply the rule to theirs
            return _snapshot(row)
        if replaces(stored, incoming, as_of=as_of):
            _fill(stored, incoming, learned_from, now)
        return _snapshot(stored)
    raise RuntimeError("known access row vanished while recording")  # pragma: no cover


def _fill(
    row: KnownAccess,
    incoming: BillingSubscription | None,
    learned_from: LearnedFrom,
    now: datetime,
) -> None:
    row.subscription_id = incoming.id if incoming else None
    row.status = incoming.status.lower() if incoming else None
    row.plan_id = incoming.plan_id if incoming else None
    row.subscription_updated_at = incoming.updated_at if incoming else None
    row.learned_at = now
    row.learned_from = learned_from
