"""Alembic migrations, run programmatically for each service's database.

Each service keeps its scripts in ``services/<service>/migrations``; the
connection is handed to Alembic (its "shared connection" recipe) so upgrades
run the same from the CLI, at start-up and inside async tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from services.common.db import create_engine

SERVICES_DIR = Path(__file__).resolve().parent.parent


def alembic_config(service: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    return config


@dataclass(frozen=True, slots=True)
class Upgraded:
    """What an upgrade did: the revision before (None: no schema yet) and after."""

    service: str
    before: str | None
    after: str | None

    def describe(self) -> str:
        if self.before is None:
            return f"{self.service}: created (revision {self.after})"
        if self.before == self.after:
            return f"{self.service}: up to date (revision {self.after})"
        return f"{self.service}: migrated from {self.before} to {self.after}"


async def upgrade(service: str, url: str, revision: str = "head") -> Upgraded:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_upgrade, service, revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, service: str, revision: str) -> Upgraded:
    before = MigrationContext.configure(connection).get_current_revision()
    config = alembic_config(service)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    after = MigrationContext.configure(connection).get_current_revision()
    return Upgraded(service, before, after)


def run_in_alembic_env(target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``: migrate over the handed-in connection."""
    from alembic import context

    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `gwstack db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
