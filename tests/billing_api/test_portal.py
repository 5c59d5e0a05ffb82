"""POST /api/billing/portal: the provider's card page for the signed-in account."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing_api.models import SubscriptionStatus
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import LANDING, record_subscription

PORTAL = "/api/billing/portal"


class TestPortal:
    async def test_answers_the_providers_page_for_the_current_subscription(
        self, client: httpx.AsyncClient, auth: Any, app: FastAPI, provider: FakeProvider
    ) -> None:
        await record_subscription(
            app, "acc_alice", SubscriptionStatus.PAST_DUE, provider_id="sub_a"
        )
        response = await client.post(PORTAL, json={"locale": "tr"}, headers=auth())
        assert response.status_code == 200
        assert response.json() == {"url": "https://pay.example/portal/sub_a"}
        sent = provider.portals[0]
        assert sent.subscription_id == "sub_a"
        assert sent.return_url == f"{LANDING}/account"
        assert sent.locale == "tr"

    async def test_an_allowed_return_url_is_passed_on(
        self, client: httpx.AsyncClient, auth: Any, app: FastAPI, provider: FakeProvider
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="sub_b")
        body = {"returnUrl": f"{LANDING}/account?notice=portal"}
        assert (await client.post(PORTAL, json=body, headers=auth())).status_code == 200
        assert provider.portals[0].return_url == f"{LANDING}/account?notice=portal"

    async def test_no_subscription_is_404(self, client: httpx.AsyncClient, auth: Any) -> None:
        response = await client.post(PORTAL, headers=auth())
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"

    async def test_another_accounts_subscription_is_never_opened(
        self, client: httpx.AsyncClient, auth: Any, app: FastAPI, provider: FakeProvider
    ) -> None:
        await record_subscription(app, "acc_bob", SubscriptionStatus.ACTIVE, provider_id="sub_bob")
        response = await client.post(PORTAL, headers=auth("acc_alice"))
        assert response.status_code == 404
        assert provider.portals == []

    async def test_provider_down_is_503(
        self, client: httpx.AsyncClient, auth: Any, app: FastAPI, provider: FakeProvider
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="sub_c")
        provider.down = True
        response = await client.post(PORTAL, headers=auth())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
        assert response.headers["retry-after"] == "5"


class TestPortalHostileInput:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic YTpi"}],
        ids=["none", "garbage", "basic"],
    )
    async def test_without_a_valid_token_401(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.post(PORTAL, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"

    @pytest.mark.parametrize(
        "url",
        [
            "https://evil.example/account",
            "http://127.0.0.1:19000@evil.example/",
            "javascript:alert(1)",
            "/account",
            f"{LANDING}/account\n",
        ],
    )
    async def test_return_urls_off_the_allow_list_are_refused(
        self, client: httpx.AsyncClient, auth: Any, app: FastAPI, provider: FakeProvider, url: str
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.ACTIVE, provider_id="sub_d")
        response = await client.post(PORTAL, json={"returnUrl": url}, headers=auth())
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "REDIRECT_URL_NOT_ALLOWED"
        assert provider.portals == []

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"{not json", "INVALID_JSON"),
            (b'{"returnUrl": 5}', "VALIDATION_ERROR"),
            (b'{"locale": "de"}', "VALIDATION_ERROR"),
            (b'{"surprise": true}', "VALIDATION_ERROR"),
            (b'["a"]', "VALIDATION_ERROR"),
        ],
    )
    async def test_malformed_bodies_are_coded(
        self, client: httpx.AsyncClient, auth: Any, content: bytes, code: str
    ) -> None:
        headers = auth(**{"Content-Type": "application/json"})
        response = await client.post(PORTAL, content=content, headers=headers)
        assert response.status_code in (400, 422)
        assert response.json()["error"]["code"] == code

    async def test_an_oversized_body_is_413(self, client: httpx.AsyncClient, auth: Any) -> None:
        body = b'{"returnUrl": "' + b"a" * 70_000 + b'"}'
        headers = auth(**{"Content-Type": "application/json"})
        response = await client.post(PORTAL, content=body, headers=headers)
        assert response.status_code == 413
