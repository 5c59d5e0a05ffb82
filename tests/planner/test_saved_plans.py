"""Saved plans and exports, enforced on the backend by featureAccess; one account never
sees another's plan."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import icalendar
import msgspec
import pytest

from services.common.db import create_engine
from services.planner.compile_slots import DatabaseSlots
from tests.databases import SqliteTemplates
from tests.planner.billing_standin import BillingStandIn
from tests.planner.support import LANDING, Planners, Replicas, auth

from .plans import document, task

PLANS = "/v1/plans"
DOC = document([task("design", 5), task("build", 10, "design")], id="launch", name="Launch")
BODY = msgspec.json.encode(DOC)


def refused(response: httpx.Response, feature: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "FEATURE_NOT_AVAILABLE"
    assert (error["feature"], error["tier"], error["upgradeUrl"]) == (
        feature,
        "free",
        LANDING + "/",
    )


async def save(planner: httpx.AsyncClient, account: str = "acc_alice") -> dict[str, Any]:
    response = await planner.post(PLANS, content=BODY, headers=auth(account))
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()["plan"]
    assert response.headers["location"] == f"{PLANS}/{plan['id']}"
    return plan


@asynccontextmanager
async def two_processes(
    url: str, *, lease_s: float = 120.0
) -> AsyncIterator[tuple[DatabaseSlots, DatabaseSlots]]:
    """The compile slots of two planner processes sharing one SQLite file."""
    engines = [create_engine(url) for _ in range(2)]
    a, b = (DatabaseSlots(engine, lease_s=lease_s) for engine in engines)
    try:
        yield a, b
    finally:
        for slots in (a, b):
            await slots.close()
        for engine in engines:
            await engine.dispose()


@pytest.fixture
def paid(billing: BillingStandIn) -> BillingStandIn:
    billing.statuses["acc_alice"] = "active"
    billing.statuses["acc_mallory"] = "active"
    return billing


class TestPaid:
    async def test_save_read_list_change_delete(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        plan = await save(planner)
        assert (plan["name"], plan["taskCount"]) == ("Launch", 2)
        assert plan["id"].startswith("plan_")
        assert len(plan["id"]) == 29
        read = (await planner.get(f"{PLANS}/{plan['id']}", headers=auth())).json()["plan"]
        assert read["document"] == DOC
        listed = (await planner.get(PLANS, headers=auth())).json()["plans"]
        assert [p["id"] for p in listed] == [plan["id"]]
        changed = document([task("a", 1)], id="launch", name="Renamed")
        put = await planner.put(
            f"{PLANS}/{plan['id']}", content=msgspec.json.encode(changed), headers=auth()
        )
        assert put.status_code == 200
        assert (put.json()["plan"]["name"], put.json()["plan"]["taskCount"]) == ("Renamed", 1)
        deleted = await planner.delete(f"{PLANS}/{plan['id']}", headers=auth())
        assert deleted.status_code == 204
        gone = await planner.get(f"{PLANS}/{plan['id']}", headers=auth())
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "SAVED_PLAN_NOT_FOUND"

    async def test_an_invalid_plan_is_not_saved(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        bad = msgspec.json.encode(document([task("a", -1)]))
        response = await planner.post(PLANS, content=bad, headers=auth())
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "PLAN_NEGATIVE_DURATION"
        assert (await planner.post(PLANS, content=b"{", headers=auth())).status_code == 400
        assert (await planner.get(PLANS, headers=auth())).json()["plans"] == []

    async def test_ics_export(self, planner: httpx.AsyncClient, paid: BillingStandIn) -> None:
        plan = await save(planner)
        response = await planner.get(f"{PLANS}/{plan['id']}/export?format=ics", headers=auth())
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="launch.ics"'
        calendar = icalendar.Calendar.from_ical(response.content)
        events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
        assert set(events) == {"Design", "Build"}

    async def test_csv_export(self, planner: httpx.AsyncClient, paid: BillingStandIn) -> None:
        plan = await save(planner)
        response = await planner.get(f"{PLANS}/{plan['id']}/export?format=csv", headers=auth())
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="launch.csv"'
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(r["id"], r["earlyFinish"]) for r in rows] == [
            ("design", "2027-01-08"),
            ("build", "2027-01-22"),
        ]

    async def test_unknown_format(self, planner: httpx.AsyncClient, paid: BillingStandIn) -> None:
        plan = await save(planner)
        response = await planner.get(f"{PLANS}/{plan['id']}/export?format=pdf", headers=auth())
        assert response.status_code == 422


class TestFree:
    async def test_cannot_save_or_export(self, planner: httpx.AsyncClient) -> None:
        refused(await planner.post(PLANS, content=BODY, headers=auth()), "canSavePlans")
        assert (await planner.get(PLANS, headers=auth())).json() == {"plans": []}

    async def test_a_downgrade_keeps_plans_readable_and_deletable(
        self, planners: Planners, paid: BillingStandIn
    ) -> None:
        async with planners(planner_access_refresh_s=0) as planner:
            plan = await save(planner)
            paid.statuses["acc_alice"] = "past_due"
            url = f"{PLANS}/{plan['id']}"
            assert (await planner.get(url, headers=auth())).status_code == 200
            assert len((await planner.get(PLANS, headers=auth())).json()["plans"]) == 1
            refused(await planner.put(url, content=BODY, headers=auth()), "canSavePlans")
            refused(await planner.get(f"{url}/export?format=ics", headers=auth()), "canExport")
            assert (await planner.delete(url, headers=auth())).status_code == 204

    async def test_too_many_tasks_for_the_tier(self, planner: httpx.AsyncClient) -> None:
        big = msgspec.json.encode(document([task(f"t{i}", 1) for i in range(201)]))
        response = await planner.post("/v1/plan/compile", content=big, headers=auth())
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PLAN_TOO_LARGE"
        assert response.json()["errors"][0]["details"] == {"tasks": 201, "maxTasks": 200}
        within = msgspec.json.encode(document([task(f"t{i}", 1) for i in range(200)]))
        assert (
            await planner.post("/v1/plan/compile", content=within, headers=auth())
        ).status_code == 200

    async def test_paid_saves_are_limited_too(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        big = msgspec.json.encode(document([task(f"t{i}", 1) for i in range(20_001)]))
        response = await planner.post(PLANS, content=big, headers=auth())
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PLAN_TOO_LARGE"


class TestIsolation:
    async def test_another_accounts_plan_is_404_for_everything(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        plan = await save(planner, "acc_alice")
        url = f"{PLANS}/{plan['id']}"
        mallory = auth("acc_mallory")
        for response in (
            await planner.get(url, headers=mallory),
            await planner.put(url, content=BODY, headers=mallory),
            await planner.delete(url, headers=mallory),
            await planner.get(f"{url}/export?format=csv", headers=mallory),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "SAVED_PLAN_NOT_FOUND"
        assert (await planner.get(PLANS, headers=mallory)).json() == {"plans": []}
        assert (await planner.get(url, headers=auth("acc_alice"))).status_code == 200

    async def test_a_free_account_gets_404_not_403_for_anothers_plan(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        plan = await save(planner, "acc_alice")
        bob = auth("acc_bob")
        response = await planner.put(f"{PLANS}/{plan['id']}", content=BODY, headers=bob)
        assert response.status_code == 404
        response = await planner.get(f"{PLANS}/{plan['id']}/export?format=ics", headers=bob)
        assert response.status_code == 404

    async def test_ids_are_unguessable(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        ids = {(await save(planner))["id"] for _ in range(5)}
        assert len(ids) == 5
        assert all(len(i.removeprefix("plan_")) == 24 for i in ids)  # 96 random bits each


class TestConcurrency:
    async def test_the_free_tier_compiles_one_plan_at_a_time(
        self, planner: httpx.AsyncClient
    ) -> None:
        state = planner.app.state.planner  # type: ignore[attr-defined]
        lease = await state.slots.acquire("acc_alice", 1)
        assert lease is not None
        response = await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "PLAN_CONCURRENCY_LIMIT"
        other = await planner.post("/v1/plan/compile", content=BODY, headers=auth("acc_bob"))
        assert other.status_code == 200
        await state.slots.release(lease)
        assert (
            await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        ).status_code == 200

    async def test_paid_gets_five_slots(
        self, planner: httpx.AsyncClient, paid: BillingStandIn
    ) -> None:
        slots = planner.app.state.planner.slots  # type: ignore[attr-defined]
        held = [await slots.acquire("acc_alice", 5) for _ in range(5)]
        assert None not in held
        assert sorted(lease.slot for lease in held) == [0, 1, 2, 3, 4]
        assert await slots.acquire("acc_alice", 5) is None
        response = await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        assert response.status_code == 429

    async def test_processes_sharing_the_store_share_the_limit(self, replicas: Replicas) -> None:
        async with replicas() as (a, b):
            first = await a.acquire("acc_alice", 3)
            assert first is not None
            assert await a.acquire("acc_alice", 3) is not None
            assert await b.acquire("acc_alice", 3) is not None
            assert await b.acquire("acc_alice", 3) is None  # b holds one, the store three
            assert await a.acquire("acc_alice", 3) is None
            await a.release(first)
            assert await b.acquire("acc_alice", 3) is not None
            assert await b.acquire("acc_bob", 1) is not None  # another account's slots

    async def test_simultaneous_takes_never_exceed_the_limit(self, replicas: Replicas) -> None:
        async with replicas() as (a, b):
            takers = [a, b] * 10
            taken = await asyncio.gather(*(slots.acquire("acc_alice", 3) for slots in takers))
            leases = [
                (slots, lease)
                for slots, lease in zip(takers, taken, strict=True)
                if lease is not None
            ]
            assert len({lease.holder for _, lease in leases}) == 3
            numbered = [lease.slot for _, lease in leases if lease.slot is not None]
            assert len(set(numbered)) == len(numbered)  # no database slot held twice
            for slots, lease in leases:
                await slots.release(lease)
            assert await b.acquire("acc_alice", 3) is not None  # all given back

    async def test_an_expired_lease_frees_its_slot(self, replicas: Replicas) -> None:
        async with replicas(lease_s=1.0) as (crashed, alive):
            assert await crashed.acquire("acc_alice", 1) is not None  # and never released
            assert await alive.acquire("acc_alice", 1) is None
            await asyncio.sleep(1.05)
            assert await alive.acquire("acc_alice", 1) is not None

    async def test_a_release_gives_back_only_its_own_lease(self, replicas: Replicas) -> None:
        async with replicas(lease_s=1.0) as (crashed, alive):
            stale = await crashed.acquire("acc_alice", 1)
            assert stale is not None
            await asyncio.sleep(1.05)
            fresh = await alive.acquire("acc_alice", 1)
            assert fresh is not None
            assert fresh.slot == stale.slot  # the same (numbered, in the database) slot
            await crashed.release(stale)  # came back after its lease ran out: too late
            assert await alive.acquire("acc_alice", 1) is None

    async def test_slots_are_released_after_refusals_too(self, planner: httpx.AsyncClient) -> None:
        bad = msgspec.json.encode(document([task("a", -1)]))
        for _ in range(3):
            assert (
                await planner.post("/v1/plan/compile", content=bad, headers=auth())
            ).status_code == 422
        assert (
            await planner.post("/v1/plan/compile", content=BODY, headers=auth())
        ).status_code == 200


class TestSqliteLeases:
    """On SQLite the lease statements run inline on the event loop while the file is free."""

    async def test_a_locked_file_sends_the_statement_through_the_write_engine(
        self, sqlite_templates: SqliteTemplates, tmp_path: Path
    ) -> None:
        path = tmp_path / "planner.db"
        url = sqlite_templates.copy("planner", path)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing
        async with two_processes(url) as (slots, _):
            taking = asyncio.create_task(slots.acquire("acc_alice", 1))
            await asyncio.sleep(0.2)
            assert not taking.done()  # waiting for the lock, without blocking the loop
            other.execute("COMMIT")
            lease = await asyncio.wait_for(taking, 5)
            assert lease is not None
            assert await slots.acquire("acc_alice", 1) is None
            await slots.release(lease)
            assert other.execute("SELECT count(*) FROM planner_compile_leases").fetchone() == (0,)
        other.close()

    async def test_the_write_ahead_log_is_checkpointed(
        self, sqlite_templates: SqliteTemplates, tmp_path: Path
    ) -> None:
        path = tmp_path / "planner.db"
        url = sqlite_templates.copy("planner", path)
        async with two_processes(url) as (slots, _):
            for _ in range(1500):
                lease = await slots.acquire("acc_alice", 1)
                assert lease is not None
                await slots.release(lease)
            # 3000 statements would leave some 6000 pages (24 MB) in the log unchecked.
            wal = path.with_name(path.name + "-wal")
            assert wal.stat().st_size < 8_000_000
