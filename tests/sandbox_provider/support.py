"""Helpers for the sandbox provider's tests: settings, a webhook receiver, and a
client that drives the hosted pages the way a browser would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.common.db import create_engine
from services.common.settings import Settings
from services.sandbox_provider.config import SandboxConfig

API_KEY = "sk_test_sandbox_provider_tests"
WEBHOOK_SECRET = "whsec_c2FuZGJveC1wcm92aWRlci10ZXN0LXNlY3JldA=="
PUBLIC_BASE = "http://sandbox.test"
SUCCESS_URL = "http://landing.test/billing/success?paymentAttemptId=pa_test"
CANCEL_URL = "http://landing.test/billing/cancel?paymentAttemptId=pa_test"
TABLES = ("checkout_sessions", "subscriptions", "invoices", "webhook_events", "portal_sessions")


# -- databases ------------------------------------------------------------------


async def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))
            await connection.execute(text("UPDATE test_clock SET offset_seconds = 0"))
    finally:
        await engine.dispose()


async def database_text(url: str) -> bytes:
    """Everything the database holds, as bytes, to search for data that must not be there."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        assert path
        files = [Path(path), Path(path + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            parts = []
            for table in (*TABLES, "test_clock"):
                # Table names are the constants above, never input.
                query = f"SELECT string_agg(t::text, '|') FROM {table} t"  # noqa: S608
                dump = await connection.scalar(text(query))
                parts.append((dump or "").encode())
    finally:
        await engine.dispose()
    return b"\n".join(parts)


# -- the webhook receiver -----------------------------------------------------------


@dataclass
class Receiver:
    """Captures webhooks; ``status`` or ``down`` make it fail."""

    requests: list[httpx.Request] = field(default_factory=list)
    status: int = 200
    down: bool = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("receiver down", request=request)
        self.requests.append(request)
        return httpx.Response(self.status)

    def types(self) -> list[str]:
        return [json.loads(r.content)["type"] for r in self.requests]


# -- the app ------------------------------------------------------------------------


def sandbox_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gw_env": "test",
        "sandbox_database_url": database_url,
        "payment_provider_api_key": SecretStr(API_KEY),
        "webhook_secret": SecretStr(WEBHOOK_SECRET),
        "payment_provider_endpoint": PUBLIC_BASE,
        "billing_api_base_url": "http://billing.test",
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def sandbox_config(**overrides: Any) -> SandboxConfig:
    values: dict[str, Any] = {
        "background_workers": False,
        "webhook_backoff_base_seconds": 30.0,
        "webhook_url": None,
    }
    values.update(overrides)
    return SandboxConfig(_env_file=None, **values)


AppFactory = Callable[..., FastAPI]


# -- driving the sandbox like its callers do ------------------------------------------


class _Page(HTMLParser):
    """Forms (action, fields) and test-id'd links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: dict[str, str] = {}
        self.test_ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if "data-testid" in attributes:
            self.test_ids.add(attributes["data-testid"])
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "fields": {}, "ids": set()})
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and self.forms and "data-testid" in attributes:
            self.forms[-1]["ids"].add(attributes["data-testid"])
        elif tag == "a" and "data-testid" in attributes:
            self.links[attributes["data-testid"]] = attributes.get("href", "")


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def form_with(page: _Page, test_id: str) -> dict[str, Any]:
    return next(form for form in page.forms if test_id in form["ids"])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


PLAN = {
    "id": "pro_monthly",
    "name": "Pro",
    "amount": 29900,
    "currency": "TRY",
    "interval": "month",
    "trial_days": 0,
}


class SandboxClient:
    def __init__(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        self.http = client
        self.app = app
        self.auth = {"Authorization": f"Bearer {API_KEY}"}

    async def create_session(self, **overrides: Any) -> dict[str, Any]:
        plan = {**PLAN, **overrides.pop("plan", {})}
        body: dict[str, Any] = {
            "client_reference_id": "pa_test",
            "metadata": {
                "accountId": "acc_test",
                "paymentAttemptId": "pa_test",
                "planId": plan["id"],
            },
            "plan": plan,
            "success_url": SUCCESS_URL,
            "cancel_url": CANCEL_URL,
            "locale": "en",
        }
        body.update(overrides)
        response = await self.http.post("/v1/checkout/sessions", json=body, headers=self.auth)
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session

    async def session(self, session_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/checkout/sessions/{session_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/subscriptions/{subscription_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def page(self, session: dict[str, Any]) -> _Page:
        response = await self.http.get(path_of(session["url"]))
        assert response.status_code == 200, response.text
        return parse_page(response.text)

    async def submit(self, action: str, fields: dict[str, str]) -> httpx.Response:
        return await self.http.post(action, data=fields)

    async def pay(
        self,
        session: dict[str, Any],
        card: str = "4242 4242 4242 4242",
        *,
        expiry: str = "12/39",
        cvc: str = "123",
        name: str = "Ada Lovelace",
    ) -> httpx.Response:
        """Fill in and post the hosted page's own form, as a browser would."""
        form = form_with(await self.page(session), "pay")
        fields = {**form["fields"], "cardNumber": card, "expiry": expiry, "cvc": cvc, "name": name}
        return await self.submit(form["action"], fields)

    async def paid_subscription(self, card: str = "4242424242424242", **session: Any) -> str:
        created = await self.create_session(**session)
        response = await self.pay(created, card)
        assert response.status_code == 303, response.text
        subscription_id: str = (await self.session(created["id"]))["subscription"]
        return subscription_id

    async def advance(self, *, days: float = 0, seconds: int = 0) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/test_clock/advance", json={"days": days, "seconds": seconds}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        params = {"limit": "500", **({"type": event_type} if event_type else {})}
        response = await self.http.get("/v1/events", params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        return list(reversed(response.json()["data"]))  # oldest first

    async def event_types(self, object_id: str | None = None) -> list[str]:
        """Types of all events, or of those about one object (a subscription's invoices too)."""

        def about(obj: dict[str, Any]) -> bool:
            if object_id is None or obj["id"] == object_id:
                return True
            return bool(obj["object"] == "invoice" and obj["subscription"] == object_id)

        return [event["type"] for event in await self.events() if about(event["data"]["object"])]

    async def flush(self, *, include_scheduled: bool = False) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/webhooks/flush",
            params={"include_scheduled": str(include_scheduled).lower()},
            headers=self.auth,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[SandboxClient]:
    """The app with its lifespan (migrations, workers) and an in-process client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE) as client:
            yield SandboxClient(client, app)


async def clock_now(sandbox: SandboxClient) -> int:
    response = await sandbox.http.get("/v1/test_clock", headers=sandbox.auth)
    assert response.status_code == 200, response.text
    now: int = response.json()["now"]
    return now


async def advance_past(sandbox: SandboxClient, moment: int, *, by: int = 60) -> dict[str, Any]:
    """Move the sandbox clock to just after ``moment`` (unix seconds)."""
    return await sandbox.advance(seconds=max(0, moment - await clock_now(sandbox) + by))
