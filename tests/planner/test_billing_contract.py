"""The planner against a billing stand-in: every status of the access table, every
failure kind, slow answers and malformed bodies — and a plan that compiles always
answers 200 with the plan."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import msgspec
import pytest

from services.planner.gating import TIERS, Tier
from tests.planner.billing_standin import Behaviour, BillingStandIn
from tests.planner.support import Planners, auth

from .plans import document, task

PREVIEW = "/v1/billing/access_preview"
PROBE = "/v1/billing/subscription_probe"
COMPILE = "/v1/plan/compile_with_access_preview"
PLAN = msgspec.json.encode(document([task("design", 5), task("build", 10, "design")]))
PAID = TIERS[Tier.PAID].to_wire()
FREE = TIERS[Tier.FREE].to_wire()

# billing status -> (hasSubscription, accessLevel, reason, subscriptionStatus, tier)
TABLE = {
    "active": (True, "full", "ok", "ACTIVE", "paid"),
    "trialing": (True, "full", "ok", "TRIALING", "paid"),
    "incomplete": (True, "limited", "incomplete", "INCOMPLETE", "free"),
    "canceled": (True, "limited", "canceled", "CANCELED", "free"),
    "past_due": (True, "limited", "past_due", "PAST_DUE", "free"),
    "unpaid": (True, "limited", "unpaid", "UNPAID", "free"),
    "paused": (True, "limited", "paused", "PAUSED", "free"),
    "incomplete_expired": (False, "limited", "incomplete_expired", "INCOMPLETE_EXPIRED", "free"),
    "on_hold_someday": (False, "limited", "unknown_status", "UNKNOWN", "free"),
}
FAILURES: dict[Behaviour, str] = {
    "slow": "timeout",
    "down": "connection_error",
    "500": "http_error",
    "503": "http_error",
    "bare_404": "http_error",
    "html": "invalid_response",
    "garbage": "invalid_response",
    "wrong_shape": "invalid_response",
    "401": "unauthorized",
}


def row(body: dict[str, Any]) -> tuple[Any, ...]:
    preview = body["preview"]
    return (
        preview["hasSubscription"],
        preview["accessLevel"],
        preview["reason"],
        preview["subscriptionStatus"],
        body["featureAccess"]["tier"],
    )


async def compile_(planner: httpx.AsyncClient, account: str = "acc_alice") -> dict[str, Any]:
    response = await planner.post(COMPILE, content=PLAN, headers=auth(account))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is True
    assert body["plan"]["project"]["criticalPath"] == ["design", "build"]
    return body


class TestEveryStatus:
    @pytest.mark.parametrize(("status", "expected"), TABLE.items())
    async def test_preview_and_feature_access(
        self,
        planner: httpx.AsyncClient,
        billing: BillingStandIn,
        status: str,
        expected: tuple[Any, ...],
    ) -> None:
        billing.statuses["acc_alice"] = status
        first = (await planner.get(PREVIEW, headers=auth())).json()
        assert row(first) == expected
        assert first["source"] == "live"
        again = (await planner.get(PREVIEW, headers=auth())).json()
        assert (row(again), again["source"]) == (expected, "cache")
        assert billing.calls == 1
        compiled = await compile_(planner)
        assert compiled["billing"]["ok"] is True
        assert compiled["featureAccess"] == (PAID if expected[-1] == "paid" else FREE)

    async def test_no_subscription(self, planner: httpx.AsyncClient) -> None:
        body = (await planner.get(PREVIEW, headers=auth())).json()
        assert row(body) == (False, "limited", "no_subscription", None, "free")
        assert body["source"] == "live"

    async def test_probe_shows_what_billing_said(
        self, planner: httpx.AsyncClient, billing: BillingStandIn
    ) -> None:
        assert (await planner.get(PROBE, headers=auth())).json() == {
            "ok": True,
            "subscription": None,
        }
        billing.statuses["acc_alice"] = "past_due"
        probe = (await planner.get(PROBE, headers=auth())).json()
        assert probe["ok"] is True
        assert probe["subscription"]["status"] == "past_due"
        assert probe["subscription"]["accountId"] == "acc_alice"

    async def test_every_route_needs_a_token(self, planner: httpx.AsyncClient) -> None:
        for method, url in (("GET", PREVIEW), ("GET", PROBE), ("POST", COMPILE)):
            response = await planner.request(method, url)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"


class TestEveryFailure:
    @pytest.mark.parametrize(("behaviour", "kind"), FAILURES.items())
    async def test_nothing_known_falls_back_to_free(
        self, planners: Planners, billing: BillingStandIn, behaviour: Behaviour, kind: str
    ) -> None:
        billing.behaviour = behaviour
        async with planners(planner_billing_timeout_s=0.2) as planner:
            started = time.monotonic()
            compiled = await compile_(planner)
            assert time.monotonic() - started < 0.2 + 0.5  # the budget plus the compile
            assert compiled["billing"] == {"ok": False, "kind": kind}
            assert (compiled["featureAccess"], compiled["source"]) == (FREE, "fallback")
            preview = (await planner.get(PREVIEW, headers=auth())).json()
            assert (preview["source"], preview["featureAccess"]) == ("fallback", FREE)
            probe = (await planner.get(PROBE, headers=auth())).json()
            assert probe == {"ok": False, "kind": kind}

    @pytest.mark.parametrize("behaviour", ["slow", "down", "500", "garbage", "401"])
    async def test_last_known_access_is_used_stale(
        self, planners: Planners, billing: BillingStandIn, behaviour: Behaviour
    ) -> None:
        billing.statuses["acc_alice"] = "active"
        async with planners(planner_access_refresh_s=0, planner_billing_timeout_s=0.2) as planner:
            assert (await planner.get(PREVIEW, headers=auth())).json()["source"] == "live"
            billing.behaviour = behaviour
            compiled = await compile_(planner)
            assert compiled["billing"] == {"ok": False, "kind": FAILURES[behaviour]}
            assert (compiled["featureAccess"], compiled["source"]) == (PAID, "stale")

    async def test_past_the_maximum_stale_age_it_is_free(
        self, planners: Planners, billing: BillingStandIn
    ) -> None:
        billing.statuses["acc_alice"] = "active"
        settings = {"planner_access_refresh_s": 0, "planner_access_max_stale_s": 0.3}
        async with planners(**settings) as planner:
            await planner.get(PREVIEW, headers=auth())
            billing.behaviour = "down"
            assert (await planner.get(PREVIEW, headers=auth())).json()["source"] == "stale"
            await asyncio.sleep(0.35)  # the stale age is wall-clock time; nothing to await
            preview = (await planner.get(PREVIEW, headers=auth())).json()
            assert (preview["source"], preview["featureAccess"]) == ("fallback", FREE)

    async def test_the_breaker_opens_and_billing_is_left_alone(
        self, planners: Planners, billing: BillingStandIn
    ) -> None:
        billing.behaviour = "500"
        settings = {"planner_billing_breaker_failures": 2, "planner_access_refresh_s": 0}
        async with planners(**settings) as planner:
            for _ in range(2):
                await compile_(planner)
            calls = billing.calls
            compiled = await compile_(planner)
            assert compiled["billing"] == {"ok": False, "kind": "circuit_open"}
            assert billing.calls == calls
            probe = (await planner.get(PROBE, headers=auth())).json()
            assert probe == {"ok": False, "kind": "circuit_open"}

    async def test_recovery_after_the_cooldown(
        self, planners: Planners, billing: BillingStandIn
    ) -> None:
        billing.behaviour = "down"
        billing.statuses["acc_alice"] = "active"
        settings = {
            "planner_billing_breaker_failures": 1,
            "planner_billing_breaker_cooldown_s": 0.2,
            "planner_access_refresh_s": 0,
        }
        async with planners(**settings) as planner:
            await compile_(planner)
            assert (await compile_(planner))["billing"]["kind"] == "circuit_open"
            billing.behaviour = "normal"
            await asyncio.sleep(0.25)
            recovered = await compile_(planner)
            assert (recovered["billing"]["ok"], recovered["source"]) == (True, "live")
            assert recovered["featureAccess"] == PAID


class TestCache:
    async def test_a_change_in_billing_is_read_after_the_refresh_age(
        self, planners: Planners, billing: BillingStandIn
    ) -> None:
        billing.statuses["acc_alice"] = "active"
        async with planners(planner_access_refresh_s=0.2, planner_access_cache_ttl_s=0.05) as p:
            assert row((await p.get(PREVIEW, headers=auth())).json())[-1] == "paid"
            billing.statuses["acc_alice"] = "past_due"
            cached = (await p.get(PREVIEW, headers=auth())).json()
            assert (row(cached)[-1], cached["source"]) == ("paid", "cache")
            await asyncio.sleep(0.25)
            fresh = (await p.get(PREVIEW, headers=auth())).json()
            assert (row(fresh)[-1], fresh["source"]) == ("free", "live")

    async def test_accounts_do_not_share_access(
        self, planner: httpx.AsyncClient, billing: BillingStandIn
    ) -> None:
        billing.statuses["acc_alice"] = "active"
        alice = (await planner.get(PREVIEW, headers=auth("acc_alice"))).json()
        bob = (await planner.get(PREVIEW, headers=auth("acc_bob"))).json()
        assert (alice["featureAccess"]["tier"], bob["featureAccess"]["tier"]) == ("paid", "free")


class TestTiers:
    async def test_public_table(self, planner: httpx.AsyncClient) -> None:
        response = await planner.get("/v1/access/tiers")
        assert response.status_code == 200
        assert response.json() == {"tiers": [FREE, PAID]}
