"""The sandbox's engine and its transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.common.db import create_engine, is_sqlite


def create_sandbox_engine(url: str) -> AsyncEngine:
    engine = create_engine(url)
    if is_sqlite(url):
        # Every sandbox transaction reads and then writes (lazy expiry, the clock, the
        # outbox). In SQLite's default deferred mode a reader that later writes fails with
        # "database is locked" if another writer got in between; taking the write lock at
        # BEGIN makes the second writer wait (busy_timeout) instead. SQLAlchemy's recipe.
        @event.listens_for(engine.sync_engine, "connect")
        def _driver_does_not_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


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
