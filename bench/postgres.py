"""Throwaway PostgreSQL databases for the benches, on the server the tests use."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator

import asyncpg

ADMIN_DSN = os.environ.get("GW_TEST_POSTGRES_DSN", "postgresql://root@127.0.0.1:5432/test")


async def admin(statement: str) -> None:
    """Run one statement on the admin database."""
    connection = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def unreachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        asyncio.run(admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {ADMIN_DSN} is unreachable: {exc}"
    return None


@contextlib.contextmanager
def empty_database(label: str) -> Iterator[str]:
    """A new, empty database, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"gwbench_{label}_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
