"""POST /api/billing/webhooks/{provider}: verified, stored once, applied exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, make_url, select

from services.billing_api import direct_ingest, lifecycle, webhooks
from services.billing_api.models import (
    InboxStatus,
    OutboxMessage,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.settings import Settings
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.sandbox_events import (
    envelope,
    session_object,
    signed_headers,
    subscription_object,
)
from tests.billing_api.support import START, STATUS, checkout_body

HOOK = "/api/billing/webhooks/stub"


async def count(app: FastAPI, model: Any) -> int:
    async with app.state.billing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def post_event(
    client: httpx.AsyncClient, settings: Settings, body: bytes, **kwargs: Any
) -> httpx.Response:
    return await client.post(HOOK, content=body, headers=signed_headers(body, settings, **kwargs))


def now_ms() -> int:
    return int(time.time() * 1000)


class TestVerification:
    async def test_signed_event_is_applied(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings, auth: Any
    ) -> None:
        body = envelope(
            "customer.subscription.created", subscription_object("sub_1", "active", updated_ms=1)
        )
        response = await post_event(client, settings, body)
        assert response.status_code == 200
        assert response.json()["received"] is True
        assert response.json()["duplicate"] is False
        subscription = await client.get("/api/billing/subscription", headers=auth())
        assert subscription.json()["subscription"]["status"] == "active"

    @pytest.mark.backend_independent
    async def test_tampered_body_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        body = envelope(
            "customer.subscription.created", subscription_object("s", "active", updated_ms=1)
        )
        headers = signed_headers(body, settings)
        tampered = body.replace(b'"active"', b'"trialing"')
        response = await client.post(HOOK, content=tampered, headers=headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
        assert await count(app, WebhookInboxEvent) == 0

    @pytest.mark.backend_independent
    async def test_missing_signature_is_refused(self, client: httpx.AsyncClient) -> None:
        body = envelope("invoice.paid", {"id": "in_1", "object": "invoice"})
        response = await client.post(HOOK, content=body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    @pytest.mark.backend_independent
    async def test_stale_timestamp_is_refused(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        body = envelope("invoice.paid", {"id": "in_1", "object": "invoice"})
        old = datetime.now(UTC) - timedelta(minutes=10)
        response = await post_event(client, settings, body, at=old)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    @pytest.mark.backend_independent
    async def test_signed_but_unreadable_is_payload_invalid(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        response = await post_event(client, settings, b'{"hello": "world"}')
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_PAYLOAD_INVALID"

    @pytest.mark.backend_independent
    async def test_unknown_provider(self, client: httpx.AsyncClient, settings: Settings) -> None:
        body = envelope("invoice.paid", {"id": "in_1", "object": "invoice"})
        response = await client.post(
            "/api/billing/webhooks/paypal", content=body, headers=signed_headers(body, settings)
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "PROVIDER_NOT_CONFIGURED"


class TestExactlyOnce:
    async def test_duplicate_is_acknowledged_and_applied_once(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        body = envelope(
            "customer.subscription.created",
            subscription_object("sub_d", "active", updated_ms=now_ms()),
            event_id="evt_dup",
        )
        first = await post_event(client, settings, body)
        second = await post_event(client, settings, body, msg_id="msg_2")
        assert first.status_code == second.status_code == 200
        assert second.json()["duplicate"] is True
        assert await count(app, WebhookInboxEvent) == 1
        assert await count(app, SubscriptionChange) == 1

    async def test_an_event_arriving_while_another_writer_holds_the_file_is_stored_once(
        self, sqlite_app: FastAPI
    ) -> None:
        # SQLite: stored on the event loop's thread while the file is free; locked, the
        # event waits its turn on the write engine instead, and the loop goes on.
        settings = sqlite_app.state.settings
        body = envelope(
            "customer.subscription.created",
            subscription_object("sub_l", "active", updated_ms=now_ms()),
            event_id="evt_locked",
        )
        holder = sqlite3.connect(str(make_url(settings.billing_database_url).database))
        transport = httpx.ASGITransport(app=sqlite_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://billing.test") as client:
            try:
                holder.execute("BEGIN IMMEDIATE")  # another process writing
                posting = asyncio.ensure_future(post_event(client, settings, body))
                started = time.monotonic()
                await asyncio.sleep(0.3)
                assert time.monotonic() - started < 1.0  # the loop was not held
                assert not posting.done()
            finally:
                holder.rollback()
                holder.close()
            first = await asyncio.wait_for(posting, timeout=10)
            again = await post_event(client, settings, body, msg_id="msg_again")
        assert first.status_code == again.status_code == 200, first.text
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
        assert await count(sqlite_app, WebhookInboxEvent) == 1
        assert await count(sqlite_app, SubscriptionChange) == 1

    async def test_older_event_never_overwrites_newer_state(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings, auth: Any
    ) -> None:
        newer = envelope(
            "customer.subscription.updated",
            subscription_object("sub_o", "past_due", updated_ms=2000),
        )
        older = envelope(
            "customer.subscription.created", subscription_object("sub_o", "active", updated_ms=1000)
        )
        await post_event(client, settings, newer)
        await post_event(client, settings, older)
        response = await client.get("/api/billing/subscription", headers=auth())
        assert response.json()["subscription"]["status"] == "past_due"

    async def test_checkout_completed_settles_the_attempt(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        settings: Settings,
        auth: Any,
        provider: FakeProvider,
    ) -> None:
        started = await client.post(START, json=checkout_body(), headers=auth())
        attempt_id = started.json()["paymentAttemptId"]
        session_id = provider.session_of(attempt_id)
        await post_event(
            client,
            settings,
            envelope(
                "customer.subscription.created",
                subscription_object("sub_c", "active", updated_ms=now_ms()),
            ),
        )
        await post_event(
            client,
            settings,
            envelope(
                "checkout.session.completed",
                session_object(session_id, attempt_id, "paid", subscription="sub_c"),
            ),
        )
        provider.down = True  # the answer must come from the webhook, not a poll
        status = await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())
        assert status.json()["status"] == "succeeded"
        assert status.json()["subscriptionStatus"] == "active"

    async def test_failed_apply_is_kept_and_retried_by_the_worker(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        settings: Settings,
        auth: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        real = lifecycle.apply_subscription_state

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("database hiccup")

        # Both ways a new subscription is stored: straight through the driver and, when
        # that fails, through the session.
        monkeypatch.setattr(direct_ingest, "store_new_subscription", broken)
        monkeypatch.setattr(webhooks, "apply_subscription_state", broken)
        body = envelope(
            "customer.subscription.created",
            subscription_object("sub_r", "active", updated_ms=now_ms()),
        )
        response = await post_event(client, settings, body)
        assert response.status_code == 200  # stored: the provider must not need to resend
        async with app.state.billing.sessions() as session:
            row = await session.scalar(select(WebhookInboxEvent))
        assert row is not None
        assert row.status == InboxStatus.PENDING
        assert row.attempts == 1
        assert "database hiccup" in (row.last_error or "")

        monkeypatch.setattr(webhooks, "apply_subscription_state", real)
        async with app.state.billing.sessions() as session, session.begin():
            stored = await session.get(WebhookInboxEvent, row.id)
            assert stored is not None
            stored.next_attempt_at = datetime.now(UTC)  # due now instead of after the backoff
        assert await webhooks.apply_due(app.state.billing) == 1
        assert await webhooks.apply_due(app.state.billing) == 0
        subscription = await client.get("/api/billing/subscription", headers=auth())
        assert subscription.json()["subscription"]["status"] == "active"
        assert await count(app, SubscriptionChange) == 1


class TestBillingEventsOut:
    async def test_each_change_is_announced_once_per_subscriber_signed(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        import standardwebhooks

        from services.billing_api.events_out import deliver_due

        t = now_ms()
        period: dict[str, Any] = {
            "current_period_start": t // 1000,
            "current_period_end": t // 1000 + 30 * 86400,
        }
        for status, updated in (("active", t), ("active", t + 1), ("past_due", t + 2)):
            body = envelope(
                "customer.subscription.updated",
                # One period for all three: a second ticking between them is no change.
                subscription_object("sub_e", status, updated_ms=updated, **period),
            )
            await post_event(client, settings, body)
        # The repeated "active" report changed nothing, so it announced nothing.
        assert await count(app, OutboxMessage) == 2

        received: list[httpx.Request] = []
        failures = {"left": 1}

        def subscriber(request: httpx.Request) -> httpx.Response:
            if failures["left"]:
                failures["left"] -= 1
                return httpx.Response(503)
            received.append(request)
            return httpx.Response(204)

        secret = settings.billing_events_secret.get_secret_value()
        async with httpx.AsyncClient(transport=httpx.MockTransport(subscriber)) as http:
            assert await deliver_due(app.state.billing.sessions, http, secret) == 1
            async with app.state.billing.sessions() as session, session.begin():
                for message in (await session.scalars(select(OutboxMessage))).all():
                    message.next_attempt_at = datetime.now(UTC)
            assert await deliver_due(app.state.billing.sessions, http, secret) == 1
            assert await deliver_due(app.state.billing.sessions, http, secret) == 0

        verifier = standardwebhooks.Webhook(secret)
        statuses = []
        for request in received:
            payload = verifier.verify(request.content, dict(request.headers))
            assert payload["type"] == "subscription.updated"
            assert payload["data"]["accountId"] == "acc_alice"
            statuses.append(payload["data"]["subscription"]["status"])
        assert sorted(statuses) == ["active", "past_due"]
        assert {str(r.url) for r in received} == set(settings.events_subscribers)

    async def test_a_failed_send_is_recorded_and_waits_out_its_backoff(
        self, app: FastAPI, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        from services.billing_api.events_out import deliver_due

        body = envelope(
            "customer.subscription.created",
            subscription_object("sub_backoff", "active", updated_ms=now_ms()),
        )
        await post_event(client, settings, body)
        answers = iter([httpx.Response(503), httpx.Response(204)])
        secret = settings.billing_events_secret.get_secret_value()
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(lambda _request: next(answers))
        ) as http:
            assert await deliver_due(app.state.billing.sessions, http, secret) == 0
            async with app.state.billing.sessions() as session:
                failed = await session.scalar(select(OutboxMessage))
            assert failed is not None
            assert (failed.attempts, failed.last_status_code) == (1, 503)
            assert failed.last_error == "HTTP 503"
            assert failed.delivered_at is None
            assert failed.lease_until is None
            assert failed.next_attempt_at > datetime.now(UTC)  # backing off, not due
            assert await deliver_due(app.state.billing.sessions, http, secret) == 0

            async with app.state.billing.sessions() as session, session.begin():
                message = await session.get(OutboxMessage, failed.id)
                assert message is not None
                message.next_attempt_at = datetime.now(UTC)
            assert await deliver_due(app.state.billing.sessions, http, secret) == 1
        async with app.state.billing.sessions() as session:
            delivered = await session.get(OutboxMessage, failed.id)
        assert delivered is not None
        assert (delivered.attempts, delivered.last_status_code, delivered.last_error) == (
            2,
            204,
            None,
        )
        assert delivered.delivered_at is not None


class TestCancelResume:
    async def make_active(
        self, client: httpx.AsyncClient, settings: Settings, provider: FakeProvider, auth: Any
    ) -> None:
        started = await client.post(START, json=checkout_body(), headers=auth())
        attempt_id = started.json()["paymentAttemptId"]
        provider.pay(provider.session_of(attempt_id))
        await client.get(STATUS, params={"paymentAttemptId": attempt_id}, headers=auth())

    async def test_cancel_at_period_end_then_resume(
        self, client: httpx.AsyncClient, settings: Settings, provider: FakeProvider, auth: Any
    ) -> None:
        await self.make_active(client, settings, provider, auth)
        canceled = await client.post("/api/billing/subscription/cancel", headers=auth())
        assert canceled.status_code == 200
        assert canceled.json()["subscription"]["cancelAtPeriodEnd"] is True
        assert canceled.json()["subscription"]["status"] == "active"
        again = await client.post("/api/billing/subscription/cancel", headers=auth())
        assert again.json()["subscription"]["cancelAtPeriodEnd"] is True
        resumed = await client.post("/api/billing/subscription/resume", headers=auth())
        assert resumed.json()["subscription"]["cancelAtPeriodEnd"] is False

    @pytest.mark.backend_independent
    async def test_cancel_without_subscription(self, client: httpx.AsyncClient, auth: Any) -> None:
        response = await client.post("/api/billing/subscription/cancel", headers=auth())
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"

    async def test_provider_down_is_503(
        self, client: httpx.AsyncClient, settings: Settings, provider: FakeProvider, auth: Any
    ) -> None:
        await self.make_active(client, settings, provider, auth)
        provider.down = True
        response = await client.post("/api/billing/subscription/cancel", headers=auth())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
