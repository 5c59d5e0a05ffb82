"""billing_api's background worker: retries webhook applications and delivers billing events.

Runs inside every replica; the inbox's conditional flip and the outbox's row
locks keep replicas from doing the same work twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import structlog

from services.billing_api.context import BillingContext
from services.billing_api.events_out import deliver_due
from services.billing_api.webhooks import apply_due

log = structlog.get_logger("gw_stack.worker")

# A paid subscription reaches the planner within about one pass plus its delivery;
# the design asks for about a second end to end. Both queries are index-backed.
POLL_SECONDS = 0.2


async def run_once(context: BillingContext, client: httpx.AsyncClient) -> None:
    await apply_due(context)
    await deliver_due(
        context.sessions,
        client,
        context.settings.billing_events_secret.get_secret_value(),
        reads=context.reads,
    )


async def run_forever(context: BillingContext) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                await run_once(context, client)
            except Exception:
                log.exception("worker pass failed")
            await asyncio.sleep(POLL_SECONDS)


@contextlib.asynccontextmanager
async def running(context: BillingContext) -> AsyncIterator[None]:
    task = asyncio.create_task(run_forever(context), name="billing-worker")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
