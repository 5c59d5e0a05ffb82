"""POST /api/billing/webhooks/stub: every broken or hostile delivery is a coded 400,
and a value our records cannot hold is refused before it is stored (both databases)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api.models import InboxStatus, WebhookInboxEvent
from services.billing_api.providers.stub import StubProvider
from services.common import signing
from services.common.settings import Settings
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.sandbox_events import envelope, signed_headers, subscription_object
from tests.billing_api.support import make_settings

HOOK = "/api/billing/webhooks/stub"


def sign_raw(body: bytes, settings: Settings, *, at: float | None = None) -> dict[str, str]:
    """Signed over the raw bytes, so bodies that are not UTF-8 can be signed too."""
    headers = signing.signed_headers(
        settings.webhook_secret.get_secret_value(), "msg_hostile", body, now=at
    )
    return {**headers, "content-type": "application/json"}


async def inbox_count(app: FastAPI) -> int:
    async with app.state.billing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookInboxEvent)) or 0)


def fresh() -> str:
    return str(int(time.time()))


GARBAGE_SIGNATURES = {
    "garbage": "garbage",
    "not-base64": "v1,!!!notbase64",
    "three-parts": "v1,a,b",
    "empty-v1": "v1,",
    "only-spaces": "   ",
    "unknown-version": "v9,AAAA",
    "non-ascii": "v1,çöğüş".encode(),
    "many": " ".join(["v1,AAAA"] * 500),
}


@pytest.mark.parametrize("signature", GARBAGE_SIGNATURES.values(), ids=GARBAGE_SIGNATURES.keys())
async def test_garbage_signatures_are_400(
    app: FastAPI, client: httpx.AsyncClient, signature: str | bytes
) -> None:
    body = envelope("invoice.paid", {"id": "in_1"})
    headers: dict[str, Any] = {
        "webhook-id": "msg_1",
        "webhook-timestamp": fresh(),
        "webhook-signature": signature,
    }
    response = await client.post(HOOK, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert await inbox_count(app) == 0


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1e10", "1" * 40, "１２３"])
async def test_malformed_timestamps_are_400(
    client: httpx.AsyncClient, settings: Settings, timestamp: str
) -> None:
    body = envelope("invoice.paid", {"id": "in_1"})
    headers = sign_raw(body, settings)
    # Sent as UTF-8 bytes: the server sees full-width digits as latin-1 text.
    raw: dict[str, Any] = {**headers, "webhook-timestamp": timestamp.encode()}
    response = await client.post(HOOK, content=body, headers=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"


async def test_body_that_is_not_utf8_is_400_unsigned_or_signed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = b'{"id": "evt_\xff\xfe", "type": "invoice.paid"}'
    unsigned = await client.post(HOOK, content=body, headers={"webhook-signature": "v1,AAAA"})
    assert unsigned.status_code == 400
    assert unsigned.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    signed = await client.post(HOOK, content=body, headers=sign_raw(body, settings))
    assert signed.status_code == 400
    assert signed.json()["error"]["code"] == "WEBHOOK_PAYLOAD_INVALID"


def _nested(levels: int) -> bytes:
    return b'{"id":"evt_deep","type":"invoice.paid","created":1,"data":{"object":' + (
        b"[" * levels + b"]" * levels + b"}}"
    )


UNREADABLE = {
    "prose": b"hello, not json",
    "empty": b"",
    "truncated": envelope("invoice.paid", {"id": "in_1"})[:-7],
    "created-1e300": b'{"id":"evt_a","type":"invoice.paid","created":1e300,"data":{"object":{}}}',
    "created-infinity": (
        b'{"id":"evt_b","type":"invoice.paid","created":Infinity,"data":{"object":{}}}'
    ),
    "created-nan": b'{"id":"evt_c","type":"invoice.paid","created":NaN,"data":{"object":{}}}',
    "created-string": b'{"id":"evt_d","type":"invoice.paid","created":"1","data":{"object":{}}}',
    "updated-10e30": envelope(
        "customer.subscription.updated", subscription_object("sub_h", "active", updated_ms=10**30)
    ),
    "updated-negative": envelope(
        "customer.subscription.updated", subscription_object("sub_h", "active", updated_ms=-1)
    ),
    "period-bool": envelope(
        "customer.subscription.updated",
        subscription_object("sub_h", "active", updated_ms=1, current_period_end=True),
    ),
    "id-number": b'{"id":12,"type":"invoice.paid","created":1,"data":{"object":{}}}',
    "id-object": b'{"id":{"a":1},"type":"invoice.paid","created":1,"data":{"object":{}}}',
    "array": b"[1, 2, 3]",
    "nested-20k": _nested(20_000),
    "nested-1000": _nested(1_000),
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_signed_but_unreadable_bodies_are_400_payload_invalid(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, body: bytes
) -> None:
    response = await client.post(HOOK, content=body, headers=sign_raw(body, settings))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_PAYLOAD_INVALID"
    assert await inbox_count(app) == 0


def _subscription_event(**fields: Any) -> bytes:
    obj = subscription_object("sub_limits", "active", updated_ms=1)
    metadata = obj["metadata"]
    for key in ("accountId", "planId"):
        if key in fields:
            metadata[key] = fields.pop(key)
    obj.update(fields)
    return envelope("customer.subscription.updated", obj)


def _event_with(event_id: str = "evt_ok", event_type: str = "invoice.paid") -> bytes:
    return json.dumps(
        {"id": event_id, "type": event_type, "created": 1, "data": {"object": {}}}
    ).encode()


OVER_LIMITS = {
    "event-id-256": _event_with(event_id="e" * 256),
    "event-id-nul": _event_with(event_id="evt_\x00"),
    "event-id-empty": _event_with(event_id=""),
    "type-101": _event_with(event_type="t" * 101),
    "type-nul": _event_with(event_type="invoice.\x00paid"),
    "subscription-id-256": _subscription_event(id="s" * 256),
    "subscription-id-nul": _subscription_event(id="sub_\x00"),
    "account-id-65": _subscription_event(accountId="acc_" + "a" * 61),
    "account-id-newline": _subscription_event(accountId="acc_x\n"),
    "account-id-nul": _subscription_event(accountId="acc_\x00"),
    "plan-id-65": _subscription_event(planId="p" * 65),
    "plan-id-nul": _subscription_event(planId="pro\x00"),
}


@pytest.mark.parametrize("body", OVER_LIMITS.values(), ids=OVER_LIMITS.keys())
async def test_values_our_records_cannot_hold_are_refused_before_storing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, body: bytes
) -> None:
    response = await client.post(HOOK, content=body, headers=sign_raw(body, settings))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "WEBHOOK_PAYLOAD_INVALID"
    assert await inbox_count(app) == 0


async def test_tolerance_setting_applies(
    billing_db_url: str, provider: FakeProvider, client: httpx.AsyncClient
) -> None:
    strict = make_settings(billing_db_url, webhook_tolerance_seconds=60)
    provider.webhook_reader = StubProvider(strict)
    body = envelope("invoice.paid", {"id": "in_1"})
    stale = await client.post(
        HOOK, content=body, headers=sign_raw(body, strict, at=time.time() - 280)
    )
    assert stale.status_code == 400
    assert stale.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    future = await client.post(
        HOOK, content=body, headers=sign_raw(body, strict, at=time.time() + 90)
    )
    assert future.status_code == 400
    recent = await client.post(
        HOOK, content=body, headers=sign_raw(body, strict, at=time.time() - 30)
    )
    assert recent.status_code == 200


async def test_our_signatures_verify_with_the_standard_webhooks_library(settings: Settings) -> None:
    """Interoperability: a subscriber using any Standard Webhooks SDK can check ours."""
    import standardwebhooks

    secret = settings.webhook_secret.get_secret_value()
    body = envelope("invoice.paid", {"id": "in_1"})
    standardwebhooks.Webhook(secret).verify(body, signing.signed_headers(secret, "msg_x", body))
    theirs = signed_headers(body, settings, at=datetime.now(UTC) - timedelta(seconds=5))
    signing.verify(secret, body, theirs, tolerance_seconds=60)
    assert base64.b64decode(theirs["webhook-signature"].split(",")[1])


async def test_dead_letter_is_failed_at_once_and_replayable(
    app: FastAPI, client: httpx.AsyncClient, auth: Any
) -> None:
    """An event stored before the checks existed (or by an older version) that can
    never apply is marked failed with the reason on its first try, and replay
    retries it; a fixed one then applies once."""
    from services.billing_api import webhooks

    bad = json.loads(_subscription_event(accountId="acc_" + "a" * 100))
    async with app.state.billing.sessions() as session, session.begin():
        session.add(
            WebhookInboxEvent(
                provider="stub",
                event_id=bad["id"],
                event_type=bad["type"],
                payload=json.dumps(bad),
                status=InboxStatus.PENDING,
            )
        )
    assert await webhooks.apply_due(app.state.billing) == 0
    failed = await webhooks.failed_events(app.state.billing)
    assert [(row.event_id, row.attempts) for row in failed] == [(bad["id"], 1)]
    assert "account id" in (failed[0].last_error or "")
    assert await webhooks.apply_due(app.state.billing) == 0  # not retried by the worker
    assert await webhooks.replay(app.state.billing, bad["id"]) == InboxStatus.FAILED

    # The operator repairs the stored event (or deploys a fix) and replays it.
    bad["data"]["object"]["metadata"]["accountId"] = "acc_alice"
    async with app.state.billing.sessions() as session, session.begin():
        row = await session.scalar(
            select(WebhookInboxEvent).where(WebhookInboxEvent.event_id == bad["id"])
        )
        assert row is not None
        row.payload = json.dumps(bad)
    assert await webhooks.replay(app.state.billing, bad["id"]) == InboxStatus.APPLIED
    assert await webhooks.replay(app.state.billing, bad["id"]) is None  # never twice
    subscription = await client.get("/api/billing/subscription", headers=auth())
    assert subscription.json()["subscription"]["status"] == "active"


async def test_transient_failures_end_as_dead_letters_not_pending_forever(app: FastAPI) -> None:
    from services.billing_api import webhooks

    async with app.state.billing.sessions() as session, session.begin():
        session.add(
            WebhookInboxEvent(
                provider="stub",
                event_id="evt_flaky",
                event_type="invoice.paid",
                payload=_event_with("evt_flaky").decode(),
                status=InboxStatus.PENDING,
                attempts=webhooks.MAX_APPLY_ATTEMPTS - 1,
            )
        )
    with pytest.MonkeyPatch.context() as patch:

        async def broken(*_: Any) -> None:
            raise ConnectionError("database went away")

        patch.setattr(webhooks, "_apply", broken)
        assert await webhooks.apply_due(app.state.billing) == 0
    failed = await webhooks.failed_events(app.state.billing)
    assert [row.event_id for row in failed] == ["evt_flaky"]
