"""The planner service: ``create_app`` builds the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.health import VERSION
from services.common.http import install_common
from services.common.logging import configure_logging
from services.common.settings import Settings, get_settings
from services.planner.routes import health, plan_compile, plan_import
from services.planner.wire_schema import install_wire_schemas

DESCRIPTION = """
Compiles project plans into critical-path schedules.

Every `/v1` route takes a gw_stack user token (`Authorization: Bearer …`).
Errors use one envelope, `{"error": {"code", "message", "requestId"}}`; a plan
with problems also lists each of them in `errors`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("planner", settings.log_level)
        yield

    app = FastAPI(
        title="gw_stack planner",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Bytes over the limit are the frame's PAYLOAD_TOO_LARGE, refused while reading;
    # PLAN_TOO_LARGE is kept for what it names: more tasks than the tier allows.
    install_common(app, service="planner", max_body_bytes=settings.planner_max_body_bytes)
    app.include_router(health.router)
    app.include_router(plan_compile.router)
    app.include_router(plan_import.router)
    install_wire_schemas(app)
    return app
