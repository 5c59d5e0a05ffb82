"""GET /health, /api/billing/plans and /api/billing/subscription over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing_api.app import create_app
from services.billing_api.models import SubscriptionStatus
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import make_settings, record_subscription


class TestHealth:
    @pytest.mark.backend_independent
    async def test_ok_names_the_service_and_provider(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["service"] == "billing_api"
        assert body["provider"] == "stub"
        assert body["checks"] == {"database": "ok"}

    async def test_unreachable_database_is_degraded_503(self) -> None:
        settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none")
        app = create_app(settings, provider=FakeProvider())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["database"] == "unreachable"


class TestPlans:
    @pytest.mark.backend_independent
    async def test_catalog_in_minor_units_without_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/billing/plans")
        assert response.status_code == 200
        plans = {plan["id"]: plan for plan in response.json()["plans"]}
        assert plans["free"]["price"] == {"amount": 0, "currency": "TRY"}
        assert plans["free"]["interval"] is None
        assert plans["pro_monthly"] == {
            "id": "pro_monthly",
            "name": "Pro",
            "tier": "paid",
            "price": {"amount": 29900, "currency": "TRY"},
            "interval": "month",
            "trialDays": 0,
        }

    @pytest.mark.backend_independent
    async def test_names_in_the_readers_language(self, client: httpx.AsyncClient) -> None:
        turkish = await client.get("/api/billing/plans", headers={"Accept-Language": "tr-TR"})
        english = await client.get("/api/billing/plans", headers={"Accept-Language": "en"})
        names = {plan["id"]: plan["name"] for plan in turkish.json()["plans"]}
        assert names == {"free": "Ücretsiz", "pro_monthly": "Pro", "pro_yearly": "Pro (yıllık)"}
        assert [plan["name"] for plan in english.json()["plans"]] == ["Free", "Pro", "Pro (yearly)"]
        assert turkish.headers["vary"] == "Accept-Language"


class TestSubscription:
    @pytest.mark.backend_independent
    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/billing/subscription")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_none_yet_is_subscription_not_found(
        self, client: httpx.AsyncClient, auth: Any
    ) -> None:
        response = await client.get("/api/billing/subscription", headers=auth())
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "SUBSCRIPTION_NOT_FOUND"
        assert error["requestId"].startswith("req_")

    async def test_shape_in_camel_case(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="p1")
        response = await client.get("/api/billing/subscription", headers=auth())
        assert response.status_code == 200
        subscription = response.json()["subscription"]
        assert set(subscription) == {
            "id", "accountId", "planId", "status", "currentPeriodStart", "currentPeriodEnd",
            "cancelAtPeriodEnd", "trialEnd", "provider", "updatedAt",
        }  # fmt: skip
        assert subscription["id"].startswith("sub_")
        assert subscription["accountId"] == "acc_alice"
        assert subscription["status"] == "active"
        assert subscription["cancelAtPeriodEnd"] is False

    async def test_current_wins_over_newer_canceled(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        await record_subscription(
            app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="old", age_days=40
        )
        await record_subscription(app, "acc_alice", SubscriptionStatus.CANCELED, provider_id="new")
        response = await client.get("/api/billing/subscription", headers=auth())
        assert response.json()["subscription"]["status"] == "active"

    @pytest.mark.parametrize("older", list(SubscriptionStatus))
    async def test_an_older_subscription_wins_exactly_when_it_is_current(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, older: SubscriptionStatus
    ) -> None:
        # The SQL that picks the current row and SubscriptionStatus.is_current are one rule.
        await record_subscription(app, "acc_alice", older, provider_id="old", age_days=40)
        await record_subscription(app, "acc_alice", SubscriptionStatus.CANCELED, provider_id="new")
        response = await client.get("/api/billing/subscription", headers=auth())
        expected = older if older.is_current else SubscriptionStatus.CANCELED
        assert response.json()["subscription"]["status"] == expected.value

    async def test_one_account_never_sees_another(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="a1")
        response = await client.get("/api/billing/subscription", headers=auth("acc_mallory"))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"

    async def test_account_query_parameter_is_ignored(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="a2")
        response = await client.get(
            "/api/billing/subscription?accountId=acc_alice", headers=auth("acc_mallory")
        )
        assert response.status_code == 404
