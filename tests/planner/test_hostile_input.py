"""Part of the hostile-input suite (beside tests/hostile/, with the planner's fixtures).

The planner: deep nesting, absurd numbers and a crowd of heavy compiles get coded answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.planner import compile_gate
from tests.planner.plans import document, task
from tests.planner.support import auth

COMPILE = "/v1/plan/compile"


@pytest.mark.parametrize("levels", [100, 1_000, 100_000])
async def test_deep_nesting_is_400_before_parsing(planner: httpx.AsyncClient, levels: int) -> None:
    body = b'{"schemaVersion":"1.0","tasks":' + b"[" * levels + b"]" * levels + b"}"
    response = await planner.post(COMPILE, content=body, headers=auth())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PLAN_INVALID_JSON"


def _with_units(capacity: Any, units: Any) -> dict[str, Any]:
    return document(
        [task("a", 2, assignments=[{"resource": "r", "units": units}])],
        resources=[{"id": "r", "name": "R", "capacity": capacity}],
    )


@pytest.mark.parametrize(
    ("capacity", "units"), [(1e308, 1), (1, 1e308), (1e7, 1), (1, 10**30)], ids=str
)
async def test_absurd_capacity_or_units_are_422(
    planner: httpx.AsyncClient, capacity: Any, units: Any
) -> None:
    response = await planner.post(
        COMPILE, content=json.dumps(_with_units(capacity, units)), headers=auth()
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "PLAN_INVALID"


async def test_a_million_units_still_compiles(planner: httpx.AsyncClient) -> None:
    response = await planner.post(COMPILE, json=_with_units(1_000_000, 1_000_000), headers=auth())
    assert response.status_code == 200


@pytest.fixture
async def one_turn_planner(planners: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with planners(planner_max_parallel_compiles=1, planner_compile_queue_seconds=0.2) as c:
        yield c


async def test_compiles_past_the_process_bound_wait_then_get_503(
    one_turn_planner: httpx.AsyncClient,
) -> None:
    gate = compile_gate.gate_of(one_turn_planner.app)  # type: ignore[attr-defined]
    async with gate.turn():  # a heavy compile is running
        response = await one_turn_planner.post(
            COMPILE, json=document([task("a", 1)]), headers=auth()
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["retry-after"] == "2"
    # Once the turn is free again, the same request compiles.
    again = await one_turn_planner.post(COMPILE, json=document([task("a", 1)]), headers=auth())
    assert again.status_code == 200


async def test_a_waiting_compile_runs_when_a_turn_frees(planners: Any) -> None:
    async with planners(planner_max_parallel_compiles=1, planner_compile_queue_seconds=10) as c:
        gate = compile_gate.gate_of(c.app)
        async with gate.turn():
            waiting = asyncio.create_task(
                c.post(COMPILE, json=document([task("a", 1)]), headers=auth())
            )
            await asyncio.sleep(0.1)
            assert not waiting.done()
        assert (await waiting).status_code == 200
