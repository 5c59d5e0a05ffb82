"""Compile slots counted in Redis (PLANNER_REDIS_URL): the app uses them, and with
Redis down a plan that compiles is still answered, within the process's own limit.
The guarantees every store keeps are in ``test_saved_plans.TestConcurrency``."""

from __future__ import annotations

import secrets
import socket

import msgspec
import pytest
from structlog.testing import capture_logs

from services.planner.compile_slots_redis import KEY_PREFIX, RedisSlots, redis_client
from tests.databases import REDIS_URL, redis_key_prefix
from tests.planner.support import Planners, auth

from .plans import document, task

BODY = msgspec.json.encode(document([task("design", 5), task("build", 10, "design")]))

pytestmark = [pytest.mark.redis, pytest.mark.backend_independent]


def nobody_listening() -> str:
    """A Redis URL on a port that refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"redis://127.0.0.1:{port}/0"


async def test_with_redis_down_compiles_go_on_within_the_process_limit() -> None:
    slots = RedisSlots(redis_client(nobody_listening()), lease_s=120.0)
    try:
        with capture_logs() as logs:
            first = await slots.acquire("acc_alice", 2)
            second = await slots.acquire("acc_alice", 2)
            assert first is not None
            assert second is not None
            assert await slots.acquire("acc_alice", 2) is None  # this process's own limit
            await slots.release(first)
            await slots.release(second)
            assert await slots.acquire("acc_alice", 2) is not None
        warnings = [entry for entry in logs if entry["event"] == "compile_slots_redis_unavailable"]
        # Logged when Redis failed; then left alone for a while, not asked per compile.
        assert [(w["log_level"], w["step"], w["fallback"]) for w in warnings] == [
            ("warning", "acquire", "process_limit")
        ]
        assert slots.breaker.is_open
    finally:
        await slots.close()


async def test_the_app_counts_slots_in_redis(planners: Planners) -> None:
    account = f"acc_{secrets.token_hex(6)}"
    # The app's own keys (an account of this test only); the prefix requires Redis.
    async with redis_key_prefix(), planners(planner_redis_url=REDIS_URL) as planner:
        slots = planner.app.state.planner.slots  # type: ignore[attr-defined]
        assert isinstance(slots, RedisSlots)
        other_replica = RedisSlots(redis_client(REDIS_URL), lease_s=120.0)
        try:
            lease = await other_replica.acquire(account, 1)
            assert lease is not None
            refused = await planner.post("/v1/plan/compile", content=BODY, headers=auth(account))
            assert refused.status_code == 429  # the free tier's one slot, held elsewhere
            assert refused.json()["error"]["code"] == "PLAN_CONCURRENCY_LIMIT"
            await other_replica.release(lease)
            compiled = await planner.post("/v1/plan/compile", content=BODY, headers=auth(account))
            assert compiled.status_code == 200, compiled.text
            await slots.settled()  # given back once the answer had left
            assert await other_replica.client.zcard(KEY_PREFIX + account) == 0
        finally:
            await other_replica.client.delete(KEY_PREFIX + account)
            await other_replica.close()


async def test_with_redis_down_the_app_still_answers_a_plan(planners: Planners) -> None:
    async with planners(planner_redis_url=nobody_listening()) as planner:
        response = await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        assert response.status_code == 200, response.text
        assert response.json()["ok"] is True
        slots = planner.app.state.planner.slots  # type: ignore[attr-defined]
        held = await slots.acquire("acc_alice", 1)
        assert held is not None
        refused = await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        assert refused.status_code == 429  # the process's own count still applies
        await slots.release(held)
