"""POST /internal/billing/events: Standard Webhooks verified, idempotent, newer wins."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import httpx
import pytest
import standardwebhooks

from services.common.settings import DEV_EVENTS_SECRET
from tests.planner.billing_standin import BillingStandIn, subscription_body
from tests.planner.support import Planners, auth

EVENTS = "/internal/billing/events"
PREVIEW = "/v1/billing/access_preview"
T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def event(account: str, status: str, updated_at: dt.datetime, **extra: Any) -> bytes:
    payload = {
        "type": "subscription.updated",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "data": {
            "accountId": account,
            "subscription": subscription_body(account, status, updatedAt=updated_at.isoformat()),
        },
        **extra,
    }
    return json.dumps(payload).encode()


def signed(
    body: bytes,
    *,
    webhook_id: str | None = None,
    secret: str = DEV_EVENTS_SECRET,
    at: dt.datetime | None = None,
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{secrets.token_hex(8)}"
    at = at or dt.datetime.now(dt.UTC)
    signature = standardwebhooks.Webhook(secret).sign(webhook_id, at, body.decode())
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def send(planner: httpx.AsyncClient, body: bytes, **kwargs: Any) -> httpx.Response:
    return await planner.post(EVENTS, content=body, headers=signed(body, **kwargs))


async def tier(planner: httpx.AsyncClient, account: str = "acc_alice") -> tuple[str, str]:
    body = (await planner.get(PREVIEW, headers=auth(account))).json()
    return body["featureAccess"]["tier"], body["source"]


@pytest.fixture
def billing_down(billing: BillingStandIn) -> BillingStandIn:
    """The planner's own reads fail: whatever it knows, it learned from events."""
    billing.behaviour = "down"
    return billing


class TestTakingIn:
    async def test_an_event_gives_access_without_reading_billing(
        self, planner: httpx.AsyncClient, billing_down: BillingStandIn
    ) -> None:
        assert await tier(planner) == ("free", "fallback")
        response = await send(planner, event("acc_alice", "active", T0))
        assert response.status_code == 200
        assert response.json()["duplicate"] is False
        assert await tier(planner) == ("paid", "cache")

    async def test_a_redelivery_changes_nothing(
        self, planner: httpx.AsyncClient, billing_down: BillingStandIn
    ) -> None:
        body = event("acc_alice", "active", T0)
        first = await send(planner, body, webhook_id="msg_same")
        again = await send(planner, body, webhook_id="msg_same")
        assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)

    async def test_a_late_event_never_rolls_access_back(
        self, planner: httpx.AsyncClient, billing_down: BillingStandIn
    ) -> None:
        await send(planner, event("acc_alice", "active", T0 + dt.timedelta(minutes=5)))
        late = await send(planner, event("acc_alice", "past_due", T0))
        assert late.status_code == 200
        assert await tier(planner) == ("paid", "cache")
        await send(planner, event("acc_alice", "past_due", T0 + dt.timedelta(minutes=6)))
        assert await tier(planner) == ("free", "cache")

    async def test_another_subscription_follows_billings_current_rule(
        self, planner: httpx.AsyncClient, billing_down: BillingStandIn
    ) -> None:
        await send(planner, event("acc_alice", "active", T0))
        old = event("acc_alice", "canceled", T0 + dt.timedelta(days=1))
        old_payload = json.loads(old)
        old_payload["data"]["subscription"]["id"] = "sub_older"
        await send(planner, json.dumps(old_payload).encode())
        assert await tier(planner) == ("paid", "cache")

    async def test_other_event_types_are_acknowledged(
        self, planner: httpx.AsyncClient, billing_down: BillingStandIn
    ) -> None:
        body = json.dumps({"type": "invoice.created", "data": {}}).encode()
        response = await send(planner, body)
        assert response.status_code == 200

    async def test_an_event_reaches_another_replica(
        self, planners: Planners, billing_down: BillingStandIn
    ) -> None:
        async with planners() as one, planners() as two:
            assert await tier(two) == ("free", "fallback")
            await send(one, event("acc_alice", "trialing", T0))
            assert (await tier(two))[0] == "paid"


class TestRefused:
    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
            {"webhook-id": "msg_1", "webhook-timestamp": "x", "webhook-signature": "v1,AAAA"},
            {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "nocomma"},
            {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,@@@"},
        ],
    )
    async def test_unsigned_or_forged(
        self, planner: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await planner.post(
            EVENTS, content=event("acc_alice", "active", T0), headers=headers
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    async def test_signed_with_another_secret(self, planner: httpx.AsyncClient) -> None:
        body = event("acc_alice", "active", T0)
        other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="
        response = await send(planner, body, secret=other)
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    async def test_stale_timestamp(self, planner: httpx.AsyncClient) -> None:
        body = event("acc_alice", "active", T0)
        an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        response = await send(planner, body, at=an_hour_ago)
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    async def test_a_changed_body(self, planner: httpx.AsyncClient) -> None:
        body = event("acc_alice", "active", T0)
        headers = signed(body)
        response = await planner.post(
            EVENTS, content=body.replace(b"active", b"paused"), headers=headers
        )
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"

    async def test_not_utf8(self, planner: httpx.AsyncClient) -> None:
        headers = signed(b"{}")
        response = await planner.post(EVENTS, content=b"\xff\xfe{}", headers=headers)
        assert response.status_code == 400

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[]",
            b'{"type": "subscription.updated"}',
            b'{"type": "subscription.updated", "data": {"accountId": "acc_a"}}',
            json.dumps(
                {
                    "type": "subscription.updated",
                    "data": {
                        "accountId": "acc_b",
                        "subscription": subscription_body("acc_a", "active"),
                    },
                }
            ).encode(),
        ],
    )
    async def test_signed_but_unreadable(self, planner: httpx.AsyncClient, body: bytes) -> None:
        response = await send(planner, body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "WEBHOOK_PAYLOAD_INVALID"
