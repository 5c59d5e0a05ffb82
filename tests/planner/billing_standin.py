"""A billing_api stand-in for the planner's tests, on httpx.MockTransport.

It answers ``GET /api/billing/subscription`` per account like billing_api does
(200 with the subscription, 404 SUBSCRIPTION_NOT_FOUND), or misbehaves in one of
the ways a real billing_api (or what sits in front of it) can: slow, down, 5xx,
HTML, garbage JSON, the wrong shape, 401.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jwt

Behaviour = Literal[
    "normal", "slow", "down", "500", "503", "html", "garbage", "wrong_shape", "401", "bare_404"
]


def subscription_body(account: str, status: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "id": f"sub_{account}",
        "accountId": account,
        "planId": "pro_monthly",
        "status": status,
        "currentPeriodStart": "2027-01-01T00:00:00+00:00",
        "currentPeriodEnd": "2027-02-01T00:00:00+00:00",
        "cancelAtPeriodEnd": False,
        "trialEnd": None,
        "provider": "stub",
        "updatedAt": dt.datetime.now(dt.UTC).isoformat(),
    }
    body.update(overrides)
    return body


@dataclass
class BillingStandIn:
    statuses: dict[str, str] = field(default_factory=dict)  # account -> billing status
    behaviour: Behaviour = "normal"
    calls: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        behaviour = self.behaviour
        if behaviour == "slow":
            await asyncio.sleep(30)
        if behaviour == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if behaviour in ("500", "503"):
            return httpx.Response(int(behaviour), json={"error": {"code": "INTERNAL_ERROR"}})
        if behaviour == "html":
            return httpx.Response(200, text="<html><body>Bad gateway</body></html>")
        if behaviour == "garbage":
            return httpx.Response(200, content=b'{"subscription": {"status": "act')
        if behaviour == "wrong_shape":
            return httpx.Response(200, json={"subscriptions": []})
        if behaviour == "401":
            return httpx.Response(401, json={"error": {"code": "UNAUTHENTICATED"}})
        if behaviour == "bare_404":
            return httpx.Response(404, text="Not Found")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        account = jwt.decode(token, options={"verify_signature": False})["sub"]
        status = self.statuses.get(account)
        if status is None:
            body = {"error": {"code": "SUBSCRIPTION_NOT_FOUND", "message": "none"}}
            return httpx.Response(404, content=json.dumps(body))
        return httpx.Response(200, json={"subscription": subscription_body(account, status)})
