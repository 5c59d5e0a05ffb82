from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.billing_api.app import create_app
from services.billing_api.models import Base
from services.common.auth import mint_token
from services.common.migrate import upgrade
from services.common.settings import Settings
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import make_settings
from tests.databases import SqliteTemplates, fresh_postgres_database, run_blocking


@pytest.fixture(scope="session")
def postgres_billing_url() -> Iterator[str]:
    with fresh_postgres_database("billing") as url:
        run_blocking(lambda: upgrade("billing_api", url))
        yield url


@pytest.fixture
async def billing_db_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sqlite_templates: SqliteTemplates
) -> str:
    """A migrated, empty billing database on the backend under test."""
    if backend == "sqlite":
        return sqlite_templates.copy("billing_api", tmp_path / "billing.db")
    url: str = request.getfixturevalue("postgres_billing_url")
    await _truncate_all(url)
    return url


async def _truncate_all(url: str) -> None:
    from services.common.db import create_engine

    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables}"))
    await engine.dispose()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def settings(billing_db_url: str) -> Settings:
    return make_settings(billing_db_url)


@pytest.fixture
async def app(settings: Settings, provider: FakeProvider) -> AsyncIterator[FastAPI]:
    application = create_app(settings, provider=provider)
    yield application
    await application.state.engine.dispose()
    await application.state.read_engine.dispose()


@pytest.fixture
async def sqlite_app(sqlite_templates: SqliteTemplates, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The app on a SQLite file of its own, whatever the backend under test, worker off:
    for what only SQLite's single-writer file does."""
    url = sqlite_templates.copy("billing_api", tmp_path / "billing.db")
    application = create_app(make_settings(url), provider=FakeProvider(), run_worker=False)
    yield application
    await application.state.engine.dispose()
    await application.state.read_engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://billing.test") as c:
        yield c


@pytest.fixture
def auth(settings: Settings) -> Any:
    def headers(account_id: str = "acc_alice", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(account_id, settings)}", **extra}

    return headers
