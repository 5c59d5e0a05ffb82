"""Fixtures for the sandbox provider: its app on a fresh database and a webhook receiver.

Every database test runs on SQLite (a copy of a migrated template under tmp_path)
and on PostgreSQL (one database per test session, tables emptied before each test);
a test marked ``backend_independent`` runs on SQLite only. Without a
reachable PostgreSQL the PostgreSQL half is skipped, except under ``CI=true``,
where it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common.migrate import upgrade
from services.sandbox_provider.app import create_app
from tests.databases import SqliteTemplates, fresh_postgres_database, run_blocking
from tests.sandbox_provider.support import (
    AppFactory,
    Receiver,
    SandboxClient,
    empty_postgres,
    running,
    sandbox_config,
    sandbox_settings,
)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    with fresh_postgres_database("sandbox") as url:
        run_blocking(lambda: upgrade("sandbox_provider", url))
        yield url


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_templates: SqliteTemplates
) -> str:
    # Sync, so the session-scoped fixtures can run their own event loops.
    if backend == "sqlite":
        return sqlite_templates.copy("sandbox_provider", tmp_path / "sandbox.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    if not empty_database_url.startswith("sqlite"):
        await empty_postgres(empty_database_url)
    return empty_database_url


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def make_app(database_url: str, receiver: Receiver) -> AppFactory:
    def build(*, transport: httpx.AsyncBaseTransport | None = None, **config: Any) -> FastAPI:
        return create_app(
            sandbox_settings(database_url),
            config=sandbox_config(**config),
            webhook_transport=transport or httpx.MockTransport(receiver.handle),
        )

    return build


@pytest.fixture
async def sandbox(make_app: AppFactory) -> AsyncIterator[SandboxClient]:
    async with running(make_app()) as client:
        yield client
