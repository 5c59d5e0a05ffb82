from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.databases import SqliteTemplates, fresh_postgres_database
from tests.e2e.browser import chromium
from tests.e2e.stack import Stack, running_stack, stack_databases


@pytest.fixture(scope="session")
def payment_stack(
    backend: str, tmp_path_factory: pytest.TempPathFactory, sqlite_templates: SqliteTemplates
) -> Iterator[Stack]:
    """billing_api and the sandbox as real processes talking real HTTP, started once per
    backend and shared by the e2e and browser tests (each test shops with its own account)."""
    workdir = tmp_path_factory.mktemp(f"stack_{backend}")
    with (
        stack_databases(backend, workdir, sqlite_templates) as (billing_db, sandbox_db),
        running_stack(
            workdir, billing_db=billing_db, sandbox_db=sandbox_db, names=("sandbox", "billing-api")
        ) as stack,
    ):
        yield stack


FULL_STACK = ("sandbox", "billing-api", "planner", "landing")


@pytest.fixture(scope="session")
def full_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """landing, the planner, billing_api and the sandbox as processes on SQLite: one stack
    for every browser test (starting it is most of their time)."""
    workdir = tmp_path_factory.mktemp("full_stack")
    with running_stack(
        workdir,
        billing_db=f"sqlite+aiosqlite:///{workdir}/billing.db",
        sandbox_db=f"sqlite+aiosqlite:///{workdir}/sandbox.db",
        names=FULL_STACK,
    ) as stack:
        stack.env["GW_TEST_WORKDIR"] = str(workdir)
        yield stack


@pytest.fixture(scope="session")
def full_stack_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same four processes with billing_api, the sandbox and the planner each on a
    fresh PostgreSQL database, as in production: for the browser scenario that pays,
    saves and exports (the other browser tests read pages, which no database changes)."""
    workdir = tmp_path_factory.mktemp("full_stack_postgres")
    with (
        fresh_postgres_database("browser_billing") as billing_db,
        fresh_postgres_database("browser_sandbox") as sandbox_db,
        fresh_postgres_database("browser_planner") as planner_db,
        running_stack(
            workdir,
            billing_db=billing_db,
            sandbox_db=sandbox_db,
            names=FULL_STACK,
            PLANNER_DATABASE_URL=planner_db,
        ) as stack,
    ):
        stack.env["GW_TEST_WORKDIR"] = str(workdir)
        yield stack


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session; each test opens its own context."""
    with chromium() as opened:
        yield opened
