"""DATABASE_POOL_SIZE: how many connections each of a service's pools keeps."""

from __future__ import annotations

import pytest

from services.billing_api.app import create_app as create_billing_app
from services.common.settings import Settings
from services.planner.app import create_app as create_planner_app
from services.sandbox_provider import app as sandbox_app
from services.sandbox_provider.database import create_sandbox_engine

POSTGRES = "postgresql+asyncpg://nobody@127.0.0.1:1/never_connected"


def _pool_sizes(app: object) -> set[int]:
    state = app.state  # type: ignore[attr-defined]
    engines = [value for value in vars(state)["_state"].values() if hasattr(value, "pool")]
    return {engine.pool.size() for engine in engines}


def test_the_default_is_fifteen() -> None:
    assert Settings(_env_file=None).database_pool_size == 15


def _settings(size: int) -> Settings:
    return Settings(
        _env_file=None,
        database_pool_size=size,
        billing_database_url=POSTGRES,
        planner_database_url=POSTGRES,
        sandbox_database_url=POSTGRES,
    )


@pytest.mark.parametrize("size", [1, 4])
def test_billing_api_and_the_planner_size_their_pools_from_the_setting(size: int) -> None:
    # Engines connect lazily: building the apps opens no connection to this address.
    for create in (create_billing_app, create_planner_app):
        assert size in _pool_sizes(create(_settings(size))), create.__module__


def test_the_billing_api_read_and_write_pools_both_follow_it() -> None:
    assert _pool_sizes(create_billing_app(_settings(3))) == {3}


@pytest.mark.parametrize("size", [1, 4])
def test_the_sandbox_sizes_its_pool_from_the_setting(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []

    def recording(url: str, pool_size: int = 15):  # type: ignore[no-untyped-def]
        engine = create_sandbox_engine(url, pool_size)
        built.append(engine.pool.size())  # type: ignore[attr-defined]
        return engine

    monkeypatch.setattr(sandbox_app, "create_sandbox_engine", recording)
    sandbox_app.create_app(_settings(size))
    assert built == [size]


def test_a_pool_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="database_pool_size"):
        Settings(_env_file=None, database_pool_size=0)


def test_it_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_POOL_SIZE", "7")
    assert Settings(_env_file=None).database_pool_size == 7
