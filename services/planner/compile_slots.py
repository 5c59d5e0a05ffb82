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

Neither statement waits on the answer's path (``CompileSlots.run``):

* A small plan (``OVERLAP_MAX_BODY_BYTES``) starts compiling while its slot is
  asked for, and its answer waits for the slot: refused, the schedule is thrown
  away and the answer is 429, as if it had been asked first. A large plan never
  starts without its slot, nor does any plan of an account the store refused in
  the last ``REFUSED_RECENTLY_S``, so an account at its limit costs at most one
  small compile per process per that time.
* The slot is given back once the answer is ready, by a task that does not hold
  the answer. Until its statement is through, this process counts the slot as
  free and the store as held; so a take the store refuses is asked again, after
  this process's own releases of that account are through and at the pauses of
  ``RECHECKS_AFTER_S``: a client that sends its next compile the moment an answer
  arrives, to any replica, is not refused for its own last one.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg
import structlog
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
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import ClauseElement

from services.common.compiled_sql import CompiledStatement
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.inline_sqlite import InlineWriter, inline_writer
from services.common.types import UTCDateTime, utcnow
from services.planner.models import CompileLease

log = structlog.get_logger("gw_stack.planner.compile_slots")
T = TypeVar("T")

# Compilations take well under a second: ask again soon rather than at the lease's end,
# which only matters after a crash.
RETRY_AFTER_SECONDS = 1
# About 800 tasks, some 3 ms of compile here: what may be spent on a plan before
# knowing whether its account has a slot for it.
OVERLAP_MAX_BODY_BYTES = 64 * 1024
REFUSED_RECENTLY_S = 1.0
# A release statement takes about a millisecond; on a loaded machine tens of them. A
# genuine refusal waits for these (a quarter of a second in all) before its 429.
RECHECKS_AFTER_S = (0.05, 0.2)
# Accounts remembered as refused lately; past this many the memory starts afresh.
_REFUSALS_REMEMBERED = 4096

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


class _Driver:
    """One statement, compiled once (``CompiledStatement``), run as its own transaction.

    Through SQLAlchemy's execute, aiosqlite takes a thread hop for each cursor,
    execute, fetch, close, BEGIN and COMMIT (nine to take a slot, eight to give it
    back), and on PostgreSQL BEGIN and COMMIT are two more round trips. Here: on
    SQLite on the event loop's thread (``services.common.inline_sqlite``; taking or
    giving back a slot is a few tens of microseconds of SQLite work) or, when the
    file is locked, one hop to
    aiosqlite's ``execute_fetchall`` plus the pool's reset; on PostgreSQL one round
    trip on the slots' own connections (``LeaseConnections``), outside any
    transaction. A single statement is atomic on both.
    """

    def __init__(self, engine: AsyncEngine, statement: ClauseElement) -> None:
        self.engine = engine
        self.statement = CompiledStatement(statement, engine.dialect)
        self.sqlite = engine.dialect.name == "sqlite"

    async def rows(
        self,
        params: dict[str, Any],
        inline: InlineWriter | None,
        postgres: LeaseConnections | None,
    ) -> list[Any]:
        sql, arguments = self.statement.sql, self.statement.arguments(params)
        if postgres is not None:
            return await postgres.rows(sql, arguments)
        if inline is not None:
            rows = inline.run(lambda connection: connection.execute(sql, arguments).fetchall())
            if rows is not None:
                return rows
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            # The connection runs without an implicit BEGIN (services.common.db), so the
            # statement commits on its own.
            return list(await driver.execute_fetchall(sql, arguments))


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """What asyncpg's pool does instead of resetting a connection given back."""


class LeaseConnections:
    """The lease statements' own PostgreSQL connections: an asyncpg pool of
    ``SIZE``, all opened on first use.

    A statement holds one for a round trip, so a few serve many compiles at once.
    Its commits do not wait for the WAL flush (``synchronous_commit = off``): a
    lease lives for one compile, and after a database crash loses its last writes,
    the worst is a slot held until its lease expires; everything else stays durable.
    A connection given back is not reset (asyncpg's default is a round trip of
    ``RESET ALL``, ``UNLISTEN *`` and more): a lease statement runs outside any
    transaction and leaves no session state. asyncpg rather than SQLAlchemy's pool,
    whose checkout and return cost a slot more CPU than both statements' round trips.
    """

    SIZE = 5

    def __init__(self, url: URL) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def rows(self, sql: str, arguments: list[Any]) -> list[Any]:
        pool = self._pool or await self._opened()
        async with pool.acquire() as connection:
            return list(await connection.fetch(sql, *arguments))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _opened(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                # All opened at once: one opened on demand later would hold up a
                # release by a connection's set-up (tens of ms on a busy server).
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=self.SIZE,
                    max_size=self.SIZE,
                    reset=_keep_session,
                    server_settings={"synchronous_commit": "off"},
                )
            return self._pool


class CompileSlots(ABC):
    """An account's slots, counted by a store shared by every replica (``_taken`` and
    ``_give_back``), with what this process holds counted in front of it."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()  # slots this process holds, per account
        # Releases on their way to the store, per account (``release_soon``).
        self._giving_back: dict[str, set[asyncio.Task[None]]] = {}
        self._refused_at: dict[str, float] = {}  # when the store last refused, per account

    async def acquire(self, account_id: str, limit: int) -> Lease | None:
        """A slot taken for ``account_id``, or None when all ``limit`` are held."""
        if self._held[account_id] >= limit:
            return None
        # Counted before the store is asked, so the compiles of this process that ask
        # at the same moment see each other.
        self._held[account_id] += 1
        try:
            lease = await self._taken(account_id, limit)
            if lease is None:
                lease = await self._asked_again(account_id, limit)
        except BaseException:
            self._forget(account_id)
            raise
        if lease is not None:
            self._refused_at.pop(account_id, None)
        else:
            self._forget(account_id)
            if len(self._refused_at) >= _REFUSALS_REMEMBERED:
                self._refused_at.clear()
            self._refused_at[account_id] = time.monotonic()
        return lease

    async def release(self, lease: Lease) -> None:
        """The lease's slot given back, waited for."""
        self._forget(lease.account_id)
        await self._give_back(lease)

    async def release_soon(self, lease: Lease) -> None:
        """The lease's slot given back by a task of its own, not waited for.

        One turn of the event loop is given to that task before returning, so its
        statement is on its way to the store before the caller answers: the next
        compile a client sends on receiving that answer reaches the store after it.
        """
        self._forget(lease.account_id)
        task = asyncio.get_running_loop().create_task(self._give_back_logged(lease))
        pending = self._giving_back.setdefault(lease.account_id, set())
        pending.add(task)

        def done(_: asyncio.Task[None]) -> None:
            pending.discard(task)
            if not pending and self._giving_back.get(lease.account_id) is pending:
                del self._giving_back[lease.account_id]

        task.add_done_callback(done)
        await asyncio.sleep(0)

    async def settled(self) -> None:
        """Every release of this process through to the store."""
        while self._giving_back:
            await asyncio.wait({t for tasks in self._giving_back.values() for t in tasks})

    async def close(self) -> None:
        """Let go of the store, once this process's releases are through (the app's
        lifespan ends)."""
        await self.settled()
        await self._close()

    async def run(
        self, account_id: str, limit: int, compile: Callable[[], Awaitable[T]], *, small: bool
    ) -> T:
        """``compile()`` in one of the account's ``limit`` slots; 429 when all are held.

        ``small``: the plan may start compiling while its slot is asked for.
        """
        if self._held[account_id] >= limit:
            raise self.refusal(limit)
        if not small or self._refused_lately(account_id):
            lease = await self.acquire(account_id, limit)
            if lease is None:
                raise self.refusal(limit)
            try:
                return await compile()
            finally:
                await self.release_soon(lease)
        compiling = asyncio.ensure_future(compile())
        try:
            lease = await self.acquire(account_id, limit)
        except BaseException:
            compiling.cancel()
            raise
        if lease is None:
            # A refusal, whatever the compile makes of the plan. It is left to finish
            # (a small plan, a few ms): cancelled, its thread would run on outside the
            # process's compile turn, which it gives back only when done.
            compiling.add_done_callback(_outcome_dropped)
            raise self.refusal(limit)
        try:
            return await compiling
        finally:
            await self.release_soon(lease)

    @staticmethod
    def refusal(limit: int) -> AppError:
        return AppError(
            ErrorCode.PLAN_CONCURRENCY_LIMIT,
            details={"maxConcurrentPlans": limit},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @abstractmethod
    async def _close(self) -> None:
        """Let go of the store's connections."""

    @abstractmethod
    async def _taken(self, account_id: str, limit: int) -> Lease | None:
        """A slot of the ``limit`` taken in the store, or None when all are held."""

    @abstractmethod
    async def _give_back(self, lease: Lease) -> None:
        """The lease's slot given back, if it is still this lease's."""

    async def _asked_again(self, account_id: str, limit: int) -> Lease | None:
        """A refused take asked again, in case a slot given back a moment ago was not
        yet back: after this process's own releases of the account, then after each of
        ``RECHECKS_AFTER_S`` (another replica's, or a database slow to commit)."""
        pending = self._giving_back.get(account_id)
        if pending:
            await asyncio.wait(set(pending))
            lease = await self._taken(account_id, limit)
            if lease is not None:
                return lease
        for pause in RECHECKS_AFTER_S:
            await asyncio.sleep(pause)
            lease = await self._taken(account_id, limit)
            if lease is not None:
                return lease
        return None

    async def _give_back_logged(self, lease: Lease) -> None:
        try:
            await self._give_back(lease)
        except Exception as exc:
            # Nobody waits on this: the lease runs out on its own, as after a crash.
            log.warning(
                "compile_slot_not_given_back", account_id=lease.account_id, error=type(exc).__name__
            )

    def _refused_lately(self, account_id: str) -> bool:
        refused = self._refused_at.get(account_id)
        if refused is None:
            return False
        if time.monotonic() - refused < REFUSED_RECENTLY_S:
            return True
        del self._refused_at[account_id]
        return False

    def _forget(self, account_id: str) -> None:
        self._held[account_id] -= 1
        if self._held[account_id] <= 0:
            del self._held[account_id]


def _outcome_dropped(task: asyncio.Future[Any]) -> None:
    """A compile nobody waits for: its outcome read, so asyncio does not report it."""
    if not task.cancelled():
        task.exception()


class DatabaseSlots(CompileSlots):
    def __init__(self, engine: AsyncEngine, *, lease_s: float, limits: Iterable[int] = ()) -> None:
        """``engine``: the app's write engine. On SQLite a lease takes its turn there
        with the process's other writers when the file is locked; on PostgreSQL the
        statements run on connections of their own (``LeaseConnections``).

        ``limits``: the maxConcurrentPlans values to compile the statement for now
        rather than on a first compile (others are compiled when first asked for)."""
        super().__init__()
        self.engine = engine
        self.lease = timedelta(seconds=lease_s)
        dialect = engine.dialect.name
        self._take = {limit: _Driver(engine, _take_statement(dialect, limit)) for limit in limits}
        self._release = _Driver(engine, _RELEASE)
        self._inline = inline_writer(engine)
        self.postgres = None if self._release.sqlite else LeaseConnections(engine.url)

    async def _give_back(self, lease: Lease) -> None:
        await self._release.rows(
            {"account_id": lease.account_id, "slot": lease.slot, "holder": lease.holder},
            self._inline,
            self.postgres,
        )
        if self._inline is not None:
            await self._inline.checkpoint_if_due(self.engine)

    async def _close(self) -> None:
        """Close this process's PostgreSQL connections (the inline SQLite one closes
        with the engine)."""
        if self.postgres is not None:
            await self.postgres.close()

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
                self.postgres,
            )
            if rows:
                return Lease(account_id, int(rows[0][0]), holder)
        return None
