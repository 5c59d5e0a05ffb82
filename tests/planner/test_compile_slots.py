"""What a compile slot costs an answer, and what that must never change.

A small plan compiles while its slot is asked for; a slot is given back after its
answer has left (``CompileSlots.run``, docs/planner_gating.md). The limit itself,
across replicas and leases, is ``test_saved_plans.TestConcurrency``'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import pytest
from structlog.testing import capture_logs

from services.common.db import create_engine
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.planner.compile_slots import (
    OVERLAP_MAX_BODY_BYTES,
    CompileSlots,
    DatabaseSlots,
    Lease,
)
from tests.planner.support import Planners, Replicas, auth

from .plans import document, task

BODY = msgspec.json.encode(document([task("design", 5), task("build", 10, "design")]))
# Over the line by its long names, within the free tier's 200 tasks.
LARGE = msgspec.json.encode(
    document([task(f"t{i}", 1, *([f"t{i - 1}"] if i else []), name="x" * 400) for i in range(200)])
)


class Compiles:
    """A stand-in compile that counts how often it started."""

    def __init__(self) -> None:
        self.started = 0

    async def __call__(self) -> str:
        self.started += 1
        return "schedule"


async def refused_while_held(
    a: CompileSlots, b: CompileSlots, compile: Callable[[], Awaitable[str]], *, small: bool
) -> Lease:
    """``a`` runs a compile while ``b`` holds the one slot: a 429. ``b``'s lease."""
    held = await b.acquire("acc_alice", 1)
    assert held is not None
    with pytest.raises(AppError) as refused:
        await a.run("acc_alice", 1, compile, small=small)
    assert refused.value.code is ErrorCode.PLAN_CONCURRENCY_LIMIT
    assert (refused.value.headers or {}).get("Retry-After") == "1"
    return held


class TestRun:
    async def test_a_large_plan_never_starts_without_its_slot(self, replicas: Replicas) -> None:
        async with replicas() as (a, b):
            compiles = Compiles()
            await refused_while_held(a, b, compiles, small=False)
            assert compiles.started == 0

    async def test_a_small_plan_refused_is_thrown_away_and_then_asked_first(
        self, replicas: Replicas
    ) -> None:
        async with replicas() as (a, b):
            compiles = Compiles()
            held = await refused_while_held(a, b, compiles, small=True)
            assert compiles.started == 1  # compiled while the slot was asked for; not answered
            with pytest.raises(AppError):
                await a.run("acc_alice", 1, compiles, small=True)
            assert compiles.started == 1  # refused a moment ago: the slot is asked for first
            await b.release(held)
            assert await a.run("acc_alice", 1, compiles, small=True) == "schedule"
            assert compiles.started == 2

    async def test_a_refusal_wins_over_what_the_compile_made_of_the_plan(
        self, replicas: Replicas
    ) -> None:
        async def broken() -> str:
            raise ValueError("not a plan")

        async with replicas() as (a, b):
            await refused_while_held(a, b, broken, small=True)  # not the ValueError

    async def test_the_slot_is_given_back_after_the_answer(self, replicas: Replicas) -> None:
        async with replicas() as (a, b):
            for small in (True, False):
                assert await a.run("acc_alice", 1, Compiles(), small=small) == "schedule"
                await a.settled()
                lease = await b.acquire("acc_alice", 1)
                assert lease is not None  # the store has it back
                await b.release(lease)

    async def test_a_process_never_refuses_itself_for_its_last_answer(
        self, replicas: Replicas
    ) -> None:
        async with replicas() as (a, b):
            for slots in (a, b, a, a, b, b) * 5:
                # Each as soon as the last answer came, before its slot is back in the store.
                assert await slots.run("acc_alice", 1, Compiles(), small=True) == "schedule"


class FailingStore(CompileSlots):
    """A store that hands out slots and cannot take them back."""

    async def _taken(self, account_id: str, limit: int) -> Lease | None:
        return Lease(account_id, 0, "lease_x")

    async def _give_back(self, lease: Lease) -> None:
        raise OSError("connection reset")

    async def _close(self) -> None:
        pass


@pytest.mark.backend_independent
async def test_a_slot_not_given_back_is_logged_and_left_to_expire() -> None:
    slots = FailingStore()
    with capture_logs() as logs:
        assert await slots.run("acc_alice", 1, Compiles(), small=True) == "schedule"
        await slots.close()  # waits for the release, which fails without raising
    assert [(e["log_level"], e["event"], e["error"]) for e in logs] == [
        ("warning", "compile_slot_not_given_back", "OSError")
    ]
    assert await slots.run("acc_alice", 1, Compiles(), small=True) == "schedule"  # not held


@pytest.fixture
async def other_replica(planner_db_url: str) -> AsyncIterator[DatabaseSlots]:
    """The compile slots of another planner process on the test database."""
    engine = create_engine(planner_db_url)
    slots = DatabaseSlots(engine, lease_s=120.0)
    try:
        yield slots
    finally:
        await slots.close()
        await engine.dispose()


class TestServed:
    def test_the_plans_are_either_side_of_the_line(self) -> None:
        assert len(BODY) <= OVERLAP_MAX_BODY_BYTES < len(LARGE)

    async def test_back_to_back_compiles_on_two_replicas_are_never_refused(
        self, planners: Planners
    ) -> None:
        # The free tier's one slot: each compile sent the moment the last answer came,
        # to one replica or the other, before that answer's slot is back in the store.
        async with planners() as a, planners() as b:
            statuses = [
                (await replica.post("/v1/plan/compile", content=BODY, headers=auth())).status_code
                for replica in (a, b, a, a, b, b) * 5
            ]
        assert statuses == [200] * 30

    @pytest.mark.parametrize("body", [BODY, LARGE], ids=["small", "large"])
    async def test_a_slot_held_by_another_replica_is_a_429(
        self, planners: Planners, other_replica: DatabaseSlots, body: bytes
    ) -> None:
        async with planners() as planner:
            held = await other_replica.acquire("acc_alice", 1)
            assert held is not None
            refused = await planner.post("/v1/plan/compile", content=body, headers=auth())
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "PLAN_CONCURRENCY_LIMIT"
            await other_replica.release(held)
            compiled = await planner.post("/v1/plan/compile", content=body, headers=auth())
            assert compiled.status_code == 200, compiled.text
            assert len(compiled.json()["plan"]["tasks"]) == len(msgspec.json.decode(body)["tasks"])

    async def test_a_refused_compile_holds_no_compile_turn_while_its_429_is_decided(
        self, planners: Planners, other_replica: DatabaseSlots
    ) -> None:
        # One compile turn in the process; Alice's one slot held by another replica.
        async with planners(planner_max_parallel_compiles=1) as planner:
            assert await other_replica.acquire("acc_alice", 1) is not None
            finished: list[str] = []

            async def compile_for(account: str) -> int:
                response = await planner.post(
                    "/v1/plan/compile", content=BODY, headers=auth(account)
                )
                finished.append(account)
                return response.status_code

            alice = asyncio.create_task(compile_for("acc_alice"))
            await asyncio.sleep(0.02)  # her compile done, her slot still being asked for
            assert await compile_for("acc_bob") == 200
            assert await alice == 429
            assert finished == ["acc_bob", "acc_alice"]

    async def test_a_replica_that_stops_gives_its_slots_back(
        self, planners: Planners, other_replica: DatabaseSlots
    ) -> None:
        async with planners() as planner:
            for _ in range(3):
                response = await planner.post("/v1/plan/compile", content=BODY, headers=auth())
                assert response.status_code == 200
        # Stopped the moment its answers left: its lifespan waited for the releases.
        assert await other_replica.acquire("acc_alice", 1) is not None
