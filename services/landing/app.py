"""landing: the public site — pricing, sign-in, checkout pages and the account page.

Server-rendered HTML that works without JavaScript; it talks to billing_api
(and the planner's public tier table) over HTTP only, as the signed-in user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.errors import AppError
from services.common.health import VERSION
from services.common.http import install_common
from services.common.logging import configure_logging
from services.common.settings import Settings, get_settings
from services.landing.billing_client import BillingClient, BillingError
from services.landing.headers import PageHeaders
from services.landing.pages import error_page, refusal_page
from services.landing.planner_client import PlannerClient
from services.landing.routes import account, app_plan, app_plans, checkout, health, pricing, signin

_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}


def create_app(
    settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """Build the app. Tests pass their own settings and a transport standing in for
    billing_api and the planner."""
    settings = settings or get_settings()
    http = httpx.AsyncClient(timeout=15.0, transport=transport, follow_redirects=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("landing", settings.log_level)
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(
        title="gw_stack landing",
        version=VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.billing = BillingClient(
        http, billing_url=settings.billing_api_base_url, planner_url=settings.planner_base_url
    )
    # Plan files uploaded to /app are the largest bodies landing reads.
    body_limit = max(settings.max_body_bytes, settings.landing_max_upload_bytes)
    app.state.planner = PlannerClient(http, planner_url=settings.planner_base_url)
    install_common(app, service="landing", max_body_bytes=body_limit, refusal=refusal_page)
    _install_html_errors(app)
    app.add_middleware(PageHeaders)
    app.mount(
        "/static",
        StaticFiles(directory=Path(__file__).resolve().parent / "static"),
        name="static",
    )
    routers = (
        health.router,
        pricing.router,
        signin.router,
        checkout.router,
        account.router,
        app_plans.router,
        app_plan.router,
    )
    for router in routers:
        app.include_router(router)
    return app


def _install_html_errors(app: FastAPI) -> None:
    """People read these pages: every error is a page with the registry's message,
    replacing the JSON answers install_common registers for the APIs."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> HTMLResponse:
        return error_page(request, exc.code, status_code=exc.status_code)

    @app.exception_handler(BillingError)
    async def _billing_error(request: Request, exc: BillingError) -> HTMLResponse:
        return error_page(request, exc.code, status_code=exc.status if exc.status >= 400 else 502)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        return error_page(request, "VALIDATION_ERROR", status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        code = _HTTP_CODES.get(exc.status_code, "VALIDATION_ERROR")
        status = exc.status_code if exc.status_code < 500 else 500
        return error_page(request, code if status < 500 else "INTERNAL_ERROR", status_code=status)
