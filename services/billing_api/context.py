"""What billing_api's routes and workers share, built once per app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.billing_api.catalog import Catalog
from services.billing_api.provider_adapter import PaymentProvider
from services.common.plain_reads import PlainReads
from services.common.settings import Settings


@dataclass
class BillingContext:
    settings: Settings
    catalog: Catalog
    provider: PaymentProvider
    # Transactions that write (on SQLite they hold the write lock from BEGIN).
    sessions: async_sessionmaker[AsyncSession]
    # Plain reads: no transaction, never the write lock, cannot write (services.common.db).
    reads: async_sessionmaker[AsyncSession]

    @property
    def write_engine(self) -> AsyncEngine:
        """The engine behind ``sessions``, for statements sent straight to its driver."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        return engine

    @property
    def read_engine(self) -> AsyncEngine:
        """The engine behind ``reads``."""
        engine: AsyncEngine = self.reads.kw["bind"]
        return engine

    @cached_property
    def plain_reads(self) -> PlainReads:
        """One-statement reads through ``read_engine`` (on SQLite inline first), for the
        hottest read as a plain Core statement."""
        return PlainReads(self.read_engine)


async def billing_context(request: Request) -> BillingContext:
    # async: FastAPI would run a plain def in its thread pool, a thread hop per request.
    context: BillingContext = request.app.state.billing
    return context


Billing = Annotated[BillingContext, Depends(billing_context)]


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[BillingContext]:
    """A context outside the web app (the CLI's billing commands), closed afterwards."""
    from services.billing_api.catalog import load_catalog
    from services.billing_api.providers import provider_for
    from services.common.db import create_engine, create_read_engine, sessionmaker_for

    pool_size = settings.database_pool_size
    engine = create_engine(settings.billing_database_url, pool_size=pool_size)
    read_engine = create_read_engine(settings.billing_database_url, pool_size=pool_size)
    catalog = load_catalog(settings.plans_catalog_path)
    sessions = sessionmaker_for(engine)
    provider = provider_for(settings, catalog=catalog, sessions=sessions)
    try:
        yield BillingContext(
            settings=settings,
            catalog=catalog,
            provider=provider,
            sessions=sessions,
            reads=sessionmaker_for(read_engine),
        )
    finally:
        await provider.aclose()
        await engine.dispose()
        await read_engine.dispose()
