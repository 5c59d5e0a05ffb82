"""Short SQLite writes on the event loop's own thread, never waiting for the file's lock.

Through the write engine, a statement goes to aiosqlite's connection thread and
back for each cursor, execute, fetch, close, ``BEGIN`` and ``COMMIT``: each hop a
wake-up of both threads and a GIL hand-over, a millisecond or more on a busy
machine, for writes that are tens of microseconds of SQLite work (the planner's
compile slots, billing_api's new-subscription ingest). So a process keeps one
plain ``sqlite3`` connection per write engine (``inline_writer``) that runs such a
write right there, on the thread that made it (the event loop's), and never waits:

* ``busy_timeout`` 0: when another connection holds the write lock (the write
  engine's, mid-transaction across its awaits, or another process's), SQLite
  answers ``SQLITE_BUSY`` at once, nothing is done, and the caller sends the write
  the usual way through the write engine, whose thread waits its turn;
* it never checkpoints (``wal_autocheckpoint`` 0), since a checkpoint syncs the file
  to disk, which the loop must not wait for: every ``CHECKPOINT_EVERY`` writes here,
  the write engine's connection is asked for a passive one, off the loop;
* otherwise the write engine's settings (WAL, ``synchronous=NORMAL``, foreign keys),
  so a write commits here exactly as it would there.

Plain reads have their own inline path (``services.common.plain_reads``).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

# Primary result codes: the extended ones (SQLITE_BUSY_SNAPSHOT...) carry them in their
# low byte.
_WOULD_WAIT = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def would_wait(exc: sqlite3.OperationalError) -> bool:
    """SQLite refused because it would have had to wait for a lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _WOULD_WAIT


class InlineWriter:
    """One write engine's inline connection (see the module's docstring)."""

    CHECKPOINT_EVERY = 500

    def __init__(self, path: str) -> None:
        # No reference to the engine: _WRITERS would keep it alive for good.
        self._path = path
        self._thread = threading.get_ident()
        self._connection: sqlite3.Connection | None = None
        self._since_checkpoint = 0

    def run(self, write: Callable[[sqlite3.Connection], T]) -> T | None:
        """``write(connection)``'s result; None, with nothing done, when SQLite would have
        had to wait for a lock or when called on another thread than the one that made
        this writer. ``write`` runs its own statements (``BEGIN IMMEDIATE`` for more than
        one); a transaction it leaves open on failing is rolled back."""
        if threading.get_ident() != self._thread:
            return None  # another thread (a test's second loop): the write engine's way
        connection = self._open()
        try:
            result = write(connection)
        except BaseException as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and would_wait(exc):
                return None
            raise
        self._since_checkpoint += 1
        return result

    async def checkpoint_if_due(self, write_engine: AsyncEngine) -> None:
        """After every ``CHECKPOINT_EVERY`` writes here, a passive WAL checkpoint by the
        write engine's connection, on its thread."""
        if self._since_checkpoint < self.CHECKPOINT_EVERY:
            return
        self._since_checkpoint = 0
        async with write_engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            # check_same_thread off only so that close() may run wherever the engine is
            # disposed of; statements run on self._thread alone.
            connection = sqlite3.connect(
                self._path, isolation_level=None, timeout=0, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._connection = connection
        return self._connection


_WRITERS: weakref.WeakKeyDictionary[AsyncEngine, InlineWriter | None] = weakref.WeakKeyDictionary()


def inline_writer(write_engine: AsyncEngine) -> InlineWriter | None:
    """The write engine's inline writer, made on first use by the thread that will use
    it and closed with the engine; None on PostgreSQL, or for an in-memory database,
    which a second connection would not see."""
    if write_engine not in _WRITERS:
        url = write_engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            _WRITERS[write_engine] = None
        else:
            writer = InlineWriter(url.database)
            _WRITERS[write_engine] = writer
            event.listen(write_engine.sync_engine, "engine_disposed", lambda _e: writer.close())
    return _WRITERS[write_engine]
