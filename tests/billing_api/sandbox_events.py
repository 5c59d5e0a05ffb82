"""Sandbox-shaped events, signed the way the sandbox provider signs them."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

import standardwebhooks

from services.common.settings import Settings

_seq = itertools.count(1)
# One period for every report of a test run: a period read from the clock per report would
# differ between two reports a second boundary apart, and a repeated report would not repeat.
_PERIOD_START = int(time.time())


def subscription_object(
    sub_id: str, status: str, *, updated_ms: int, account: str = "acc_alice", **extra: Any
) -> dict[str, Any]:
    now = _PERIOD_START
    obj = {
        "id": sub_id,
        "object": "subscription",
        "status": status,
        "current_period_start": now,
        "current_period_end": now + 30 * 86400,
        "cancel_at_period_end": False,
        "trial_end": None,
        "canceled_at": None,
        "metadata": {"accountId": account, "paymentAttemptId": "pa_x", "planId": "pro_monthly"},
        "created": now,
        "updated": updated_ms,
    }
    obj.update(extra)
    return obj


def session_object(
    session_id: str, attempt_id: str, outcome: str, *, error_code: str | None = None,
    subscription: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": session_id,
        "object": "checkout.session",
        "client_reference_id": attempt_id,
        "outcome": outcome,
        "error_code": error_code,
        "subscription": subscription,
        "updated": int(time.time() * 1000),
    }


def envelope(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_test_{next(_seq)}_{time.monotonic_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


def signed_headers(
    body: bytes, settings: Settings, *, msg_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    signer = standardwebhooks.Webhook(settings.webhook_secret.get_secret_value())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign(msg_id, at, body.decode()),
        "content-type": "application/json",
    }
