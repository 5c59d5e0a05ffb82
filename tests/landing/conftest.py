"""landing in process, talking HTTP to a real billing_api app (in-memory provider,
SQLite) and to a stand-in for the planner's public tier table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.billing_api.app import create_app as create_billing
from services.landing.app import create_app as create_landing
from tests.billing_api.fakes import FakeProvider
from tests.databases import SqliteTemplates
from tests.landing.support import LANDING, Planner, Site, landing_settings


@pytest.fixture
async def site(tmp_path: Path, sqlite_templates: SqliteTemplates) -> AsyncIterator[Site]:
    db = sqlite_templates.copy("billing_api", tmp_path / "billing.db")
    settings = landing_settings(db)
    provider = FakeProvider()
    billing = create_billing(settings, provider=provider, run_worker=False)
    planner = Planner()
    to_billing = httpx.ASGITransport(app=billing)
    to_planner = httpx.MockTransport(planner.handle)

    class Backends(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "planner.test":
                return await to_planner.handle_async_request(request)
            if built.billing_down:
                raise httpx.ConnectError("billing_api down", request=request)
            return await to_billing.handle_async_request(request)

    landing = create_landing(settings, transport=Backends())
    transport = httpx.ASGITransport(app=landing)
    async with httpx.AsyncClient(transport=transport, base_url=LANDING) as client:
        built = Site(client, billing, provider, planner, settings)
        yield built
    await billing.state.engine.dispose()
    await billing.state.read_engine.dispose()
    await landing.state.billing._http.aclose()
