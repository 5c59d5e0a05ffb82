"""The test clock, and what time does to sessions and subscriptions."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from services.sandbox_provider.clock import add_months, move_clock
from services.sandbox_provider.database import transaction
from tests.sandbox_provider.support import (
    AppFactory,
    SandboxClient,
    advance_past,
    clock_now,
    running,
)

YEARLY_TRIAL = {"id": "pro_yearly", "interval": "year", "amount": 299000, "trial_days": 14}


class TestClockApi:
    async def test_starts_at_real_time(self, sandbox: SandboxClient) -> None:
        response = await sandbox.http.get("/v1/test_clock", headers=sandbox.auth)

        assert response.status_code == 200
        body = response.json()
        assert body["offsetSeconds"] == 0
        assert abs(body["now"] - time.time()) < 5

    async def test_advance_moves_now_by_days_and_seconds(self, sandbox: SandboxClient) -> None:
        first = await sandbox.advance(days=2)
        second = await sandbox.advance(seconds=30)

        assert first["offsetSeconds"] == 2 * 86400
        assert abs(first["now"] - (time.time() + 2 * 86400)) < 5
        assert first["processed"] == 0
        assert second["offsetSeconds"] == 2 * 86400 + 30

    async def test_never_goes_back(self, sandbox: SandboxClient) -> None:
        for body in ({"days": -1}, {"seconds": -5}, {"weeks": 1}):
            response = await sandbox.http.post(
                "/v1/test_clock/advance", json=body, headers=sandbox.auth
            )

            assert response.status_code == 422
            assert response.json()["error"]["code"] == "VALIDATION_ERROR"

    @pytest.mark.backend_independent
    async def test_needs_the_api_key(self, sandbox: SandboxClient) -> None:
        response = await sandbox.http.post("/v1/test_clock/advance", json={"days": 1})

        assert response.status_code == 401

    async def test_survives_a_restart(self, make_app: AppFactory) -> None:
        async with running(make_app()) as sandbox:
            await sandbox.advance(days=10)

        async with running(make_app()) as sandbox:
            body = (await sandbox.http.get("/v1/test_clock", headers=sandbox.auth)).json()

        assert body["offsetSeconds"] == 10 * 86400


class TestSessionExpiry:
    async def test_advancing_past_the_deadline_expires_an_open_session(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session(expires_at=int(time.time()) + 1800)

        result = await sandbox.advance(days=1)

        assert result["processed"] == 1
        expired = await sandbox.session(session["id"])
        assert (expired["status"], expired["outcome"]) == ("expired", "expired")
        [event] = await sandbox.events()
        assert event["type"] == "checkout.session.expired"
        assert event["created"] == session["expires_at"]
        page = await sandbox.http.get(f"/checkout/{session['id']}")
        assert 'data-outcome="expired"' in page.text
        assert 'data-testid="pay"' not in page.text

    async def test_a_read_tells_the_truth_before_the_clock_worker_runs(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session(expires_at=int(time.time()) + 60)
        # Move the clock without running anything due, as if no worker had looked yet.
        async with transaction(sandbox.app.state.sandbox.sessions) as db:
            await move_clock(db, 120)

        expired = await sandbox.session(session["id"])

        assert expired["outcome"] == "expired"
        assert await sandbox.event_types() == ["checkout.session.expired"]

    async def test_a_paid_session_does_not_expire(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session(expires_at=int(time.time()) + 1800)
        await sandbox.pay(session)

        await sandbox.advance(days=1)

        assert (await sandbox.session(session["id"]))["outcome"] == "paid"

    async def test_a_session_opened_after_an_advance_lives_its_full_lifetime(
        self, sandbox: SandboxClient
    ) -> None:
        await sandbox.advance(days=40)

        session = await sandbox.create_session(expires_at=int(time.time()) + 1800)

        assert session["outcome"] == "open"
        assert abs(session["expires_at"] - (await clock_now(sandbox) + 1800)) < 5


class TestTrial:
    async def test_trial_end_starts_the_first_paid_period(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription(plan=YEARLY_TRIAL)
        trialing = await sandbox.subscription(subscription_id)

        await sandbox.advance(days=13)
        assert (await sandbox.subscription(subscription_id))["status"] == "trialing"
        await advance_past(sandbox, trialing["trial_end"])

        active = await sandbox.subscription(subscription_id)
        assert active["status"] == "active"
        assert active["trial_end"] == trialing["trial_end"]
        assert active["current_period_start"] == trialing["trial_end"]
        start = datetime.fromtimestamp(active["current_period_start"], UTC)
        assert active["current_period_end"] == int(add_months(start, 12).timestamp())
        assert active["updated"] > trialing["updated"]
        assert await sandbox.event_types(subscription_id) == [
            "customer.subscription.created",
            "invoice.paid",
            "invoice.paid",
            "customer.subscription.updated",
        ]
        invoice = (await sandbox.events("invoice.paid"))[-1]["data"]["object"]
        assert (invoice["amount_due"], invoice["billing_reason"]) == (
            299000,
            "subscription_cycle",
        )

    async def test_a_card_that_fails_renewals_goes_past_due_at_trial_end(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await sandbox.paid_subscription("4000000000000341", plan=YEARLY_TRIAL)
        trialing = await sandbox.subscription(subscription_id)

        await advance_past(sandbox, trialing["trial_end"])

        assert (await sandbox.subscription(subscription_id))["status"] == "past_due"
        assert "invoice.payment_failed" in await sandbox.event_types(subscription_id)


class TestRenewals:
    async def test_each_period_end_renews_and_bills(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        first = await sandbox.subscription(subscription_id)

        await advance_past(sandbox, first["current_period_end"])

        renewed = await sandbox.subscription(subscription_id)
        assert renewed["status"] == "active"
        assert renewed["current_period_start"] == first["current_period_end"]
        assert renewed["current_period_end"] > renewed["current_period_start"] + 27 * 86400
        assert renewed["updated"] > first["updated"]
        invoice = (await sandbox.events("invoice.paid"))[-1]["data"]["object"]
        assert invoice["subscription"] == subscription_id
        assert invoice["status"] == "paid"
        assert invoice["amount_due"] == 29900
        assert invoice["currency"] == "TRY"
        assert invoice["period_start"] == renewed["current_period_start"]

    async def test_a_year_of_renewals_runs_in_time_order(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()

        result = await sandbox.advance(days=366)

        assert result["processed"] == 12
        events = await sandbox.events()
        assert [e["type"] for e in events].count("invoice.paid") == 13
        created = [e["created"] for e in events]
        assert created == sorted(created)
        updated = [
            e["data"]["object"]["updated"]
            for e in events
            if e["type"].startswith("customer.subscription")
        ]
        assert updated == sorted(updated)
        assert len(set(updated)) == len(updated)  # strictly increasing
        assert (await sandbox.subscription(subscription_id))["status"] == "active"

    def test_months_keep_the_anchor_day(self) -> None:
        anchor = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)

        assert add_months(anchor, 1) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
        assert add_months(anchor, 2) == datetime(2027, 3, 31, 9, 30, tzinfo=UTC)
        assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1).day == 29
        assert add_months(anchor, 12) == datetime(2028, 1, 31, 9, 30, tzinfo=UTC)


class TestDunning:
    async def _past_due(self, sandbox: SandboxClient) -> tuple[str, dict[str, object]]:
        subscription_id = await sandbox.paid_subscription("4000 0000 0000 0341")
        first = await sandbox.subscription(subscription_id)
        assert first["status"] == "active"  # the first payment succeeds
        await advance_past(sandbox, first["current_period_end"])
        return subscription_id, first

    async def test_renewal_fails_then_retries_then_cancels(self, sandbox: SandboxClient) -> None:
        subscription_id, first = await self._past_due(sandbox)

        past_due = await sandbox.subscription(subscription_id)
        assert past_due["status"] == "past_due"
        [failed] = await sandbox.events("invoice.payment_failed")
        assert failed["data"]["object"]["attempt_count"] == 1
        assert failed["data"]["object"]["status"] == "open"

        renewal_at = int(str(first["current_period_end"]))
        await advance_past(sandbox, renewal_at + 3 * 86400)
        assert (await sandbox.subscription(subscription_id))["status"] == "past_due"
        attempts = [
            e["data"]["object"]["attempt_count"]
            for e in await sandbox.events("invoice.payment_failed")
        ]
        assert attempts == [1, 2]

        await advance_past(sandbox, renewal_at + 8 * 86400)
        canceled = await sandbox.subscription(subscription_id)
        assert canceled["status"] == "canceled"
        assert canceled["canceled_at"] == renewal_at + 8 * 86400
        assert await sandbox.event_types(subscription_id) == [
            "customer.subscription.created",
            "invoice.paid",
            "invoice.payment_failed",
            "customer.subscription.updated",
            "invoice.payment_failed",
            "invoice.payment_failed",
            "customer.subscription.deleted",
        ]
        # Nothing more happens to it.
        assert (await sandbox.advance(days=400))["processed"] == 0

    async def test_final_status_can_be_unpaid(self, make_app: AppFactory) -> None:
        async with running(make_app(dunning_final_status="unpaid")) as sandbox:
            subscription_id, first = await self._past_due(sandbox)

            await advance_past(sandbox, int(str(first["current_period_end"])) + 8 * 86400)

            unpaid = await sandbox.subscription(subscription_id)
            assert unpaid["status"] == "unpaid"
            assert unpaid["canceled_at"] is None
            types = await sandbox.event_types(subscription_id)
            assert types[-1] == "customer.subscription.updated"
            assert "customer.subscription.deleted" not in types

    async def test_retry_days_are_configurable(self, make_app: AppFactory) -> None:
        async with running(make_app(dunning_retry_days=[1])) as sandbox:
            subscription_id, first = await self._past_due(sandbox)

            await advance_past(sandbox, int(str(first["current_period_end"])) + 86400)

            assert (await sandbox.subscription(subscription_id))["status"] == "canceled"
            assert len(await sandbox.events("invoice.payment_failed")) == 2


class TestCancel:
    async def _cancel(
        self, sandbox: SandboxClient, subscription_id: str, body: dict[str, bool] | None
    ) -> dict[str, object]:
        response = await sandbox.http.post(
            f"/v1/subscriptions/{subscription_id}/cancel", json=body, headers=sandbox.auth
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def test_at_period_end_keeps_access_until_then(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()

        pending = await self._cancel(sandbox, subscription_id, {"at_period_end": True})

        assert (pending["status"], pending["cancel_at_period_end"]) == ("active", True)
        assert pending["canceled_at"] is None
        await advance_past(sandbox, int(str(pending["current_period_end"])))
        ended = await sandbox.subscription(subscription_id)
        assert ended["status"] == "canceled"
        assert ended["canceled_at"] == pending["current_period_end"]
        assert ended["cancel_at_period_end"] is False
        assert (await sandbox.event_types(subscription_id))[-2:] == [
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ]
        assert len(await sandbox.events("invoice.paid")) == 1  # no renewal charge

    async def test_resume_undoes_a_pending_cancel(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        await self._cancel(sandbox, subscription_id, {"at_period_end": True})

        resumed = await self._cancel(sandbox, subscription_id, {"at_period_end": False})

        assert resumed["cancel_at_period_end"] is False
        await self._cancel(sandbox, subscription_id, {"at_period_end": True})
        response = await sandbox.http.post(
            f"/v1/subscriptions/{subscription_id}/resume", headers=sandbox.auth
        )
        assert response.json()["cancel_at_period_end"] is False
        await advance_past(sandbox, int(str(resumed["current_period_end"])))
        assert (await sandbox.subscription(subscription_id))["status"] == "active"

    async def test_at_period_end_false_without_a_pending_cancel_changes_nothing(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await sandbox.paid_subscription()
        before = await sandbox.subscription(subscription_id)

        after = await self._cancel(sandbox, subscription_id, {"at_period_end": False})

        assert after == before

    async def test_immediately_cancels_now(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        now = await clock_now(sandbox)

        canceled = await self._cancel(
            sandbox, subscription_id, {"at_period_end": False, "immediately": True}
        )
        again = await self._cancel(sandbox, subscription_id, {"immediately": True})

        assert canceled["status"] == "canceled"
        assert abs(int(str(canceled["canceled_at"])) - now) < 5
        assert again == canceled
        assert (await sandbox.event_types(subscription_id)).count(
            "customer.subscription.deleted"
        ) == 1

    async def test_a_canceled_subscription_cannot_be_scheduled_to_cancel(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await sandbox.paid_subscription()
        await self._cancel(sandbox, subscription_id, {"immediately": True})

        response = await sandbox.http.post(
            f"/v1/subscriptions/{subscription_id}/cancel",
            json={"at_period_end": True},
            headers=sandbox.auth,
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "SUBSCRIPTION_NOT_CANCELABLE"

    async def test_a_trial_canceled_at_period_end_ends_at_trial_end_unbilled(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await sandbox.paid_subscription(plan=YEARLY_TRIAL)
        trialing = await self._cancel(sandbox, subscription_id, {"at_period_end": True})

        await advance_past(sandbox, int(str(trialing["trial_end"])))

        ended = await sandbox.subscription(subscription_id)
        assert (ended["status"], ended["canceled_at"]) == ("canceled", trialing["trial_end"])
        assert len(await sandbox.events("invoice.paid")) == 1

    async def test_unknown_subscription_is_not_found(self, sandbox: SandboxClient) -> None:
        for method, path in (
            ("GET", "/v1/subscriptions/sub_nope"),
            ("POST", "/v1/subscriptions/sub_nope/cancel"),
            ("POST", "/v1/subscriptions/sub_nope/resume"),
        ):
            response = await sandbox.http.request(method, path, headers=sandbox.auth)

            assert response.status_code == 404
            assert response.json()["error"]["code"] == "NOT_FOUND"
