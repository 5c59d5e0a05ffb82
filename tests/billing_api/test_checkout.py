"""POST /api/billing/checkout/start and GET /api/billing/checkout/status."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.billing_api.models import OutboxMessage, SubscriptionStatus
from services.billing_api.provider_adapter import CheckoutOutcome
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import (
    LANDING,
    START,
    STATUS,
    attempt_count,
    checkout_body,
    record_subscription,
)


class TestStart:
    async def test_creates_a_pending_attempt_with_the_providers_url(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        response = await client.post(START, json=checkout_body(), headers=auth())
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"paymentAttemptId", "status", "checkoutUrl", "expiresAt"}
        assert body["paymentAttemptId"].startswith("pa_")
        assert body["status"] == "pending"
        assert body["checkoutUrl"].startswith("https://pay.example/cs_fake_")
        sent = provider.sessions[provider.session_of(body["paymentAttemptId"])].request
        assert sent.account_id == "acc_alice"
        assert sent.plan.id == "pro_monthly"

    async def test_appends_the_attempt_id_to_both_return_urls(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        body = checkout_body(successUrl=f"{LANDING}/billing/success?from=pricing")
        response = await client.post(START, json=body, headers=auth())
        attempt_id = response.json()["paymentAttemptId"]
        sent = provider.sessions[provider.session_of(attempt_id)].request
        success = parse_qs(urlsplit(sent.success_url).query)
        assert success == {"from": ["pricing"], "paymentAttemptId": [attempt_id]}
        assert parse_qs(urlsplit(sent.cancel_url).query) == {"paymentAttemptId": [attempt_id]}

    @pytest.mark.parametrize(
        "url",
        [
            "https://evil.example/billing/success",
            "http://127.0.0.1:19000@evil.example/x",
            "javascript:alert(1)",
            "/billing/success",
            "http://127.0.0.1:19001/billing/success",
        ],
    )
    @pytest.mark.backend_independent
    async def test_redirect_outside_the_allow_list_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, url: str
    ) -> None:
        response = await client.post(START, json=checkout_body(cancelUrl=url), headers=auth())
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "REDIRECT_URL_NOT_ALLOWED"
        # The answer names the field and what would be accepted, so an integrator can fix it.
        assert error["details"] == {"field": "cancelUrl", "allowedOrigins": [LANDING]}
        assert await attempt_count(app) == 0

    @pytest.mark.backend_independent
    async def test_unknown_plan(self, client: httpx.AsyncClient, auth: Any) -> None:
        response = await client.post(START, json=checkout_body(planId="gold"), headers=auth())
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PLAN_NOT_FOUND"

    @pytest.mark.backend_independent
    async def test_free_plan_cannot_be_bought(self, client: httpx.AsyncClient, auth: Any) -> None:
        response = await client.post(START, json=checkout_body(planId="free"), headers=auth())
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "PLAN_NOT_PURCHASABLE"

    @pytest.mark.parametrize("status", [SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING])
    async def test_current_subscriber_gets_already_subscribed(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, status: SubscriptionStatus
    ) -> None:
        await record_subscription(app, "acc_alice", status, provider_id="s1")
        response = await client.post(START, json=checkout_body(), headers=auth())
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "ALREADY_SUBSCRIBED"
        assert await attempt_count(app) == 0

    async def test_past_due_subscriber_may_buy_again(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        await record_subscription(app, "acc_alice", SubscriptionStatus.CANCELED, provider_id="s2")
        response = await client.post(START, json=checkout_body(), headers=auth())
        assert response.status_code == 201

    async def test_a_new_checkout_ends_the_older_open_one(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        first = await client.post(START, json=checkout_body(), headers=auth())
        second = await client.post(START, json=checkout_body(), headers=auth())
        first_id = first.json()["paymentAttemptId"]
        assert provider.expired == [provider.session_of(first_id)]
        old = await client.get(STATUS, params={"paymentAttemptId": first_id}, headers=auth())
        assert old.json()["status"] == "expired"
        new = await client.get(
            STATUS, params={"paymentAttemptId": second.json()["paymentAttemptId"]}, headers=auth()
        )
        assert new.json()["status"] == "pending"

    async def test_provider_down_is_503_and_creates_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        provider.down = True
        headers = auth(**{"Idempotency-Key": "k-down"})
        response = await client.post(START, json=checkout_body(), headers=headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
        assert response.headers["retry-after"] == "5"
        assert await attempt_count(app) == 0
        # The key was released: once the provider is back, the same key works.
        provider.down = False
        retry = await client.post(START, json=checkout_body(), headers=headers)
        assert retry.status_code == 201
        assert await attempt_count(app) == 1

    @pytest.mark.backend_independent
    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(START, json=checkout_body())
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


class TestIdempotency:
    async def test_same_key_same_body_replays_without_a_second_attempt(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        headers = auth(**{"Idempotency-Key": "order-1"})
        first = await client.post(START, json=checkout_body(), headers=headers)
        second = await client.post(START, json=checkout_body(), headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert provider.create_calls == 1
        assert await attempt_count(app) == 1

    async def test_same_key_other_body_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        headers = auth(**{"Idempotency-Key": "order-2"})
        await client.post(START, json=checkout_body(), headers=headers)
        other = await client.post(START, json=checkout_body(planId="pro_yearly"), headers=headers)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert await attempt_count(app) == 1

    async def test_keys_belong_to_one_account(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        alice = await client.post(
            START, json=checkout_body(), headers=auth("acc_alice", **{"Idempotency-Key": "k"})
        )
        bob = await client.post(
            START, json=checkout_body(), headers=auth("acc_bob", **{"Idempotency-Key": "k"})
        )
        assert alice.status_code == bob.status_code == 201
        assert alice.json()["paymentAttemptId"] != bob.json()["paymentAttemptId"]

    async def test_concurrent_requests_with_one_key_create_one_attempt(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        import asyncio

        headers = auth(**{"Idempotency-Key": "burst"})
        responses = await asyncio.gather(
            *(client.post(START, json=checkout_body(), headers=headers) for _ in range(8))
        )
        ok = [r for r in responses if r.status_code == 201]
        assert ok, [r.json() for r in responses]
        assert {r.json()["paymentAttemptId"] for r in ok} == {ok[0].json()["paymentAttemptId"]}
        others = [r for r in responses if r.status_code != 201]
        assert all(r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" for r in others)
        assert provider.create_calls == 1
        assert await attempt_count(app) == 1

    async def test_a_key_expires_after_its_ttl(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any
    ) -> None:
        from datetime import UTC, datetime, timedelta

        from sqlalchemy import update

        from services.billing_api.models import IdempotencyKey

        headers = auth(**{"Idempotency-Key": "yesterday"})
        first = await client.post(START, json=checkout_body(), headers=headers)
        async with app.state.billing.sessions() as session, session.begin():
            await session.execute(
                update(IdempotencyKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        again = await client.post(START, json=checkout_body(planId="pro_yearly"), headers=headers)
        assert again.status_code == 201
        assert again.json()["paymentAttemptId"] != first.json()["paymentAttemptId"]

    @pytest.mark.backend_independent
    @pytest.mark.parametrize("key", ["", " padded", "x" * 256])
    async def test_malformed_key(self, client: httpx.AsyncClient, auth: Any, key: str) -> None:
        response = await client.post(
            START, json=checkout_body(), headers=auth(**{"Idempotency-Key": key})
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_INVALID"


class TestStatus:
    async def start(self, client: httpx.AsyncClient, headers: dict[str, str]) -> str:
        response = await client.post(START, json=checkout_body(), headers=headers)
        return str(response.json()["paymentAttemptId"])

    async def test_pending_while_the_session_is_open(
        self, client: httpx.AsyncClient, auth: Any
    ) -> None:
        attempt_id = await self.start(client, auth())
        response = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "paymentAttemptId", "status", "planId", "subscriptionStatus", "error", "updatedAt"
        }  # fmt: skip
        assert body["status"] == "pending"
        assert body["subscriptionStatus"] is None
        assert body["error"] is None

    async def test_paid_before_the_webhook_shows_succeeded_and_active(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        attempt_id = await self.start(client, auth())
        provider.pay(provider.session_of(attempt_id))
        response = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        body = response.json()
        assert body["status"] == "succeeded"
        assert body["subscriptionStatus"] == "active"
        assert body["error"] is None
        subscription = await client.get("/api/billing/subscription", headers=auth())
        assert subscription.json()["subscription"]["status"] == "active"

    async def test_paid_before_the_webhook_is_announced_to_the_planner(
        self, app: FastAPI, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        # The buyer's success page reads the status before the webhook is applied; the
        # planner must still hear of the subscription (the webhook later changes nothing).
        attempt_id = await self.start(client, auth())
        provider.pay(provider.session_of(attempt_id))
        await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        async with app.state.billing.sessions() as session:
            messages = (await session.scalars(select(OutboxMessage))).all()
        assert [(m.event_type, m.account_id) for m in messages] == [
            ("subscription.updated", "acc_alice")
        ]

    async def test_declined_card_carries_the_code_and_a_turkish_message(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        attempt_id = await self.start(client, auth())
        provider.settle(provider.session_of(attempt_id), CheckoutOutcome.FAILED, "CARD_DECLINED")
        response = await client.get(
            STATUS,
            params={"paymentAttemptId": attempt_id},
            headers=auth(**{"Accept-Language": "tr-TR,tr;q=0.9"}),
        )
        body = response.json()
        assert body["status"] == "failed"
        assert body["error"] == {
            "code": "CARD_DECLINED",
            "message": "Kartınız reddedildi. Lütfen başka bir kart deneyin.",
        }
        assert body["subscriptionStatus"] is None

    @pytest.mark.parametrize(
        ("outcome", "status", "code"),
        [
            (CheckoutOutcome.CANCELED, "canceled", "CHECKOUT_CANCELED"),
            (CheckoutOutcome.EXPIRED, "expired", "CHECKOUT_EXPIRED"),
        ],
    )
    async def test_canceled_and_expired(
        self,
        client: httpx.AsyncClient,
        auth: Any,
        provider: FakeProvider,
        outcome: CheckoutOutcome,
        status: str,
        code: str,
    ) -> None:
        attempt_id = await self.start(client, auth())
        provider.settle(provider.session_of(attempt_id), outcome)
        response = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        assert response.json()["status"] == status
        assert response.json()["error"]["code"] == code

    async def test_settled_attempt_never_changes(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        attempt_id = await self.start(client, auth())
        session_id = provider.session_of(attempt_id)
        provider.settle(session_id, CheckoutOutcome.CANCELED)
        await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        provider.pay(session_id)  # a provider that misbehaves later
        response = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        assert response.json()["status"] == "canceled"

    async def test_provider_down_keeps_pending(
        self, client: httpx.AsyncClient, auth: Any, provider: FakeProvider
    ) -> None:
        attempt_id = await self.start(client, auth())
        provider.down = True
        response = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        assert response.status_code == 200
        assert response.json()["status"] == "pending"

    async def test_another_accounts_attempt_is_not_found(
        self, client: httpx.AsyncClient, auth: Any
    ) -> None:
        attempt_id = await self.start(client, auth("acc_alice"))
        response = await client.get(
            STATUS, params={"paymentAttemptId": attempt_id}, headers=auth("acc_mallory")
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PAYMENT_ATTEMPT_NOT_FOUND"
        unknown = await client.get(
            STATUS, params={"paymentAttemptId": "pa_nope"}, headers=auth("acc_mallory")
        )
        assert unknown.json()["error"] | {"requestId": None} == response.json()["error"] | {
            "requestId": None
        }

    @pytest.mark.backend_independent
    async def test_missing_parameter(self, client: httpx.AsyncClient, auth: Any) -> None:
        response = await client.get(STATUS, headers=auth())
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
