from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.common.auth import mint_token
from services.common.db import create_engine
from services.common.migrate import upgrade
from services.common.settings import Settings
from services.planner.app import create_app
from services.planner.models import Base
from tests.databases import SqliteTemplates, fresh_postgres_database, run_blocking
from tests.planner.billing_standin import BillingStandIn

LANDING = "http://landing.test"
Planners = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def postgres_planner_url() -> Iterator[str]:
    with fresh_postgres_database("planner") as url:
        run_blocking(lambda: upgrade("planner", url))
        yield url


@pytest.fixture
async def planner_db_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sqlite_templates: SqliteTemplates
) -> str:
    """A migrated, empty planner database on the backend under test."""
    if backend == "sqlite":
        return sqlite_templates.copy("planner", tmp_path / "planner.db")
    url = str(request.getfixturevalue("postgres_planner_url"))
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables}"))
    await engine.dispose()
    return url


def planner_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gw_env": "test",
        "planner_database_url": db_url,
        "billing_api_base_url": "http://billing.test",
        "landing_base_url": LANDING,
        "planner_billing_timeout_s": 0.3,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def billing() -> BillingStandIn:
    return BillingStandIn()


@pytest.fixture
def planners(planner_db_url: str, billing: BillingStandIn) -> Planners:
    """Open a planner app (lifespan run) on the test database, talking to the stand-in."""

    @asynccontextmanager
    async def open_planner(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = planner_settings(planner_db_url, **overrides)
        app = create_app(settings, billing_transport=billing.transport())
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://planner.test") as c:
                c.app = app  # type: ignore[attr-defined]
                yield c

    return open_planner


@pytest.fixture
async def planner(planners: Planners) -> AsyncIterator[httpx.AsyncClient]:
    async with planners() as client:
        yield client


def auth(account: str = "acc_alice") -> dict[str, str]:
    settings = Settings(_env_file=None, gw_env="test")
    return {"Authorization": f"Bearer {mint_token(account, settings)}"}
