"""What every service's /health reports: the release and whether its database answers."""

from __future__ import annotations

from importlib.metadata import version

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# One version for the whole distribution, from pyproject.toml.
VERSION = version("gw-stack")


async def database_check(sessions: async_sessionmaker[AsyncSession]) -> str:
    """``ok``, or ``unreachable`` when a trivial query fails for any reason."""
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return "unreachable"
    return "ok"
