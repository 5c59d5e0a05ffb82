"""Helpers for landing's tests: the site in process as a browser would use it (pages,
CSRF, sign-in, the pricing form), its settings, and the planner's public tier table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from services.common.settings import Settings
from tests.billing_api.fakes import FakeProvider

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
