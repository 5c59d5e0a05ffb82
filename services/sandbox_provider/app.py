"""sandbox_provider: a local, offline payment provider (the ``stub`` provider)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.common.api_docs import install_api_docs
from services.common.db import sessionmaker_for
from services.common.health import VERSION
from services.common.http import install_common
from services.common.logging import configure_logging
from services.common.migrate import upgrade
from services.common.settings import Settings, get_settings
from services.sandbox_provider.config import SandboxConfig, load_sandbox_config
from services.sandbox_provider.context import SandboxContext
from services.sandbox_provider.database import create_sandbox_engine
from services.sandbox_provider.delivery import WebhookSender, run_delivery
from services.sandbox_provider.routes import (
    checkout_api,
    clock_api,
    health,
    hosted,
    portal_api,
    portal_hosted,
    subscriptions_api,
    webhooks_api,
)
from services.sandbox_provider.scheduler import run_clock

DESCRIPTION = """
A local, offline payment provider, like a provider's test mode: hosted checkout
pages with test cards, a Stripe-like JSON API (snake_case), signed webhooks and
a test clock. Nothing here moves real money.

The `/v1` API takes `Authorization: Bearer <PAYMENT_PROVIDER_API_KEY>`. Errors
answer `{"error": {"code", "message", "requestId"}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    config: SandboxConfig | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own settings, config and webhook transport."""
    settings = settings or get_settings()
    config = config or load_sandbox_config()
    engine = create_sandbox_engine(settings.sandbox_database_url, settings.database_pool_size)
    sessions = sessionmaker_for(engine)
    client = httpx.AsyncClient(transport=webhook_transport, follow_redirects=False)
    sender = WebhookSender(sessions, settings, config, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("sandbox_provider", settings.log_level)
        # Standalone start works on an empty database; `gwstack db upgrade` does the same.
        await upgrade("sandbox_provider", settings.sandbox_database_url)
        workers: list[asyncio.Task[None]] = []
        if config.background_workers:
            workers = [
                asyncio.create_task(run_delivery(sender, config.delivery_poll_seconds)),
                asyncio.create_task(run_clock(sessions, config)),
            ]
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await client.aclose()
            await engine.dispose()

    app = FastAPI(
        title="gw_stack sandbox_provider",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_api_docs, never a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sandbox = SandboxContext(
        settings=settings, config=config, sessions=sessions, sender=sender
    )
    install_common(app, service="sandbox_provider", max_body_bytes=settings.max_body_bytes)
    install_api_docs(app)
    for router in (
        health.router,
        checkout_api.router,
        subscriptions_api.router,
        clock_api.router,
        webhooks_api.router,
        hosted.router,
        portal_api.router,
        portal_hosted.router,
    ):
        app.include_router(router)
    return app
