"""The sandbox clock: real time plus an offset the test clock moves forward.

Every time the sandbox reports or acts on (session expiry, periods, trial ends,
event ``created``) is on this clock. The offset lives in the database, so it
survives a restart and every sandbox process sees the same time.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.types import utcnow
from services.sandbox_provider.models import ClockOffset

_ROW = 1


async def clock_offset(session: AsyncSession) -> int:
    offset = await session.scalar(select(ClockOffset.offset_seconds).where(ClockOffset.id == _ROW))
    return int(offset or 0)


async def sandbox_now(session: AsyncSession) -> datetime:
    return utcnow() + timedelta(seconds=await clock_offset(session))


async def move_clock(session: AsyncSession, seconds: int) -> None:
    # An increment in SQL, so two advances at once both count.
    await session.execute(
        update(ClockOffset)
        .where(ClockOffset.id == _ROW)
        .values(offset_seconds=ClockOffset.offset_seconds + seconds, updated_at=utcnow())
    )


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def unix_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def next_updated_ms(previous: int | None, at: datetime) -> int:
    """``updated`` in milliseconds, strictly increasing per object even within one millisecond."""
    now_ms = unix_ms(at)
    return now_ms if previous is None or now_ms > previous else previous + 1


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def interval_months(interval: str) -> int:
    return 12 if interval == "year" else 1
