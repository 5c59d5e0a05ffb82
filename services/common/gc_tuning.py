"""Python's garbage collector after a service has started: the start-up heap frozen.

A started service holds some 140,000 objects the cyclic collector tracks (the
imported modules, FastAPI's routes and schemas, SQLAlchemy's tables and compiled
statements, Pydantic's validators) and keeps nearly all of them until it exits.
Each full (generation-2) collection walks every one of them; on billing_api's
subscription read under 32 connections that was one collection every few
seconds, each stopping the event loop for about 100 ms, and every request in
flight waited it out: a large part of the read's p99 (``bench/billing/tail.py``,
figures in ``bench/README.md``).

``gc.freeze()`` once start-up is done moves those objects to the permanent
generation, which no collection walks: a full collection then walks only what
requests allocated since (a few milliseconds). Objects that become garbage are
still freed by reference counting; only reference cycles among the frozen
objects would stay, and start-up's are kept for the process's life anyway.

Once per process: a test process that starts many apps freezes at the first
start-up only, so it does not pin every later app's garbage.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

_frozen = False


def freeze_startup_heap() -> bool:
    """Collect what start-up left behind, then freeze the rest; once per process.
    True when this call froze it."""
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    return True


Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def frozen_after_startup(lifespan: Lifespan, *, enabled: Callable[[Any], bool]) -> Lifespan:
    """``lifespan`` with the start-up heap frozen once its start-up part has run,
    when ``enabled(app)`` says so."""

    @asynccontextmanager
    async def wrapped(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            if enabled(app):
                freeze_startup_heap()
            yield state

    return wrapped
