"""The JSON API for checkout sessions: shape, auth, validation, expire."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.sandbox_provider.support import (
    API_KEY,
    CANCEL_URL,
    PUBLIC_BASE,
    SUCCESS_URL,
    SandboxClient,
)


class TestCreateSession:
    async def test_answers_the_session_object(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session(expires_at=int(time.time()) + 1800, locale="tr")

        assert session["id"].startswith("cs_")
        assert session["object"] == "checkout.session"
        assert session["url"] == f"{PUBLIC_BASE}/checkout/{session['id']}"
        assert session["status"] == "open"
        assert session["payment_status"] == "unpaid"
        assert session["outcome"] == "open"
        assert session["error_code"] is None
        assert session["subscription"] is None
        assert session["client_reference_id"] == "pa_test"
        assert session["metadata"] == {
            "accountId": "acc_test",
            "paymentAttemptId": "pa_test",
            "planId": "pro_monthly",
        }
        assert session["success_url"] == SUCCESS_URL
        assert session["cancel_url"] == CANCEL_URL
        assert abs(session["expires_at"] - (time.time() + 1800)) < 5
        assert abs(session["created"] - time.time()) < 5
        assert session["updated"] >= session["created"] * 1000
        assert session["locale"] == "tr"

    async def test_defaults_to_a_day_long_session(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session()

        assert session["expires_at"] - session["created"] in range(86400 - 2, 86400 + 2)

    @pytest.mark.backend_independent
    async def test_refuses_a_missing_or_wrong_api_key(self, sandbox: SandboxClient) -> None:
        for headers in ({}, {"Authorization": "Bearer sk_test_wrong"}, {"Authorization": API_KEY}):
            response = await sandbox.http.post("/v1/checkout/sessions", json={}, headers=headers)

            assert response.status_code == 401
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"
            assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.backend_independent
    async def test_refuses_bad_fields(self, sandbox: SandboxClient) -> None:
        plan = {"id": "p", "name": "P", "amount": 100, "currency": "TRY", "interval": "week"}
        bodies = [
            {"plan": plan, "success_url": SUCCESS_URL, "cancel_url": CANCEL_URL},
            {
                "plan": {**plan, "interval": "month"},
                "success_url": "javascript:alert(1)",
                "cancel_url": CANCEL_URL,
            },
            {
                "plan": {**plan, "interval": "month"},
                "success_url": SUCCESS_URL,
                "cancel_url": CANCEL_URL,
                "mode": "subscription",
            },
            {
                "plan": {**plan, "interval": "month"},
                "success_url": SUCCESS_URL,
                "cancel_url": CANCEL_URL,
                "expires_at": int(time.time()) - 10,
            },
        ]
        for body in bodies:
            response = await sandbox.http.post(
                "/v1/checkout/sessions", json=body, headers=sandbox.auth
            )

            assert response.status_code == 422, body
            assert response.json()["error"]["code"] == "VALIDATION_ERROR"


class TestGetSession:
    @pytest.mark.backend_independent
    async def test_unknown_session_is_not_found(self, sandbox: SandboxClient) -> None:
        response = await sandbox.http.get("/v1/checkout/sessions/cs_nope", headers=sandbox.auth)

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"

    async def test_reads_back_what_was_created(self, sandbox: SandboxClient) -> None:
        created = await sandbox.create_session()

        assert await sandbox.session(created["id"]) == created


class TestExpireSession:
    async def test_ends_an_open_session(self, sandbox: SandboxClient) -> None:
        created = await sandbox.create_session()

        response = await sandbox.http.post(
            f"/v1/checkout/sessions/{created['id']}/expire", headers=sandbox.auth
        )

        assert response.status_code == 200
        expired = response.json()
        assert (expired["status"], expired["outcome"]) == ("expired", "expired")
        assert expired["updated"] > created["updated"]
        assert await sandbox.event_types(created["id"]) == ["checkout.session.expired"]
        page = await sandbox.http.get(f"/checkout/{created['id']}")
        assert 'data-outcome="expired"' in page.text

    async def test_leaves_a_paid_session_alone(self, sandbox: SandboxClient) -> None:
        created = await sandbox.create_session()
        await sandbox.pay(created)
        paid = await sandbox.session(created["id"])

        response = await sandbox.http.post(
            f"/v1/checkout/sessions/{created['id']}/expire", headers=sandbox.auth
        )

        assert response.json() == paid


class TestListSessions:
    async def list_page(self, sandbox: SandboxClient, **params: Any) -> dict[str, Any]:
        response = await sandbox.http.get(
            "/v1/checkout/sessions", params=params, headers=sandbox.auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def test_newest_first_a_page_at_a_time(self, sandbox: SandboxClient) -> None:
        made = [(await sandbox.create_session())["id"] for _ in range(5)]

        first = await self.list_page(sandbox, limit=2)
        second = await self.list_page(sandbox, limit=2, starting_after=first["data"][-1]["id"])
        last = await self.list_page(sandbox, limit=2, starting_after=second["data"][-1]["id"])

        pages = [first, second, last]
        listed = [session["id"] for page in pages for session in page["data"]]
        assert sorted(listed) == sorted(made)
        assert len(set(listed)) == 5
        assert [page["has_more"] for page in pages] == [True, True, False]
        assert first["object"] == "list"
        assert first["data"][0]["object"] == "checkout.session"

    async def test_only_sessions_created_since(self, sandbox: SandboxClient) -> None:
        await sandbox.create_session()
        await sandbox.advance(days=2)
        later = await sandbox.create_session()

        page = await self.list_page(sandbox, **{"created[gte]": later["created"]})

        assert [session["id"] for session in page["data"]] == [later["id"]]

    async def test_a_session_past_its_deadline_lists_as_expired(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session(expires_at=int(time.time()) + 1800)
        response = await sandbox.http.post(
            "/v1/test_clock/advance", json={"seconds": 3600}, headers=sandbox.auth
        )
        assert response.status_code == 200

        listed = (await self.list_page(sandbox))["data"]

        assert [(s["id"], s["outcome"]) for s in listed] == [(session["id"], "expired")]

    async def test_refuses_an_unknown_cursor_and_bad_limits(self, sandbox: SandboxClient) -> None:
        for params in ({"starting_after": "cs_missing"}, {"limit": 0}, {"limit": 101},
                       {"created[gte]": -1}, {"created[gte]": "soon"},
                       {"starting_after": "cs_\x00"}, {"starting_after": "x" * 41}):  # fmt: skip
            response = await sandbox.http.get(
                "/v1/checkout/sessions", params=params, headers=sandbox.auth
            )
            assert response.status_code in (404, 422), (params, response.text)
            assert response.json()["error"]["code"] in ("NOT_FOUND", "VALIDATION_ERROR")

    async def test_billing_apis_stub_adapter_reads_the_listing(
        self, sandbox: SandboxClient
    ) -> None:
        from datetime import UTC, datetime, timedelta

        from services.billing_api.provider_adapter import CheckoutOutcome
        from services.billing_api.providers.stub import StubProvider
        from tests.sandbox_provider.support import sandbox_settings

        ours = [await sandbox.create_session(client_reference_id=f"pa_{i}") for i in range(3)]
        await sandbox.create_session(client_reference_id=None, metadata={})  # not billing_api's
        await sandbox.pay(ours[0])
        adapter = StubProvider(
            sandbox_settings("sqlite+aiosqlite://"),
            transport=httpx.ASGITransport(app=sandbox.app),
        )
        try:
            found = await adapter.list_checkouts(
                created_since=datetime.now(UTC) - timedelta(hours=1)
            )
        finally:
            await adapter.aclose()

        assert sorted(f.state.session_id for f in found) == sorted(s["id"] for s in ours)
        by_id = {f.state.session_id: f for f in found}
        paid = by_id[ours[0]["id"]]
        assert paid.state.outcome == CheckoutOutcome.PAID
        assert paid.state.subscription_id is not None
        assert paid.account_id == "acc_test"
        assert paid.plan_id == "pro_monthly"
        assert paid.success_url == SUCCESS_URL
        assert by_id[ours[1]["id"]].state.outcome == CheckoutOutcome.OPEN
        assert by_id[ours[1]["id"]].checkout_url == ours[1]["url"]
