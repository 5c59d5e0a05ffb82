"""The sandbox's engine and its transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.db import create_engine


def create_sandbox_engine(url: str, pool_size: int = 15) -> AsyncEngine:
    # services.common.db takes SQLite's write lock at BEGIN: every sandbox transaction
    # reads and then writes (lazy expiry, the clock, the outbox).
    return create_engine(url, pool_size=pool_size)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back if it raises.

    Never open a second one while holding one: on SQLite the second would wait for
    the first's lock.
    """
    async with sessions() as session, session.begin():
        yield session
