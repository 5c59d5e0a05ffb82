"""The planner service: ``create_app`` builds the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.api_docs import install_api_docs
from services.common.db import create_engine, sessionmaker_for
from services.common.health import VERSION
from services.common.http import install_common
from services.common.logging import configure_logging
from services.common.settings import Settings, get_settings
from services.planner.access_lookup import AccessLookup
from services.planner.billing_client import BillingClient, CircuitBreaker
from services.planner.compile_slots import CompileSlots, DatabaseSlots
from services.planner.compile_slots_redis import RedisSlots, redis_client
from services.planner.context import PlannerContext
from services.planner.gating import TIERS
from services.planner.routes import (
    billing,
    billing_events,
    health,
    plan_compile,
    plan_import,
    saved_plan_exports,
    saved_plans,
)
from services.planner.wire_schema import install_wire_schemas

DESCRIPTION = """
Compiles project plans into critical-path schedules, keeps saved plans and
exports them; what an account may do follows its subscription in billing_api
(`featureAccess`, see `docs/planner_gating.md`).

Every `/v1` route except `/v1/access/tiers` takes a gw_stack user token
(`Authorization: Bearer …`). Errors use one envelope,
`{"error": {"code", "message", "requestId"}}`; a plan with problems also lists
each of them in `errors`.
"""


def compile_slots_for(settings: Settings, engine: AsyncEngine) -> CompileSlots:
    """Counted in Redis when PLANNER_REDIS_URL is set, else in the planner's database."""
    if settings.planner_redis_url:
        return RedisSlots(
            redis_client(settings.planner_redis_url), lease_s=settings.planner_compile_lease_s
        )
    return DatabaseSlots(
        engine,
        lease_s=settings.planner_compile_lease_s,
        limits={tier.max_concurrent_plans for tier in TIERS.values()},
    )


def create_app(
    settings: Settings | None = None, *, billing_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app. Tests pass their own settings and a billing stand-in transport."""
    settings = settings or get_settings()
    engine = create_engine(settings.planner_database_url, pool_size=settings.database_pool_size)
    sessions = sessionmaker_for(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("planner", settings.log_level)
        # One pooled client per app; each read sets its own timeout from the budget.
        async with httpx.AsyncClient(transport=billing_transport) as http:
            client = BillingClient(
                http,
                base_url=settings.billing_api_base_url,
                budget_s=settings.planner_billing_timeout_s,
                breaker=CircuitBreaker(
                    failures_to_open=settings.planner_billing_breaker_failures,
                    cooldown_s=settings.planner_billing_breaker_cooldown_s,
                ),
            )
            slots = compile_slots_for(settings, engine)
            app.state.planner = PlannerContext(
                settings=settings,
                sessions=sessions,
                billing=client,
                access=AccessLookup(
                    sessions,
                    client,
                    cache_ttl_s=settings.planner_access_cache_ttl_s,
                    refresh_s=settings.planner_access_refresh_s,
                    max_stale_s=settings.planner_access_max_stale_s,
                ),
                slots=slots,
            )
            try:
                yield
            finally:
                await slots.close()
        await engine.dispose()

    app = FastAPI(
        title="gw_stack planner",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_api_docs, never a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    # Bytes over the limit are the frame's PAYLOAD_TOO_LARGE, refused while reading;
    # PLAN_TOO_LARGE is kept for what it names: more tasks than the tier allows.
    install_common(app, service="planner", max_body_bytes=settings.planner_max_body_bytes)
    install_api_docs(app)
    for router in (
        health.router,
        plan_compile.router,
        plan_import.router,
        billing.router,
        saved_plans.router,
        saved_plan_exports.router,
        billing_events.router,
    ):
        app.include_router(router)
    install_wire_schemas(app)
    return app
