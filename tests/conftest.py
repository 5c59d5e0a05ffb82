from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.common.logging import configure_logging
from tests.databases import SqliteTemplates

# Tests build their settings explicitly; a developer's .env must not leak in.
os.environ["GW_ENV_FILE"] = os.devnull

# The services' own JSON logging, not structlog's development console: that one draws
# rich tracebacks, which costs seconds for every logged exception in an in-process app.
configure_logging("tests")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend_independent: a test the database cannot change; runs on SQLite only",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a database (the ``backend`` fixture) runs on SQLite and on
    PostgreSQL, except those marked ``backend_independent`` (input checks, signatures,
    page rendering), which run once."""
    if "backend" not in metafunc.fixturenames:
        return
    backends: list[object] = ["sqlite"]
    if metafunc.definition.get_closest_marker("backend_independent") is None:
        backends.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    metafunc.parametrize("backend", backends, indirect=True, scope="session")


# Under xdist, tests that share a started stack go to one worker, so it starts once: the
# session's payment stack across modules, and each other e2e module's own (module-scoped).
_SHARED_STACK = "payment_stack"
_E2E = Path(__file__).parent / "e2e"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(_E2E):
            continue
        item.add_marker(pytest.mark.e2e)
        shared = _SHARED_STACK in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.xdist_group(_SHARED_STACK if shared else item.path.stem))


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``; parametrized by ``pytest_generate_tests``."""
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    """Each service's SQLite database, migrated once per session; tests take copies."""
    return SqliteTemplates(tmp_path_factory.mktemp("sqlite_templates"))
