"""Short SQLite writes on the event loop's thread: done there while the file is free,
never waiting for its lock, and nothing done when they cannot be."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.db import create_engine
from services.common.inline_sqlite import InlineWriter, inline_writer

pytestmark = pytest.mark.backend_independent


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    path = tmp_path / "inline.db"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    setup.close()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield engine
    await engine.dispose()


def writer_of(engine: AsyncEngine) -> InlineWriter:
    writer = inline_writer(engine)
    assert writer is not None
    return writer


def rows(engine: AsyncEngine) -> list[tuple[int, str]]:
    with sqlite3.connect(str(engine.url.database)) as reader:
        return reader.execute("SELECT k, v FROM t ORDER BY k").fetchall()


def insert(k: int, value: str | None = None) -> Callable[[sqlite3.Connection], int]:
    """A write of one row (the number of rows it inserted)."""

    def write(connection: sqlite3.Connection) -> int:
        row = (k, f"v{k}" if value is None else value)
        return connection.execute("INSERT INTO t VALUES (?, ?)", row).rowcount

    return write


def wal_bytes(engine: AsyncEngine) -> int:
    return Path(f"{engine.url.database}-wal").stat().st_size


async def test_a_write_commits_where_every_connection_sees_it(engine: AsyncEngine) -> None:
    writer = writer_of(engine)
    assert inline_writer(engine) is writer  # one per engine
    assert writer.run(insert(1)) == 1
    assert rows(engine) == [(1, "v1")]


async def test_a_locked_file_means_nothing_done_at_once(engine: AsyncEngine) -> None:
    writer = writer_of(engine)
    other = sqlite3.connect(str(engine.url.database), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another connection writing
    started = time.monotonic()

    def two_inserts(connection: sqlite3.Connection) -> str:
        connection.execute("BEGIN IMMEDIATE")
        insert(1)(connection)
        insert(2)(connection)
        connection.execute("COMMIT")
        return "stored"

    assert writer.run(two_inserts) is None
    assert writer.run(insert(3)) is None
    assert time.monotonic() - started < 0.1  # no busy handler sleeping on the loop
    other.execute("COMMIT")
    other.close()
    assert rows(engine) == []
    assert writer.run(two_inserts) == "stored"  # free again
    assert rows(engine) == [(1, "v1"), (2, "v2")]


async def test_a_write_that_fails_midway_leaves_nothing(engine: AsyncEngine) -> None:
    writer = writer_of(engine)

    def half(connection: sqlite3.Connection) -> None:
        connection.execute("BEGIN IMMEDIATE")
        insert(1)(connection)
        insert(1)(connection)  # the key again

    with pytest.raises(sqlite3.IntegrityError):
        writer.run(half)
    assert rows(engine) == []
    assert writer.run(insert(2)) == 1  # not left in a transaction


async def test_another_thread_takes_the_write_engine_instead(engine: AsyncEngine) -> None:
    writer = writer_of(engine)
    assert await asyncio.to_thread(writer.run, insert(1)) is None
    assert rows(engine) == []


async def test_the_write_ahead_log_is_checkpointed_by_the_write_engine(
    engine: AsyncEngine,
) -> None:
    writer = writer_of(engine)
    payload = "x" * 3000  # about a page a row
    for k in range(3 * writer.CHECKPOINT_EVERY):
        assert writer.run(insert(k, payload)) == 1
        await writer.checkpoint_if_due(engine)
    # Unchecked, these 1,500 commits leave some 18 MB in the log; checkpointed every 500,
    # the log is reused from its start (some 6 MB).
    assert wal_bytes(engine) < 9_000_000


async def test_none_where_a_second_connection_would_not_do() -> None:
    memory = create_async_engine("sqlite+aiosqlite:///:memory:")
    postgres = create_async_engine("postgresql+asyncpg://root@127.0.0.1:5432/test")
    try:
        assert inline_writer(memory) is None
        assert inline_writer(postgres) is None
    finally:
        await memory.dispose()
        await postgres.dispose()
