"""An account's access for one request: memory, then the shared last known access,
then billing_api, then stale-if-error, then the free tier.

``resolve`` never raises and never waits on billing longer than the client's
budget. Where each answer comes from (``source``):

    cache     the last known access is younger than PLANNER_ACCESS_REFRESH_S
              (learned from a read or a billing event, by this replica or another)
    live      billing_api was read for this request
    stale     billing failed; the last known access is no older than PLANNER_ACCESS_MAX_STALE_S
    fallback  billing failed and nothing usable is known: the free tier

In front of the database sits a small in-process copy trusted for
PLANNER_ACCESS_CACHE_TTL_S, short enough that an event taken in by another
replica is seen here within that time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.types import utcnow
from services.planner import known_access
from services.planner.access import AccessPreview, preview_for
from services.planner.billing_client import BillingClient, BillingFailure, SubscriptionRead
from services.planner.gating import FeatureAccess, feature_access
from services.planner.known_access import Known

log = structlog.get_logger("gw_stack.planner.access")

Source = Literal["live", "cache", "stale", "fallback"]
# Enough accounts for a busy replica; the oldest entries go first beyond it.
MEMORY_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class AccessAnswer:
    preview: AccessPreview
    feature_access: FeatureAccess
    source: Source
    failure: BillingFailure | None  # why billing was not used, when it failed
    learned_at: datetime | None

    def billing_wire(self) -> dict[str, Any]:
        """The ``billing`` member of compile_with_access_preview."""
        if self.failure is not None:
            return {"ok": False, "kind": self.failure.kind.value}
        return {"ok": True, "preview": self.preview.to_wire()}

    def to_wire(self) -> dict[str, Any]:
        """The body of access_preview."""
        return {
            "ok": True,
            "preview": self.preview.to_wire(),
            "featureAccess": self.feature_access.to_wire(),
            "source": self.source,
        }


def _answer(
    status: str | None,
    source: Source,
    *,
    failure: BillingFailure | None = None,
    learned_at: datetime | None = None,
) -> AccessAnswer:
    preview = preview_for(status)
    return AccessAnswer(preview, feature_access(preview), source, failure, learned_at)


class AccessLookup:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: BillingClient,
        *,
        cache_ttl_s: float,
        refresh_s: float,
        max_stale_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.cache_ttl_s = cache_ttl_s
        self.refresh_s = refresh_s
        self.max_stale_s = max_stale_s
        self.clock = clock
        self._memory: OrderedDict[str, tuple[float, Known]] = OrderedDict()

    async def resolve(self, account_id: str, token: str) -> AccessAnswer:
        known = await self._known(account_id)
        now = utcnow()
        if known is not None and _age(known, now) <= self.refresh_s:
            return _answer(known.status, "cache", learned_at=known.learned_at)
        started = now
        outcome = await self.client.read_subscription(token, account_id)
        if isinstance(outcome, SubscriptionRead):
            stored = await self._record(account_id, outcome, as_of=started)
            status = outcome.subscription.status if outcome.subscription else None
            if stored is not None and stored.status != (status.lower() if status else None):
                # An event overtook this read while it was in flight: the newer fact wins.
                return _answer(stored.status, "cache", learned_at=stored.learned_at)
            return _answer(status, "live", learned_at=utcnow())
        if known is not None and _age(known, utcnow()) <= self.max_stale_s:
            return _answer(known.status, "stale", failure=outcome, learned_at=known.learned_at)
        return _answer(None, "fallback", failure=outcome)

    def forget(self, account_id: str) -> None:
        """Drop the in-process copy (a billing event just changed the stored access)."""
        self._memory.pop(account_id, None)

    async def _known(self, account_id: str) -> Known | None:
        entry = self._memory.get(account_id)
        if entry is not None and self.clock() - entry[0] <= self.cache_ttl_s:
            return entry[1]
        try:
            async with self.sessions() as session:
                known = await known_access.load(session, account_id)
        except SQLAlchemyError:
            # Our own database failing must not cost a schedule either: billing decides alone.
            log.exception("last known access unreadable", account_id=account_id)
            return None
        if known is not None:
            self._remember(account_id, known)
        return known

    async def _record(
        self, account_id: str, outcome: SubscriptionRead, *, as_of: datetime
    ) -> Known | None:
        try:
            async with self.sessions() as session, session.begin():
                stored = await known_access.record(
                    session,
                    account_id,
                    outcome.subscription,
                    learned_from="read",
                    as_of=as_of,
                    now=utcnow(),
                )
        except SQLAlchemyError:
            log.exception("last known access not stored", account_id=account_id)
            return None
        self._remember(account_id, stored)
        return stored

    def _remember(self, account_id: str, known: Known) -> None:
        self._memory[account_id] = (self.clock(), known)
        self._memory.move_to_end(account_id)
        while len(self._memory) > MEMORY_ENTRIES:
            self._memory.popitem(last=False)


def _age(known: Known, now: datetime) -> float:
    return (now - known.learned_at).total_seconds()
