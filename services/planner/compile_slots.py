"""maxConcurrentPlans: how many compilations one account may run at once, on every replica.

Each running compilation holds one of the account's numbered slots, a row in
the planner's database with a lease. A slot is taken in a single statement, an
insert that on conflict updates the row only if its lease has expired, so two
processes sharing PostgreSQL (or SQLite) can never both hold one. A process
that crashes mid-compile leaves a lease that expires after
PLANNER_COMPILE_LEASE_S; nobody has to clean up after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.types import utcnow
from services.planner.models import CompileLease

# Compilations take well under a second: ask again soon rather than at the lease's end,
# which only matters after a crash.
RETRY_AFTER_SECONDS = 1


class CompileSlots:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease_s: float) -> None:
        self.sessions = sessions
        self.lease = timedelta(seconds=lease_s)

    async def acquire(self, account_id: str, limit: int) -> str | None:
        """The holder id of a slot taken for ``account_id``, or None when all ``limit`` are held."""
        holder = new_id("lease")
        now = utcnow()
        async with self.sessions() as session, session.begin():
            dialect = (await session.connection()).dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            for slot in range(limit):
                values = insert(CompileLease).values(
                    account_id=account_id, slot=slot, holder=holder, expires_at=now + self.lease
                )
                # Taken when free, or when its holder's lease ran out (a crashed process).
                statement = values.on_conflict_do_update(
                    index_elements=["account_id", "slot"],
                    set_={"holder": holder, "expires_at": now + self.lease},
                    where=CompileLease.expires_at < now,
                ).returning(CompileLease.holder)
                if await session.scalar(statement) == holder:
                    return holder
        return None

    async def release(self, account_id: str, holder: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(CompileLease).where(
                    CompileLease.account_id == account_id, CompileLease.holder == holder
                )
            )

    @asynccontextmanager
    async def hold(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Run the block in one of the account's slots, or refuse with 429."""
        holder = await self.acquire(account_id, limit)
        if holder is None:
            raise AppError(
                ErrorCode.PLAN_CONCURRENCY_LIMIT,
                details={"maxConcurrentPlans": limit},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        try:
            yield
        finally:
            await self.release(account_id, holder)
