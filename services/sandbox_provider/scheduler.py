"""Time passing: everything due on the sandbox clock, done in time order.

Used by the test clock (``advance``: jump ahead and replay what happened in
between) and by the clock worker (every tick: catch up with real time). Each
due action runs in its own transaction with the events it causes, so a crash
leaves the sandbox at a consistent moment and a rerun carries on from there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.sandbox_provider import checkout, subscriptions
from services.sandbox_provider.clock import clock_offset, move_clock, sandbox_now
from services.sandbox_provider.config import SandboxConfig
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import Outcome, Subscription

log = structlog.get_logger("gw_stack.sandbox.clock")

_MAX_ACTIONS_PER_RUN = 100_000


async def _run_next(session: AsyncSession, until: datetime, config: SandboxConfig) -> bool:
    """Run the earliest due action, if any is due at or before ``until``."""
    due_checkout = await checkout.due_session(session, until=until)
    due_subscription = await session.scalar(
        select(Subscription)
        .where(Subscription.next_action_at <= until)
        .order_by(Subscription.next_action_at)
        .limit(1)
        # Another process busy with this row will do its step; we take the next one.
        .with_for_update(skip_locked=True)
    )
    subscription_at = due_subscription.next_action_at if due_subscription else None
    if due_checkout is not None and (
        subscription_at is None or due_checkout.expires_at <= subscription_at
    ):
        await checkout.settle(session, due_checkout, Outcome.EXPIRED, at=due_checkout.expires_at)
        return True
    if due_subscription is not None:
        await subscriptions.run_step(session, due_subscription, config)
        return True
    return False


async def run_due(
    sessions: async_sessionmaker[AsyncSession], config: SandboxConfig, *, until: datetime
) -> int:
    """Run every action due at or before ``until``; returns how many ran."""
    done = 0
    while done < _MAX_ACTIONS_PER_RUN:
        async with transaction(sessions) as session:
            if not await _run_next(session, until, config):
                break
        done += 1
    return done


@dataclass(frozen=True, slots=True)
class ClockState:
    now: datetime
    offset_seconds: int
    processed: int | None = None


async def read_clock(sessions: async_sessionmaker[AsyncSession]) -> ClockState:
    async with transaction(sessions) as session:
        offset = await clock_offset(session)
        now = await sandbox_now(session)
    return ClockState(now=now, offset_seconds=offset)


async def advance(
    sessions: async_sessionmaker[AsyncSession], config: SandboxConfig, *, seconds: int
) -> ClockState:
    """Move the sandbox clock forward, first running what falls due in between.

    The clock moves after the work, so nobody reads the new time while the
    sandbox still shows the old state.
    """
    async with transaction(sessions) as session:
        target = await sandbox_now(session) + timedelta(seconds=seconds)
    processed = await run_due(sessions, config, until=target)
    async with transaction(sessions) as session:
        await move_clock(session, seconds)
    state = await read_clock(sessions)
    log.info("test clock advanced", seconds=seconds, processed=processed)
    return ClockState(now=state.now, offset_seconds=state.offset_seconds, processed=processed)


async def run_clock(sessions: async_sessionmaker[AsyncSession], config: SandboxConfig) -> None:
    """The clock worker: catch up with the passing of real time, forever."""
    while True:
        try:
            state = await read_clock(sessions)
            await run_due(sessions, config, until=state.now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("clock tick failed")
        await asyncio.sleep(config.clock_tick_seconds)
