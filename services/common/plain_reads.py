"""One-statement plain reads, on SQLite answered on the event loop's own thread.

Through the read engine (``services.common.db.create_read_engine``) a SQLite read
hands the statement to aiosqlite's connection thread and waits for it about four
times (cursor, execute, fetch, close): some 600 µs of CPU and wake-ups per read
measured on its own, against about 50 µs for the same statement through
SQLAlchemy on a plain ``sqlite3`` connection on the caller's thread. A WAL reader
does not wait for the writer and an indexed single-row read is a few tens of
microseconds, so on SQLite :class:`PlainReads` runs the statement right there, on a
connection of its own that is

* read-only (``PRAGMA query_only``), like the read engine's;
* outside any transaction (SQLite's implicit read transaction for the one
  statement, ended when its rows are fetched), so each read sees its own snapshot,
  as through the read engine;
* never waiting: ``busy_timeout`` 0, so when the file cannot be read at once
  (another connection holding it in exclusive locking mode, a WAL recovery in
  progress) SQLite answers ``SQLITE_BUSY`` straight away, nothing was read, and the
  read goes the usual way through the read engine, whose thread waits its turn. The
  event loop never sleeps on a lock.

It is the same statement through the same SQLAlchemy machinery (the pysqlite dialect,
which the aiosqlite one is built on): the same SQL, the same type processing, the same
``Row``. On PostgreSQL there is nothing to gain (asyncpg already runs on the loop) and
every read goes through the read engine.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Executable

from services.common.inline_sqlite import would_wait


class PlainReads:
    """Plain reads of one statement each through ``read_engine``; on a SQLite file,
    inline first on the thread that made this (see the module's docstring).

    In a service that is the event loop's thread. A read on any other thread (another
    loop in a test, say) goes through the read engine, so the one inline connection is
    only ever used by one thread, one statement at a time: each runs to its last row
    without yielding to the loop.
    """

    def __init__(self, read_engine: AsyncEngine) -> None:
        self.engine = read_engine
        self.inline = _inline_engine(read_engine)
        self._thread = threading.get_ident()
        if self.inline is not None:
            inline = self.inline
            # Closed with the read engine, wherever that happens (an app's lifespan, a
            # test's fixture), so no sqlite3 connection outlives it.
            event.listen(read_engine.sync_engine, "engine_disposed", lambda _e: inline.dispose())

    async def first(self, statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
        """The statement's first row, or None."""
        if self.inline is not None and threading.get_ident() == self._thread:
            try:
                return self._first_inline(self.inline, statement, params)
            except _WouldWait:
                pass  # nothing was read; the read engine's thread waits its turn
        async with self.engine.connect() as connection:
            result = await connection.execute(statement, params)
            return result.first()

    @staticmethod
    def _first_inline(
        inline: Engine, statement: Executable, params: Mapping[str, Any]
    ) -> Row[Any] | None:
        try:
            with inline.connect() as connection:
                return connection.execute(statement, params).first()
        except OperationalError as exc:
            if isinstance(exc.orig, sqlite3.OperationalError) and would_wait(exc.orig):
                raise _WouldWait from exc
            raise


class _WouldWait(Exception):
    """SQLite could not read without waiting for a lock."""


def _inline_engine(read_engine: AsyncEngine) -> Engine | None:
    url = read_engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        # PostgreSQL; or an in-memory database, which a second connection would not see.
        return None
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        # One connection, held while the engine lives, used by one thread (PlainReads).
        poolclass=StaticPool,
        # timeout 0: no busy handler, SQLITE_BUSY at once instead of sleeping on the loop.
        # check_same_thread off only so that dispose() may close it from whatever thread
        # disposes of the read engine.
        connect_args={"timeout": 0, "check_same_thread": False},
        # The driver never issues BEGIN, and there is nothing to roll back afterwards.
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        # A write sent here by mistake fails instead of committing. It never checkpoints
        # either: SQLite checkpoints on a commit, and this connection commits nothing.
        dbapi_connection.execute("PRAGMA query_only=ON")

    return engine
