"""The planner app in process on a migrated test database (SQLite and PostgreSQL),
talking to a stand-in for billing_api."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.common.db import create_engine
from services.common.migrate import upgrade
from services.planner.app import create_app
from services.planner.compile_slots import DatabaseSlots
from services.planner.compile_slots_redis import RedisSlots, redis_client
from services.planner.models import Base
from tests.databases import (
    REDIS_URL,
    SqliteTemplates,
    fresh_postgres_database,
    redis_key_prefix,
    run_blocking,
)
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import Planners, Replicas, planner_settings


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
    return await empty_planner_database(backend, tmp_path, request, sqlite_templates)


async def empty_planner_database(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, sqlite_templates: SqliteTemplates
) -> str:
    if backend == "sqlite":
        return sqlite_templates.copy("planner", tmp_path / "planner.db")
    url = str(request.getfixturevalue("postgres_planner_url"))
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables}"))
    await engine.dispose()
    return url


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_templates: SqliteTemplates
) -> AsyncIterator[Replicas]:
    """The compile slots of two planner processes sharing one store: the database on
    each backend, and Redis."""
    store = str(request.param)
    if store == "redis":
        async with redis_key_prefix() as prefix:

            @asynccontextmanager
            async def in_redis(lease_s: float = 120.0) -> AsyncIterator[tuple[Any, ...]]:
                pair = tuple(
                    RedisSlots(redis_client(REDIS_URL), lease_s=lease_s, key_prefix=prefix)
                    for _ in range(2)
                )
                try:
                    yield pair
                finally:
                    for slots in pair:
                        await slots.close()

            yield in_redis
        return
    url = await empty_planner_database(store, tmp_path, request, sqlite_templates)

    @asynccontextmanager
    async def in_database(lease_s: float = 120.0) -> AsyncIterator[tuple[Any, ...]]:
        engines = [create_engine(url) for _ in range(2)]
        pair = tuple(DatabaseSlots(engine, lease_s=lease_s) for engine in engines)
        try:
            yield pair
        finally:
            for slots in pair:
                await slots.close()
            for engine in engines:
                await engine.dispose()

    yield in_database


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
