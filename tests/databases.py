"""Real databases for tests: a SQLite file per test, a fresh PostgreSQL database per run,
and a key prefix of its own per test in Redis.

A test's SQLite file is a copy of a template migrated once per session (migrating
takes far longer than copying). PostgreSQL is the production database, so the
suite runs against it too; Redis is where a planner may count its compile slots.
Under ``CI=true`` an unreachable server fails the run; elsewhere those tests skip
with the reason shown.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio
from redis.exceptions import RedisError

from services.common.migrate import upgrade
from tests.environment import missing

POSTGRES_ADMIN_DSN = os.environ.get("GW_TEST_POSTGRES_DSN", "postgresql://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def run_blocking(coroutine: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion on its own loop, even from inside a running loop
    (session fixtures are first requested from async tests)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()


def _require_postgres() -> None:
    async def probe() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        await connection.close()

    try:
        run_blocking(probe)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is unreachable: {exc}")


@contextmanager
def fresh_postgres_database(label: str) -> Iterator[str]:
    """Create an empty database for this run and drop it afterwards; yields its SQLAlchemy URL."""
    _require_postgres()
    name = f"gwtest_{label}_{secrets.token_hex(4)}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    run_blocking(lambda: admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        run_blocking(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def redis_key_prefix() -> AsyncIterator[str]:
    """A key prefix no other test uses; every key under it is deleted afterwards."""
    client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            missing(f"Redis at {REDIS_URL} is unreachable: {exc}")
        prefix = f"gwtest:{secrets.token_hex(6)}:"
        try:
            yield prefix
        finally:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class SqliteTemplates:
    """Per service, one SQLite database migrated on first use; ``copy`` hands out copies."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._migrated: dict[str, Path] = {}

    def template(self, service: str) -> Path:
        if service not in self._migrated:
            path = self.directory / f"{service}.db"
            run_blocking(lambda: upgrade(service, sqlite_url(path)))
            self._migrated[service] = path
        return self._migrated[service]

    def copy(self, service: str, target: Path) -> str:
        """A migrated, empty database of ``service`` at ``target``; its SQLAlchemy URL."""
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.template(service), target)
        return sqlite_url(target)
