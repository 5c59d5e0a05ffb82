"""landing in process, talking HTTP to a real billing_api app (in-memory provider,
SQLite) and to a stand-in for the planner's public tier table."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing_api.app import create_app as create_billing
from services.common.settings import Settings
from services.landing.app import create_app as create_landing
from tests.billing_api.fakes import FakeProvider
from tests.databases import SqliteTemplates

LANDING = "http://landing.test"
BILLING = "http://billing.test"
PLANNER = "http://planner.test"
TIERS = {
    "tiers": [
        {"tier": "free", "canSavePlans": False, "canExport": False,
         "maxConcurrentPlans": 1, "maxTasksPerPlan": 200},
        {"tier": "paid", "canSavePlans": True, "canExport": True,
         "maxConcurrentPlans": 5, "maxTasksPerPlan": 20000},
    ]
}  # fmt: skip
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_FORM_ID = re.compile(r'name="formId" value="([0-9a-f]{32})"')


@dataclass
class Planner:
    """The planner as landing sees it: up with the tier table, or down."""

    up: bool = True
    calls: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not self.up:
            raise httpx.ConnectError("planner down", request=request)
        assert request.url.path == "/v1/access/tiers"
        return httpx.Response(200, json=TIERS)


@dataclass
class Site:
    client: httpx.AsyncClient
    billing: FastAPI
    provider: FakeProvider
    planner: Planner
    settings: Settings
    seen: list[str] = field(default_factory=list)
    billing_down: bool = False

    async def page(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        self.seen.append(response.text)
        return response

    async def csrf(self) -> str:
        """The token this browser's forms carry (the pages put it in every form)."""
        if "gw_csrf" not in self.client.cookies:
            found = _CSRF.search((await self.page("/")).text)
            assert found is not None
        token = self.client.cookies["gw_csrf"]
        assert isinstance(token, str)
        return token

    async def sign_in(self, email: str = "ada@example.com") -> None:
        response = await self.client.post(
            "/signin", data={"email": email, "next": "/", "csrf": await self.csrf()}
        )
        assert response.status_code == 303, response.text

    async def choose(self, plan_id: str = "pro_monthly", *, locale: str = "en") -> httpx.Response:
        """Post the pricing page's own form for ``plan_id``."""
        html = (await self.page("/")).text
        form = html.split(f'name="planId" value="{plan_id}"', 1)[1]
        form_id = _FORM_ID.search(form)
        assert form_id is not None
        return await self.post_plan(plan_id, form_id.group(1), locale=locale)

    async def post_plan(self, plan_id: str, form_id: str, *, locale: str = "en") -> httpx.Response:
        data = {"csrf": await self.csrf(), "planId": plan_id, "formId": form_id, "locale": locale}
        return await self.client.post("/checkout/start", data=data)


def landing_settings(billing_db: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gw_env": "test",
        "billing_database_url": billing_db,
        "landing_base_url": LANDING,
        "billing_api_base_url": BILLING,
        "planner_base_url": PLANNER,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


SiteFactory = Callable[..., Any]


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
