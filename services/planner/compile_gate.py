"""At most a few heavy compiles at once in one planner process.

``maxConcurrentPlans`` (``compile_slots.py``) bounds one account across replicas;
this bounds the process itself, whoever asks: eight accounts sending 200k-task
plans at once took a process to 2.5 GB and its /health to 2.6 s. A compile beyond
``PLANNER_MAX_PARALLEL_COMPILES`` waits its turn for up to
``PLANNER_COMPILE_QUEUE_SECONDS``, then is answered ``503 SERVICE_UNAVAILABLE``
with ``Retry-After``, never with the memory of a ninth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.settings import Settings

RETRY_AFTER_SECONDS = 2


class CompileGate:
    def __init__(self, parallel: int, wait_seconds: float) -> None:
        self._turns = asyncio.Semaphore(parallel)
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._turns.acquire()
        except TimeoutError:
            raise AppError(
                ErrorCode.SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ) from None
        try:
            yield
        finally:
            self._turns.release()


def gate_of(app: FastAPI) -> CompileGate:
    """The app's gate, made on first use (inside the app's running loop)."""
    gate: CompileGate | None = getattr(app.state, "compile_gate", None)
    if gate is None:
        settings: Settings = app.state.settings
        gate = CompileGate(
            settings.planner_max_parallel_compiles, settings.planner_compile_queue_seconds
        )
        app.state.compile_gate = gate
    return gate
