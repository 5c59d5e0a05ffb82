"""Database engines and sessions shared by the services.

SQLite (WAL) is the embedded default; PostgreSQL is the production database.
Services hold explicit transactions (``async with session.begin()``) in their
service layer, because flows like idempotent checkout need more than one commit.

Two engines per database:

* ``create_engine``: for anything that writes. On SQLite every transaction takes
  the write lock at ``BEGIN`` (see ``_begin_immediate``) and the process's writers
  take turns on one connection.
* ``create_read_engine``: for plain reads. No transaction at all: each statement
  runs on its own (SQLite's implicit read transaction, PostgreSQL autocommit), so a
  read never takes or waits for SQLite's write lock (WAL readers run beside the
  writer) and costs no ``BEGIN``/``ROLLBACK`` round trips on PostgreSQL. Its
  connections are read-only (``PRAGMA query_only``, ``default_transaction_read_only``),
  so a write sent through it by mistake fails instead of committing on its own.
  Each statement sees its own snapshot: a read that needs several statements to agree
  with each other belongs in one statement or in a transaction on the write engine.
  The hottest one-statement reads go through ``services.common.plain_reads``, which on
  SQLite runs them on the event loop's thread instead (same rules, no thread hops).

On PostgreSQL both replace a connection the server closed before using it, without
the round trips of ``pool_pre_ping`` (``_discard_closed_on_checkout``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, read_only: bool, **kwargs: Any) -> AsyncEngine:
    ensure_sqlite_dir(url)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; busy_timeout makes a
        # second writer wait instead of failing at once.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()
        # The driver never issues BEGIN: the write engine does (below), the read engine
        # runs every statement in SQLite's own implicit read transaction.
        dbapi_connection.isolation_level = None

    return engine


def create_engine(url: str, *, pool_size: int = 15, **kwargs: Any) -> AsyncEngine:
    """The engine for transactions that write (and for migrations).

    ``pool_size`` is how many PostgreSQL connections it keeps (``DATABASE_POOL_SIZE``).
    """
    if is_sqlite(url):
        # SQLite has one writer at a time and every transaction here takes its lock at
        # BEGIN, so a second connection could only wait, polling in busy_timeout's sleeps
        # (1, 2, 5 ... 100 ms). With one connection the pool hands the lock on in order,
        # at once, inside this process; other processes still wait on busy_timeout.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = _sqlite_engine(url, read_only=False, **kwargs)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Connection) -> None:
            # A deferred transaction that reads and then writes fails with "database is
            # locked" when another writer got in between; taking the write lock at BEGIN
            # makes it wait (busy_timeout) instead. SQLAlchemy's documented recipe. Plain
            # reads go through create_read_engine, so they never queue behind writers here.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # The same peak as the default pool (5 plus 10 overflow) but all of them kept: an
    # overflow connection is closed when given back, so concurrent writers (webhooks
    # arriving together) opened a PostgreSQL backend and prepared their statements anew
    # on most transactions. A writer beyond 15 waits for one.
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, pool_size=pool_size, **kwargs)
    _discard_closed_on_checkout(engine)
    return engine


def create_read_engine(url: str, *, pool_size: int = 15, **kwargs: Any) -> AsyncEngine:
    """The engine for plain reads: no transaction, no write lock, read-only connections.

    ``pool_size`` is how many connections it keeps (``DATABASE_POOL_SIZE``).
    """
    # Reads are most of the traffic, and under load most requests in flight hold a
    # connection. An "overflow" connection is closed as soon as it is given back, so with
    # more reads in flight than pooled connections the pool opens and closes one on
    # nearly every request (a new SQLite thread and its pragmas, or a PostgreSQL backend,
    # its TLS handshake and its prepared statements). No overflow: a read beyond these 15
    # waits for one of them (a few milliseconds), which costs far less than a new one.
    kwargs["pool_size"] = pool_size
    kwargs.setdefault("max_overflow", 0)
    # Nothing to roll back when nothing ever began: skip the DBAPI rollback() when a
    # session ends (on SQLite a hop to the connection's thread and back).
    kwargs.setdefault("skip_autocommit_rollback", True)
    if is_sqlite(url):
        return _sqlite_engine(url, read_only=True, **kwargs)
    engine = create_async_engine(
        url,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
        **kwargs,
    )
    _discard_closed_on_checkout(engine)
    return engine


def _discard_closed_on_checkout(engine: AsyncEngine) -> None:
    """Replace a connection the server has closed (restart, idle timeout, terminated
    backend) before it is used, without a round trip.

    ``pool_pre_ping`` would send a query on every checkout, and outside autocommit the
    asyncpg dialect wraps it in its own transaction: three round trips, more than a read
    itself. asyncpg already knows when the server closed the
    socket, so the pool asks it instead, and raising ``DisconnectionError`` makes the pool
    open a fresh connection. A connection that dies between this check and its query
    fails that one statement before anything is committed, like a statement in flight when
    the server goes down, and SQLAlchemy then replaces every pooled connection.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        driver = record.driver_connection
        if driver is None or driver.is_closed():
            raise DisconnectionError("the server closed this connection")


def sessionmaker_for(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
