"""Shared setup for fuzzing each service against its own OpenAPI document.

Each service is fuzzed over HTTP, under uvicorn configured as ``gwstack serve``
runs it (httptools, request head bounded), on the database under test, with every check
schemathesis has unless one is left out with its reason, and with a fixed seed,
so a run is the same run every time and CI is not flaky.

The schema is loaded once per module from the app's own OpenAPI document (the
document does not depend on the database); each test serves a fresh app on its
database and points the cases at it.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import text

from services.common import server
from tests.databases import SqliteTemplates, run_blocking
from tests.sandbox_provider.support import empty_postgres

load_all_checks()
CheckFunction = Callable[..., Any]
ALL_CHECKS: tuple[CheckFunction, ...] = tuple(CHECKS.get_all())

# Examples per operation and phase. The coverage phase's fixed cases (every boundary
# and every wrong type of every field) come on top and find most of what fails; the
# generated ones are there for combinations. Bounded so the suite stays about a minute.
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
STATEFUL = settings(FUZZ, max_examples=8, stateful_step_count=6)


def checks_except(excluded: dict[str, str]) -> list[CheckFunction]:
    """Every check but those named, each with the reason it cannot hold for this service."""
    assert all(reason.strip() for reason in excluded.values()), "every exclusion needs its reason"
    unknown = set(excluded) - {c.__name__ for c in ALL_CHECKS}
    assert not unknown, f"no such schemathesis checks: {unknown}"
    return [c for c in ALL_CHECKS if c.__name__ not in excluded]


def schema_of(app: FastAPI, *, bearer: str) -> OpenApiSchema:
    """The app's OpenAPI document as schemathesis' schema (no request is made), with
    the credential for its one security scheme. Given as the scheme's credential, not
    as a header of every call, so schemathesis knows which requests go without it
    (``ignored_auth``) and does not take a removed-then-restored header for bad input."""
    document = app.openapi()
    (scheme,) = document["components"]["securitySchemes"]
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {scheme: {"bearer": bearer}}}})
    return schemathesis.openapi.from_dict(document, config=config)


# Each service's session-wide PostgreSQL database fixture (tests/<service>/conftest.py).
_POSTGRES_FIXTURE = {
    "billing_api": "postgres_billing_url",
    "planner": "postgres_planner_url",
    "sandbox_provider": "postgres_url",
}


def fuzz_database(service: str, backend: str, request: pytest.FixtureRequest) -> str:
    """An empty, migrated database of ``service`` on ``backend`` for one module's fuzzing:
    the operations share it, as they share a running service (what one creates, the
    next may find)."""
    if backend == "sqlite":
        templates: SqliteTemplates = request.getfixturevalue("sqlite_templates")
        directory = request.getfixturevalue("tmp_path_factory").mktemp(f"fuzz-{service}")
        return templates.copy(service, directory / f"{service}.db")
    url = str(request.getfixturevalue(_POSTGRES_FIXTURE[service]))
    run_blocking(lambda: _empty(service, url))
    return url


async def _empty(service: str, url: str) -> None:
    from services.common.db import create_engine

    if service == "sandbox_provider":
        await empty_postgres(url)  # keeps the test clock's one row
        return
    tables = importlib.import_module(f"services.{service}.models").Base.metadata.sorted_tables
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)}"))
    finally:
        await engine.dispose()


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` (lifespan included) under uvicorn as ``gwstack serve`` configures it,
    on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        http=server.PROTOCOL,
        # A keep-alive connection of the test's HTTP session would hold shutdown up.
        timeout_graceful_shutdown=1,
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run_stateful(schema: OpenApiSchema, base_url: str, checks: list[CheckFunction]) -> None:
    """Sequences along the links schemathesis infers from the document (create, then
    read, change or delete what was created), every step checked."""

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=checks,
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    run_state_machine_as_test(Machine, settings=STATEFUL)
