"""The billing client on httpx.MockTransport: every answer billing gives, every way it fails."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.planner.billing_client import (
    BillingClient,
    BillingFailure,
    CircuitBreaker,
    FailureKind,
    SubscriptionRead,
)

ACCOUNT = "acc_alice"


def subscription(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": "sub_1",
        "accountId": ACCOUNT,
        "planId": "pro_monthly",
        "status": "active",
        "currentPeriodStart": "2027-01-01T00:00:00Z",
        "currentPeriodEnd": "2027-02-01T00:00:00Z",
        "cancelAtPeriodEnd": False,
        "trialEnd": None,
        "provider": "stub",
        "updatedAt": "2027-01-01T00:00:00Z",
    }
    body.update(overrides)
    return body


Handler = Callable[[httpx.Request], Any]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(
    handler: Handler, *, budget: float = 1.0, failures: int = 3, clock: Clock | None = None
) -> BillingClient:
    breaker = CircuitBreaker(failures_to_open=failures, cooldown_s=10, clock=clock or Clock())
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return BillingClient(http, base_url="http://billing.test", budget_s=budget, breaker=breaker)


async def read(client: BillingClient) -> SubscriptionRead | BillingFailure:
    return await client.read_subscription("token-123", ACCOUNT)


def answer(status: int, body: object = None, *, raw: bytes | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body)

    return handle


class TestAnswers:
    async def test_a_subscription(self) -> None:
        seen: list[httpx.Request] = []

        def handle(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"subscription": subscription(newField=1)})

        outcome = await read(client_for(handle))
        assert isinstance(outcome, SubscriptionRead)
        assert outcome.subscription is not None
        assert outcome.subscription.status == "active"
        assert seen[0].url == "http://billing.test/api/billing/subscription"
        assert seen[0].headers["authorization"] == "Bearer token-123"

    async def test_no_subscription(self) -> None:
        handler = answer(404, {"error": {"code": "SUBSCRIPTION_NOT_FOUND", "message": "x"}})
        assert await read(client_for(handler)) == SubscriptionRead(None)

    @pytest.mark.parametrize(
        ("status", "body", "raw", "kind"),
        [
            (401, {"error": {"code": "UNAUTHENTICATED"}}, None, FailureKind.UNAUTHORIZED),
            (404, {"error": {"code": "NOT_FOUND"}}, None, FailureKind.HTTP_ERROR),
            (404, None, b"<html>not here</html>", FailureKind.HTTP_ERROR),
            (403, {"error": {"code": "X"}}, None, FailureKind.HTTP_ERROR),
            (500, {"error": {"code": "INTERNAL_ERROR"}}, None, FailureKind.HTTP_ERROR),
            (502, None, b"<html>Bad Gateway</html>", FailureKind.HTTP_ERROR),
            (503, None, b"", FailureKind.HTTP_ERROR),
            (200, None, b"<html>a captive portal</html>", FailureKind.INVALID_RESPONSE),
            (200, None, b'{"subscription": {"id": ', FailureKind.INVALID_RESPONSE),
            (200, None, b"\xff\xfe", FailureKind.INVALID_RESPONSE),
            (200, [], None, FailureKind.INVALID_RESPONSE),
            (200, {"subscription": None}, None, FailureKind.INVALID_RESPONSE),
            (200, {"subscription": {"status": "active"}}, None, FailureKind.INVALID_RESPONSE),
            (200, {"subscription": subscription(status=7)}, None, FailureKind.INVALID_RESPONSE),
            (
                200,
                {"subscription": subscription(updatedAt="2027-01-01T00:00:00")},  # no zone
                None,
                FailureKind.INVALID_RESPONSE,
            ),
            (
                200,
                {"subscription": subscription(accountId="acc_mallory")},
                None,
                FailureKind.INVALID_RESPONSE,
            ),
        ],
    )
    async def test_failures(
        self, status: int, body: object, raw: bytes | None, kind: FailureKind
    ) -> None:
        assert await read(client_for(answer(status, body, raw=raw))) == BillingFailure(kind)


class TestBudget:
    async def test_a_slow_answer_is_a_timeout_within_the_budget(self) -> None:
        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return httpx.Response(200, json={"subscription": subscription()})

        started = time.monotonic()
        outcome = await read(client_for(slow, budget=0.2))
        assert outcome == BillingFailure(FailureKind.TIMEOUT)
        assert time.monotonic() - started < 0.5

    async def test_one_retry_on_a_connection_error(self) -> None:
        calls = 0

        def flaky(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(200, json={"subscription": subscription()})

        outcome = await read(client_for(flaky))
        assert isinstance(outcome, SubscriptionRead)
        assert calls == 2

    async def test_only_one_retry(self) -> None:
        calls = 0

        def down(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            raise httpx.ConnectError("refused", request=request)

        assert await read(client_for(down)) == BillingFailure(FailureKind.CONNECTION_ERROR)
        assert calls == 2

    async def test_the_retry_stays_inside_the_budget(self) -> None:
        calls = 0

        async def refused_then_slow(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                await asyncio.sleep(0.15)
                raise httpx.ConnectError("refused", request=request)
            await asyncio.sleep(5)
            return httpx.Response(200)

        started = time.monotonic()
        outcome = await read(client_for(refused_then_slow, budget=0.3))
        assert outcome == BillingFailure(FailureKind.TIMEOUT)
        assert 0.25 < time.monotonic() - started < 0.6

    async def test_a_protocol_error_is_a_connection_error(self) -> None:
        def broken(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError("peer closed", request=request)

        assert await read(client_for(broken)) == BillingFailure(FailureKind.CONNECTION_ERROR)

    async def test_a_transport_timeout_is_a_timeout(self) -> None:
        def hangs(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        assert await read(client_for(hangs)) == BillingFailure(FailureKind.TIMEOUT)


class TestCircuitBreaker:
    async def test_opens_after_consecutive_failures_and_stops_asking(self) -> None:
        calls = 0

        def failing(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            return httpx.Response(500)

        client = client_for(failing, failures=3)
        for _ in range(3):
            assert await read(client) == BillingFailure(FailureKind.HTTP_ERROR)
        assert await read(client) == BillingFailure(FailureKind.CIRCUIT_OPEN)
        assert calls == 3

    async def test_a_success_resets_the_count(self) -> None:
        statuses = iter([500, 500, 200, 500, 500, 500])

        def mixed(request: httpx.Request) -> httpx.Response:
            status = next(statuses)
            if status == 200:
                return httpx.Response(200, json={"subscription": subscription()})
            return httpx.Response(status)

        client = client_for(mixed, failures=3)
        kinds = [await read(client) for _ in range(6)]
        assert isinstance(kinds[2], SubscriptionRead)
        assert kinds[5] == BillingFailure(FailureKind.HTTP_ERROR)  # the third in a row
        assert client.breaker.is_open

    async def test_unauthorized_does_not_open_it(self) -> None:
        client = client_for(answer(401, {}), failures=2)
        for _ in range(4):
            assert await read(client) == BillingFailure(FailureKind.UNAUTHORIZED)
        assert not client.breaker.is_open

    async def test_half_open_probe_closes_on_success(self) -> None:
        clock = Clock()
        healthy = False

        def billing(request: httpx.Request) -> httpx.Response:
            if healthy:
                return httpx.Response(200, json={"subscription": subscription()})
            return httpx.Response(503)

        client = client_for(billing, failures=1, clock=clock)
        await read(client)
        assert await read(client) == BillingFailure(FailureKind.CIRCUIT_OPEN)
        clock.now += 10
        healthy = True
        assert isinstance(await read(client), SubscriptionRead)
        assert not client.breaker.is_open

    async def test_half_open_probe_reopens_on_failure(self) -> None:
        clock = Clock()
        client = client_for(answer(503), failures=2, clock=clock)
        await read(client)
        await read(client)
        clock.now += 10
        assert await read(client) == BillingFailure(FailureKind.HTTP_ERROR)  # the probe
        assert await read(client) == BillingFailure(FailureKind.CIRCUIT_OPEN)

    async def test_one_probe_at_a_time(self) -> None:
        clock = Clock()
        release = asyncio.Event()
        calls = 0

        async def billing(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            await release.wait()
            return httpx.Response(200, content=json.dumps({"subscription": subscription()}))

        client = client_for(billing, failures=1, clock=clock)
        client.breaker.record_failure()
        clock.now += 10
        probe = asyncio.create_task(read(client))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert await read(client) == BillingFailure(FailureKind.CIRCUIT_OPEN)
        release.set()
        assert isinstance(await probe, SubscriptionRead)
        assert calls == 1
