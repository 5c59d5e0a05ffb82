"""billing_api: plans, checkout, subscriptions and provider webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.billing_api import worker
from services.billing_api.catalog import load_catalog
from services.billing_api.context import BillingContext
from services.billing_api.provider_adapter import PaymentProvider
from services.billing_api.providers import provider_for
from services.billing_api.routes import checkout, health, plans, portal, subscription, webhooks
from services.common.api_docs import install_api_docs
from services.common.db import create_engine, create_read_engine, sessionmaker_for
from services.common.health import VERSION
from services.common.http import install_common
from services.common.logging import configure_logging
from services.common.settings import Settings, get_settings

DESCRIPTION = """
Plans catalog, checkout attempts, subscriptions and provider webhooks.

Every error answers `{"error": {"code", "message", "requestId"}}`; the codes are
listed in `docs/payment_error_codes.md`. User endpoints take a
`Authorization: Bearer <token>`; the account always comes from the token.
"""


def create_app(
    settings: Settings | None = None,
    *,
    provider: PaymentProvider | None = None,
    run_worker: bool = True,
) -> FastAPI:
    """Build the app. Tests pass their own settings and an in-memory provider."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("billing_api", settings.log_level)
        if run_worker:
            async with worker.running(app.state.billing):
                yield
        else:
            yield
        await app.state.billing.provider.aclose()
        await engine.dispose()
        await read_engine.dispose()

    pool_size = settings.database_pool_size
    engine = create_engine(settings.billing_database_url, pool_size=pool_size)
    read_engine = create_read_engine(settings.billing_database_url, pool_size=pool_size)
    app = FastAPI(
        title="gw_stack billing_api",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_api_docs, never a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = read_engine
    catalog = load_catalog(settings.plans_catalog_path)
    sessions = sessionmaker_for(engine)
    app.state.billing = BillingContext(
        settings=settings,
        catalog=catalog,
        provider=provider or provider_for(settings, catalog=catalog, sessions=sessions),
        sessions=sessions,
        reads=sessionmaker_for(read_engine),
    )
    install_common(app, service="billing_api", max_body_bytes=settings.max_body_bytes)
    install_api_docs(app)
    routers = (
        health.router,
        plans.router,
        subscription.router,
        portal.router,
        checkout.router,
        webhooks.router,
    )
    for router in routers:
        app.include_router(router)
    return app
