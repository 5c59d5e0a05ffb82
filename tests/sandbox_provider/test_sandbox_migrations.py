"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.common.db import create_engine
from services.common.migrate import upgrade
from services.sandbox_provider.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_matches_the_models_and_seeds_the_clock(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"  # from nothing
    await upgrade("sandbox_provider", database_url)
    await upgrade("sandbox_provider", database_url)  # a second run changes nothing

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            clock = (
                await connection.execute(text("SELECT id, offset_seconds FROM test_clock"))
            ).all()
    finally:
        await engine.dispose()

    assert differences == []
    assert [tuple(row) for row in clock] == [(1, 0)]
