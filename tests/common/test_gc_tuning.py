"""The start-up heap is frozen out of the garbage collector once a service has started."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from services.common import gc_tuning
from services.common.http import install_common
from services.common.settings import Settings


@pytest.fixture
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process whose start-up heap is not frozen yet (an earlier test may have)."""
    gc.unfreeze()
    monkeypatch.setattr(gc_tuning, "_frozen", False)
    yield
    gc.unfreeze()


def app_with(settings: Settings | None, started: list[int]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started.append(gc.get_freeze_count())  # the app's own start-up runs first
        yield

    app = FastAPI(lifespan=lifespan)
    if settings is not None:
        app.state.settings = settings
    install_common(app, service="test", max_body_bytes=1024)
    return app


async def test_a_started_app_has_its_startup_heap_frozen(unfrozen: None) -> None:
    started: list[int] = []
    app = app_with(Settings(_env_file=None), started)
    async with app.router.lifespan_context(app):
        assert started == [0]  # nothing frozen while the app's start-up ran
        assert gc.get_freeze_count() > 1000  # the imported modules, the app, its routes


async def test_the_setting_turns_it_off(unfrozen: None) -> None:
    started: list[int] = []
    app = app_with(Settings(_env_file=None, gc_freeze_after_startup=False), started)
    async with app.router.lifespan_context(app):
        assert started == [0]
        assert gc.get_freeze_count() == 0


async def test_a_process_freezes_once_so_later_apps_garbage_is_not_pinned(unfrozen: None) -> None:
    assert gc_tuning.freeze_startup_heap() is True
    frozen = gc.get_freeze_count()
    app = app_with(None, [])
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == frozen
    assert gc_tuning.freeze_startup_heap() is False
