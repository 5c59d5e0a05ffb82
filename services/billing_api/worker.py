"""billing_api's background worker: retries webhook applications, delivers billing
events, and reconciles with the provider every ``RECONCILE_INTERVAL_SECONDS``.

Runs inside every replica; the inbox's conditional flip and the outbox's row
locks keep replicas from doing the same work twice. Replicas may reconcile at the
same moment: lifecycle applies each fact once (services/billing_api/reconcile.py),
so that costs provider calls, never a doubled change.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import httpx
import structlog

from services.billing_api.context import BillingContext
from services.billing_api.events_out import deliver_due
from services.billing_api.reconcile import reconcile
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


async def reconcile_forever(context: BillingContext) -> None:
    """A reconciliation pass every interval, apart from the webhook loop: a pass waits
    on the provider, and retries and deliveries must not wait with it.

    The first pass comes after a random part of the interval, so replicas started
    together spread out, and a replica restarted after a crash reconciles soon.
    """
    interval = context.settings.reconcile_interval_seconds
    await asyncio.sleep(interval * random.uniform(0.1, 1.0))  # noqa: S311 - spreading, not secrecy
    while True:
        try:
            report = await reconcile(context)
            log.info("reconciliation pass", ok=report.ok, summary=report.summary())
        except Exception:
            log.exception("reconciliation pass failed")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def running(context: BillingContext) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(run_forever(context), name="billing-worker")]
    if context.settings.reconcile_interval_seconds > 0:
        tasks.append(asyncio.create_task(reconcile_forever(context), name="billing-reconcile"))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
