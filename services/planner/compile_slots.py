"""maxConcurrentPlans: how many compilations one account may run at once, on every replica.

``CompileSlots`` is what the routes hold a slot through; where the slots are
counted is its store: the planner's database (``DatabaseSlots``, the default) or,
with ``PLANNER_REDIS_URL`` set, Redis (``compile_slots_redis.RedisSlots``).

In the database, each running compilation holds one of the account's numbered
slots, a row with a lease. A slot is taken in a single statement, an insert of
the first slot nobody holds that on conflict updates the row only if its lease
has expired, so two processes sharing PostgreSQL (or SQLite) can never both hold
one. A process that crashes mid-compile leaves a lease that expires after
PLANNER_COMPILE_LEASE_S; nobody has to clean up after it.

A compile pays one statement to take its slot and one to give it back, each
its own transaction, sent straight to the driver (see ``_Driver``). A process
that already holds all of an account's slots refuses without asking the store:
what it holds is a part of what the store counts.
"""

from __future__ import annotations

import random
import sqlite3
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    delete,
    exists,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from services.common.db import create_engine, is_sqlite
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.types import UTCDateTime, utcnow
from services.planner.models import CompileLease

# Compilations take well under a second: ask again soon rather than at the lease's end,
# which only matters after a crash.
RETRY_AFTER_SECONDS = 1

_LEASES = cast(Table, CompileLease.__table__)
_ACCOUNT = bindparam("account_id", type_=String)
_SLOT = bindparam("slot", type_=Integer)
_HOLDER = bindparam("holder", type_=String)
_EXPIRES = bindparam("expires_at", type_=UTCDateTime())
_NOW = bindparam("now", type_=UTCDateTime())
_OFFSET = bindparam("offset", type_=Integer)


@dataclass(frozen=True, slots=True)
class Lease:
    account_id: str
    slot: int | None  # the database's numbered slot; Redis's are not numbered
    holder: str


def _take_statement(dialect: str, limit: int) -> ClauseElement:
    """Take the first free or expired slot of ``0 .. limit-1``, returning its number.

    Candidates are tried from a random ``offset`` round the ring, so processes taking
    slots of one account at the same moment mostly aim at different ones. If two do aim
    at the same slot, the second's conflict update finds a live lease and returns no
    row; the caller then asks again.
    """
    candidate = union_all(
        *(select(literal_column(str(slot), Integer).label("slot")) for slot in range(limit))
    ).subquery("candidate")
    held = select(_LEASES.c.slot).where(
        _LEASES.c.account_id == _ACCOUNT,
        _LEASES.c.slot == candidate.c.slot,
        _LEASES.c.expires_at >= _NOW,
    )
    first_free = (
        select(_ACCOUNT, candidate.c.slot, _HOLDER, _EXPIRES)
        .where(~exists(held))
        .order_by((candidate.c.slot + _OFFSET) % limit)
        .limit(1)
    )
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_LEASES).from_select(
        ["account_id", "slot", "holder", "expires_at"], first_free
    )
    # Taken when free, or when its holder's lease ran out (a crashed process).
    return statement.on_conflict_do_update(
        index_elements=["account_id", "slot"],
        set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
        where=_LEASES.c.expires_at < _NOW,
    ).returning(_LEASES.c.slot)


_RELEASE = delete(_LEASES).where(
    _LEASES.c.account_id == _ACCOUNT, _LEASES.c.slot == _SLOT, _LEASES.c.holder == _HOLDER
)


class _InlineSqlite:
    """SQLite lease statements run on the event loop itself while the file is free.

    Taking or giving back a slot is a few tens of microseconds of SQLite work; a hop
    to aiosqlite's thread and back costs several times that, and a millisecond or more
    on a busy machine. So each process keeps one plain sqlite3 connection for these
    statements, used only on the event loop's thread, that never waits: with
    ``busy_timeout`` 0, when another connection (this process's write engine or
    another process) holds the write lock, the statement fails at once, untouched, and
    goes the usual way through the write engine, where it waits its turn. It never
    checkpoints (``wal_autocheckpoint`` 0), since a checkpoint syncs the file to disk:
    the write engine's connections checkpoint as they commit, and every
    ``CHECKPOINT_EVERY`` statements taken here the write engine is asked for one.
    """

    CHECKPOINT_EVERY = 500

    def __init__(self, path: str) -> None:
        self.path = path
        self.since_checkpoint = 0
        self._connection: sqlite3.Connection | None = None

    def rows(self, sql: str, arguments: list[Any]) -> list[Any] | None:
        """The statement's rows, or None when the file is locked (nothing was done)."""
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=0)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._connection = connection
        try:
            rows = self._connection.execute(sql, arguments).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        self.since_checkpoint += 1
        return rows

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Driver:
    """One statement, compiled once by SQLAlchemy, run as its own transaction.

    Through SQLAlchemy's execute, aiosqlite takes a thread hop for each cursor,
    execute, fetch, close, BEGIN and COMMIT (nine to take a slot, eight to give it
    back), and on PostgreSQL BEGIN and COMMIT are two more round trips. Here: on
    SQLite inline (``_InlineSqlite``) or, when the file is locked, one hop to
    aiosqlite's ``execute_fetchall`` plus the pool's reset; on PostgreSQL one round
    trip (asyncpg's ``fetch`` on the pooled connection, outside any transaction).
    A single statement is atomic on both.
    """

    def __init__(self, engine: AsyncEngine, statement: ClauseElement) -> None:
        self.engine = engine
        dialect: Dialect = engine.dialect
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.compiled = compiled
        self.sql = compiled.string
        self.names = list(compiled.positiontup or [])
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: compiled.binds[name].type.bind_processor(dialect) for name in self.names
        }
        self.sqlite = dialect.name == "sqlite"

    def _arguments(self, given: dict[str, Any]) -> list[Any]:
        # With the statement's own values too (LIMIT 1).
        params = self.compiled.construct_params(given) or {}
        values = []
        for name in self.names:
            process = self.processors[name]
            values.append(process(params[name]) if process else params[name])
        return values

    async def rows(self, params: dict[str, Any], inline: _InlineSqlite | None) -> list[Any]:
        arguments = self._arguments(params)
        if inline is not None:
            rows = inline.rows(self.sql, arguments)
            if rows is not None:
                return rows
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            if self.sqlite:
                # The connection runs without an implicit BEGIN (services.common.db), so
                # the statement commits on its own.
                return list(await driver.execute_fetchall(self.sql, arguments))
            return list(await driver.fetch(self.sql, *arguments))

    async def checkpoint(self) -> None:
        """A passive WAL checkpoint by the write engine (SQLite)."""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")


def lease_engine(url: str, write_engine: AsyncEngine) -> AsyncEngine:
    """The engine compile slots run on.

    SQLite: the app's write engine, so a lease takes its turn with the process's other
    writers instead of polling for the file's lock. PostgreSQL: a small pool of its own
    whose commits do not wait for the WAL flush (``synchronous_commit = off``): a lease
    lives for one compile, and after a database crash loses its last writes, the worst
    is a slot held until its lease expires. Everything else stays durable.
    """
    if is_sqlite(url):
        return write_engine
    # Kept connections only (see create_engine): an overflow one would be a new backend
    # for each lease taken beyond the pool. A statement holds one for a round trip, so
    # five serve many compiles at once; a sixth waits a moment for one.
    return create_engine(
        url,
        pool_size=5,
        max_overflow=0,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


class CompileSlots(ABC):
    """An account's slots, counted by a store shared by every replica (``_taken`` and
    ``_give_back``), with what this process holds counted in front of it."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()  # slots this process holds, per account

    async def acquire(self, account_id: str, limit: int) -> Lease | None:
        """A slot taken for ``account_id``, or None when all ``limit`` are held."""
        if self._held[account_id] >= limit:
            return None
        # Counted before the store is asked, so the compiles of this process that ask
        # at the same moment see each other.
        self._held[account_id] += 1
        try:
            lease = await self._taken(account_id, limit)
        except BaseException:
            self._forget(account_id)
            raise
        if lease is None:
            self._forget(account_id)
        return lease

    async def release(self, lease: Lease) -> None:
        self._forget(lease.account_id)
        await self._give_back(lease)

    @abstractmethod
    async def close(self) -> None:
        """Let go of the store's connections (the app's lifespan ends)."""

    @asynccontextmanager
    async def hold(self, account_id: str, limit: int) -> AsyncIterator[None]:
        """Run the block in one of the account's slots, or refuse with 429."""
        lease = await self.acquire(account_id, limit)
        if lease is None:
            raise AppError(
                ErrorCode.PLAN_CONCURRENCY_LIMIT,
                details={"maxConcurrentPlans": limit},
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        try:
            yield
        finally:
            await self.release(lease)

    @abstractmethod
    async def _taken(self, account_id: str, limit: int) -> Lease | None:
        """A slot of the ``limit`` taken in the store, or None when all are held."""

    @abstractmethod
    async def _give_back(self, lease: Lease) -> None:
        """The lease's slot given back, if it is still this lease's."""

    def _forget(self, account_id: str) -> None:
        self._held[account_id] -= 1
        if self._held[account_id] <= 0:
            del self._held[account_id]


class DatabaseSlots(CompileSlots):
    def __init__(self, engine: AsyncEngine, *, lease_s: float, limits: Iterable[int] = ()) -> None:
        """``limits``: the maxConcurrentPlans values to compile the statement for now
        rather than on a first compile (others are compiled when first asked for)."""
        super().__init__()
        self.engine = engine
        self.lease = timedelta(seconds=lease_s)
        dialect = engine.dialect.name
        self._take = {limit: _Driver(engine, _take_statement(dialect, limit)) for limit in limits}
        self._release = _Driver(engine, _RELEASE)
        database = engine.url.database
        self._inline = (
            _InlineSqlite(database)
            if self._release.sqlite and database and database != ":memory:"
            else None
        )

    async def _give_back(self, lease: Lease) -> None:
        await self._release.rows(
            {"account_id": lease.account_id, "slot": lease.slot, "holder": lease.holder},
            self._inline,
        )
        if self._inline and self._inline.since_checkpoint >= self._inline.CHECKPOINT_EVERY:
            self._inline.since_checkpoint = 0
            await self._release.checkpoint()

    async def close(self) -> None:
        """Close this process's inline SQLite connection."""
        if self._inline is not None:
            self._inline.close()

    async def _taken(self, account_id: str, limit: int) -> Lease | None:
        take = self._take.get(limit)
        if take is None:
            take = self._take[limit] = _Driver(
                self.engine, _take_statement(self.engine.dialect.name, limit)
            )
        holder = new_id("lease")
        # Each miss means another process took a slot at that moment; after ``limit``
        # misses they are all taken, or were a moment ago. SQLite runs one writer at a
        # time, so there a miss means they are all held.
        for _ in range(1 if take.sqlite else limit):
            now: datetime = utcnow()
            rows = await take.rows(
                {
                    "account_id": account_id,
                    "holder": holder,
                    "expires_at": now + self.lease,
                    "now": now,
                    "offset": random.randrange(limit),  # noqa: S311 (spreads, not secret)
                },
                self._inline,
            )
            if rows:
                return Lease(account_id, int(rows[0][0]), holder)
        return None
