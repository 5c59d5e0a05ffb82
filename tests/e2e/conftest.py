from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.databases import fresh_postgres_database
from tests.e2e.browser import chromium
from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, str]]:
    workdir = tmp_path_factory.mktemp("stack")
    if request.param == "sqlite":
        yield (
            workdir,
            f"sqlite+aiosqlite:///{workdir}/billing.db",
            f"sqlite+aiosqlite:///{workdir}/sandbox.db",
        )
        return
    with ExitStack() as dbs:
        billing = dbs.enter_context(fresh_postgres_database("e2e_billing"))
        sandbox = dbs.enter_context(fresh_postgres_database("e2e_sandbox"))
        yield workdir, billing, sandbox


@pytest.fixture(scope="module")
def payment_stack(stack_databases: tuple[Path, str, str]) -> Iterator[Stack]:
    """billing_api and the sandbox as real processes talking real HTTP."""
    workdir, billing_db, sandbox_db = stack_databases
    with running_stack(
        workdir, billing_db=billing_db, sandbox_db=sandbox_db, names=("sandbox", "billing-api")
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def full_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """landing, the planner, billing_api and the sandbox as processes on SQLite: one stack
    for every browser test (starting it is most of their time)."""
    workdir = tmp_path_factory.mktemp("full_stack")
    with running_stack(
        workdir,
        billing_db=f"sqlite+aiosqlite:///{workdir}/billing.db",
        sandbox_db=f"sqlite+aiosqlite:///{workdir}/sandbox.db",
        names=("sandbox", "billing-api", "planner", "landing"),
    ) as stack:
        stack.env["GW_TEST_WORKDIR"] = str(workdir)
        yield stack


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session; each test opens its own context."""
    with chromium() as opened:
        yield opened
