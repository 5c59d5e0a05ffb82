"""The planner beside real billing_api and sandbox processes: paying unlocks features
within a second through billing events alone, losing the subscription takes them away,
a billing outage never costs a schedule, and two planners on one PostgreSQL agree.

One stack for the module, on PostgreSQL (two planner processes must share it):
planners A and B cannot reach billing_api at all (their BILLING_API_BASE_URL is a
closed port), so whatever they know came from billing events, which billing_api sends
to A only; planner C reads billing_api normally and is the one that sees it die.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import standardwebhooks
from sqlalchemy import func, select

from services.common.db import create_engine, sessionmaker_for
from services.common.settings import DEV_EVENTS_SECRET
from services.planner.compile_slots import DatabaseSlots
from services.planner.models import CompileLease
from tests.databases import fresh_postgres_database
from tests.e2e.shopper import Shopper, sandbox_call
from tests.e2e.stack import Service, Stack, free_port, running_stack
from tests.planner.billing_standin import subscription_body
from tests.planner.plans import document, task

MAX_STALE_S = 3.0
CACHE_TTL_S = 0.5  # planner c's in-process cache, which answers without asking billing
SMALL_PLAN = msgspec.json.encode(document([task("design", 5), task("build", 10, "design")]))
# About 0.3 s of compiling each: long enough to be seen running from another process.
BIG_PLAN = msgspec.json.encode(
    document([task("t0", 1)] + [task(f"t{i}", 1, f"t{i - 1}") for i in range(1, 20_000)])
)
_accounts = itertools.count(1)


@dataclass
class Planners:
    stack: Stack
    a: Service  # billing's subscriber; cannot read billing
    b: Service  # same database as A; cannot read billing; gets no events
    c: Service  # reads billing_api normally
    planner_db: str


@pytest.fixture(scope="module")
def planners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planners]:
    workdir = tmp_path_factory.mktemp("gating")
    with ExitStack() as stack:
        billing_db = stack.enter_context(fresh_postgres_database("gating_billing"))
        sandbox_db = stack.enter_context(fresh_postgres_database("gating_sandbox"))
        planner_db = stack.enter_context(fresh_postgres_database("gating_planner"))
        services = stack.enter_context(
            running_stack(
                workdir,
                billing_db=billing_db,
                sandbox_db=sandbox_db,
                names=("sandbox", "billing-api"),
                PLANNER_DATABASE_URL=planner_db,
                PLANNER_ACCESS_MAX_STALE_S=str(MAX_STALE_S),
            )
        )
        cut_off = {
            **services.env,
            "BILLING_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
            # What events taught it stays "cache"; it never asks billing anyway.
            "PLANNER_ACCESS_REFRESH_S": "3600",
        }
        a_port = httpx.URL(services.env["PLANNER_BASE_URL"]).port
        assert a_port is not None
        a = Service("planner", a_port, cut_off, workdir / "planner-a.log")
        b = Service("planner", free_port(), cut_off, workdir / "planner-b.log")
        reads = {
            **services.env,
            "PLANNER_ACCESS_REFRESH_S": "0.2",
            "PLANNER_ACCESS_CACHE_TTL_S": str(CACHE_TTL_S),
        }
        c = Service("planner", free_port(), reads, workdir / "planner-c.log")
        for planner in (a, b, c):
            planner.start()
            stack.callback(planner.stop)
        warm_up(a)
        yield Planners(services, a, b, c, planner_db)


def warm_up(planner: Service) -> None:
    """One signed event for an account no test uses: the first request a fresh process
    serves on a path pays for its lazy set-up, which is not what the tests time."""
    body = json.dumps(
        {
            "type": "subscription.updated",
            "data": {
                "accountId": "acc_warm_up",
                "subscription": subscription_body("acc_warm_up", "active"),
            },
        }
    )
    now = dt.datetime.now(dt.UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_warm_up",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(DEV_EVENTS_SECRET).sign(
            "msg_warm_up", now, body
        ),
    }
    response = httpx.post(
        f"{planner.url}/internal/billing/events", content=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def shopper(planners: Planners) -> Shopper:
    return Shopper.for_stack(planners.stack.env, f"acc_gate_{next(_accounts)}_{time.time_ns()}")


def preview(planner: Service, shopper: Shopper) -> dict[str, Any]:
    response = httpx.get(
        f"{planner.url}/v1/billing/access_preview", headers=shopper.headers, timeout=10
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(
    planner: Service, shopper: Shopper, done: Callable[[dict[str, Any]], bool], timeout: float
) -> tuple[float, dict[str, Any]]:
    """Seconds until ``done(access_preview)`` held, and that preview."""
    started = time.monotonic()
    seen: dict[str, Any] = {}
    while time.monotonic() - started < timeout:
        seen = preview(planner, shopper)
        if done(seen):
            return time.monotonic() - started, seen
        time.sleep(0.02)
    raise AssertionError(f"{planner.url} never got there; last saw {seen}")


def tier_is(tier: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: bool(body["featureAccess"]["tier"] == tier)


def advance(planners: Planners, days: float) -> None:
    sandbox_call(planners.stack.env["PAYMENT_PROVIDER_ENDPOINT"], "POST", "/v1/test_clock/advance",
                 json={"days": days})  # fmt: skip


def subscribe(shopper: Shopper, card: str = "4242 4242 4242 4242") -> None:
    """Pay on the hosted page, then land on the success page, which asks billing_api for
    the attempt's status (as landing's page does); the planner hears of it only by event."""
    started = shopper.start()
    shopper.pay(started["checkoutUrl"], card)
    shopper.status(started["paymentAttemptId"])


def test_paying_unlocks_features_within_a_second_from_events_alone(
    planners: Planners, shopper: Shopper
) -> None:
    before = preview(planners.a, shopper)
    assert (before["featureAccess"]["tier"], before["source"]) == ("free", "fallback")
    subscribe(shopper)
    elapsed, paid = wait_for(planners.a, shopper, tier_is("paid"), timeout=5)
    print(f"\nA paid {elapsed:.2f} s after paying")  # shown with -s, for the record
    assert elapsed < 1.0, f"paid after {elapsed:.2f} s"
    assert paid["preview"] == {
        "hasSubscription": True,
        "accessLevel": "full",
        "reason": "ok",
        "subscriptionStatus": "ACTIVE",
    }
    # B gets no events and cannot read billing: it learns from A's database rows.
    elapsed_b, _ = wait_for(planners.b, shopper, tier_is("paid"), timeout=5)
    print(f"B paid {elapsed_b:.2f} s after A")
    assert elapsed_b < 1.0


def test_cancel_at_period_end_then_the_period_ends_is_free(
    planners: Planners, shopper: Shopper
) -> None:
    subscribe(shopper)
    wait_for(planners.a, shopper, tier_is("paid"), timeout=5)
    wait_for(planners.b, shopper, tier_is("paid"), timeout=5)  # B now holds "paid" in memory
    canceled = httpx.post(
        f"{shopper.billing_url}/api/billing/subscription/cancel", headers=shopper.headers
    )
    assert canceled.status_code == 200, canceled.text
    time.sleep(1)  # the cancellation's own event must not take access away early
    assert preview(planners.a, shopper)["featureAccess"]["tier"] == "paid"
    advance(planners, 32)
    _, free = wait_for(planners.a, shopper, tier_is("free"), timeout=15)
    assert free["preview"]["reason"] == "canceled"
    # An event received by A is seen by B within a second.
    elapsed_b, _ = wait_for(planners.b, shopper, tier_is("free"), timeout=5)
    print(f"B free {elapsed_b:.2f} s after A")
    assert elapsed_b < 1.0


def test_a_failed_renewal_makes_access_limited(planners: Planners, shopper: Shopper) -> None:
    subscribe(shopper, "4000 0000 0000 0341")
    wait_for(planners.a, shopper, tier_is("paid"), timeout=5)
    advance(planners, 31)
    _, limited = wait_for(planners.a, shopper, tier_is("free"), timeout=15)
    assert limited["preview"] == {
        "hasSubscription": True,
        "accessLevel": "limited",
        "reason": "past_due",
        "subscriptionStatus": "PAST_DUE",
    }


async def _leases(url: str, account: str) -> int:
    engine = create_engine(url)
    try:
        async with sessionmaker_for(engine)() as session:
            query = select(func.count()).where(CompileLease.account_id == account)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


async def test_the_concurrency_limit_holds_across_planner_processes(
    planners: Planners, shopper: Shopper
) -> None:
    await asyncio.to_thread(subscribe, shopper)
    await asyncio.to_thread(wait_for, planners.a, shopper, tier_is("paid"), 5)
    await asyncio.to_thread(wait_for, planners.b, shopper, tier_is("paid"), 5)
    async with httpx.AsyncClient(timeout=60, headers=shopper.headers) as client:
        running = [
            asyncio.create_task(client.post(f"{planners.a.url}/v1/plan/compile", content=BIG_PLAN))
            for _ in range(5)  # the paid tier's maxConcurrentPlans, all in A
        ]
        # A's compiles hold their slots in the store the processes share...
        deadline = time.monotonic() + 20
        while await _leases(planners.planner_db, shopper.account) < 5:
            assert time.monotonic() < deadline, "A never held five slots"
            await asyncio.sleep(0.01)
        answers = await asyncio.gather(*running)
        assert [answer.status_code for answer in answers] == [200] * 5
        # ...and slots held there by a third process are held for A and B alike. (Held by
        # A's compiles, they may free while a refusal is re-asked: see compile_slots.)
        engine = create_engine(planners.planner_db)
        third = DatabaseSlots(engine, lease_s=120.0)
        try:
            held = [await third.acquire(shopper.account, 5) for _ in range(5)]
            refused = [
                await client.post(f"{planner.url}/v1/plan/compile", content=SMALL_PLAN)
                for planner in (planners.a, planners.b)
            ]
            for lease in held:
                assert lease is not None
                await third.release(lease)
        finally:
            await third.close()
            await engine.dispose()
        after = await client.post(f"{planners.b.url}/v1/plan/compile", content=SMALL_PLAN)
    for answer in refused:
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "PLAN_CONCURRENCY_LIMIT"
        assert answer.headers["retry-after"] == "1"
    assert after.status_code == 200


def compile_on(planner: Service, shopper: Shopper) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = httpx.post(
        f"{planner.url}/v1/plan/compile_with_access_preview",
        content=SMALL_PLAN,
        headers=shopper.headers,
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is True
    assert body["plan"]["project"]["criticalPath"] == ["design", "build"]
    return time.monotonic() - started, body


def test_billing_down_compiles_stale_then_free(planners: Planners, shopper: Shopper) -> None:
    subscribe(shopper)
    wait_for(planners.c, shopper, tier_is("paid"), timeout=5)
    billing = planners.stack["billing-api"]
    billing.kill_hard()
    try:
        # What c read just now is still in its in-process cache; only past that does a
        # compile ask billing and meet the outage.
        time.sleep(CACHE_TTL_S + 0.1)
        took, stale = compile_on(planners.c, shopper)
        assert took < 1.0 + 0.5  # the billing budget plus the compile
        assert stale["billing"] == {"ok": False, "kind": "connection_error"}
        assert (stale["source"], stale["featureAccess"]["tier"]) == ("stale", "paid")
        _, fallback = wait_for(
            planners.c, shopper, lambda body: body["source"] == "fallback", MAX_STALE_S + 5
        )
        assert fallback["featureAccess"]["tier"] == "free"
        took, free = compile_on(planners.c, shopper)
        assert took < 1.5
        assert free["billing"]["ok"] is False
        assert (free["source"], free["featureAccess"]["tier"]) == ("fallback", "free")
    finally:
        billing.start()
