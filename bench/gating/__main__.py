"""What gating costs a request: ``python -m bench.gating [--quick]``.

In one process, one run, the planner app in process (httpx ASGITransport, its
lifespan run, a SQLite database in a temporary folder, billing_api a stand-in
transport), requests interleaved round by round so that machine noise falls on
every row alike:

* compile alone         ``POST /v1/plan/compile`` with the gate taken out (the
                        access dependency answers a fixed paid tier, the compile
                        slots do nothing): the same route, the same plan, no gating;
* compile gated         ``POST /v1/plan/compile`` as served: access, the tier's
                        task limit and a compile slot in the database;
* … no compile slot     gated, but the slot's database lease overridden away: what
                        the access lookup and the tier limit cost on their own;
* access_preview        ``GET /v1/billing/access_preview``, warm cache;
* compile_with_access   ``POST /v1/plan/compile_with_access_preview``, warm cache;
* … billing down        the same two with billing_api refusing connections, the
                        breaker open, the refresh age 0 (so every request asks
                        billing and is answered ``circuit_open`` at once) and the
                        last known access used stale.

Prints a table (median and p90 in ms) and PASS/FAIL for the targets: gating adds
under 1 ms at the median with a warm cache, under 5 ms with billing down and the
breaker open. Writes ``bench/results/gating.json``; exits 1 if a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
from fastapi import FastAPI

from services.common.auth import mint_token
from services.common.migrate import upgrade
from services.common.settings import Settings
from services.planner.access import preview_for
from services.planner.access_lookup import AccessAnswer
from services.planner.app import create_app
from services.planner.context import account_access, compile_slots
from services.planner.gating import feature_access

RESULTS = Path(__file__).resolve().parent.parent / "results" / "gating.json"
ACCOUNT = "acc_bench"
TASKS = 50


def plan_body(tasks: int) -> bytes:
    doc = {
        "schemaVersion": "1.0",
        "project": {
            "id": "bench",
            "name": "Bench",
            "start": "2027-01-04",
            "timeZone": "Europe/Istanbul",
            "calendar": "std",
        },
        "calendars": [{"id": "std", "workweek": ["mon", "tue", "wed", "thu", "fri"]}],
        "resources": [],
        "tasks": [
            {"id": f"t{i}", "name": f"Task {i}", "duration": 1 + i % 5}
            | ({"predecessors": [{"task": f"t{i - 1}"}]} if i else {})
            for i in range(tasks)
        ],
    }
    return msgspec.json.encode(doc)


class StandIn:
    """billing_api's subscription read: an active subscription, or connection refused."""

    def __init__(self) -> None:
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        now = dt.datetime.now(dt.UTC).isoformat()
        subscription = {
            "id": "sub_bench",
            "accountId": ACCOUNT,
            "planId": "pro_monthly",
            "status": "active",
            "cancelAtPeriodEnd": False,
            "updatedAt": now,
        }
        return httpx.Response(200, json={"subscription": subscription})


class NoSlots:
    @contextlib.asynccontextmanager
    async def hold(self, account_id: str, limit: int) -> AsyncIterator[None]:
        yield


PAID = AccessAnswer(
    preview_for("active"), feature_access(preview_for("active")), "cache", None, None
)


@contextlib.asynccontextmanager
async def planner(settings: Settings, billing: StandIn) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, billing_transport=httpx.MockTransport(billing.handle))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://planner.bench") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


def ungated(client: httpx.AsyncClient) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    app.dependency_overrides[account_access] = lambda: PAID
    app.dependency_overrides[compile_slots] = NoSlots


async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> float:
    started = time.perf_counter()
    response = await call()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return elapsed * 1000


async def run(rounds: int) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="gw-bench-gating-"))
    token = None
    samples: dict[str, list[float]] = {}
    body = plan_body(TASKS)
    urls: dict[str, str] = {}
    for name in ("warm", "down", "alone", "noslots"):
        urls[name] = f"sqlite+aiosqlite:///{folder}/{name}.db"
        await upgrade("planner", urls[name])
    base = {"gw_env": "test", "billing_api_base_url": "http://billing.bench"}

    def settings(name: str, **extra: Any) -> Settings:
        return Settings(_env_file=None, planner_database_url=urls[name], **base, **extra)  # type: ignore[call-arg]

    billing_up, billing_down = StandIn(), StandIn()
    async with (
        planner(settings("warm", planner_access_cache_ttl_s=3600), billing_up) as warm,
        planner(settings("down", planner_access_refresh_s=0), billing_down) as down,
        planner(settings("alone"), billing_up) as alone,
        planner(settings("noslots", planner_access_cache_ttl_s=3600), billing_up) as noslots,
    ):
        token = mint_token(ACCOUNT, settings("warm"))
        headers = {"Authorization": f"Bearer {token}"}
        ungated(alone)
        # Only the compile slot taken away: what the access lookup alone costs.
        noslots.app.dependency_overrides[compile_slots] = NoSlots  # type: ignore[attr-defined]
        await noslots.get("/v1/billing/access_preview", headers=headers)
        # Warm: the cache holds the paid tier. Down: the paid tier is known, then billing
        # goes away and the breaker opens after its consecutive failures.
        await warm.get("/v1/billing/access_preview", headers=headers)
        await down.get("/v1/billing/access_preview", headers=headers)
        billing_down.down = True
        for _ in range(10):
            await down.get("/v1/billing/access_preview", headers=headers)
        breaker = down.app.state.planner.billing.breaker  # type: ignore[attr-defined]
        assert breaker.is_open, "the breaker did not open"

        rows: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "compile alone": lambda: alone.post("/v1/plan/compile", content=body, headers=headers),
            "compile gated": lambda: warm.post("/v1/plan/compile", content=body, headers=headers),
            "compile gated, no compile slot": lambda: noslots.post(
                "/v1/plan/compile", content=body, headers=headers
            ),
            "access_preview": lambda: warm.get("/v1/billing/access_preview", headers=headers),
            "compile_with_access_preview": lambda: warm.post(
                "/v1/plan/compile_with_access_preview", content=body, headers=headers
            ),
            "access_preview, billing down": lambda: down.get(
                "/v1/billing/access_preview", headers=headers
            ),
            "compile_with_access_preview, billing down": lambda: down.post(
                "/v1/plan/compile_with_access_preview", content=body, headers=headers
            ),
        }
        for call in rows.values():  # warm up imports and connection pools
            for _ in range(5):
                await timed(call)
        for _ in range(rounds):
            for name, call in rows.items():
                samples.setdefault(name, []).append(await timed(call))
        last = (
            await down.post("/v1/plan/compile_with_access_preview", content=body, headers=headers)
        ).json()
        assert last["billing"] == {"ok": False, "kind": "circuit_open"}, last["billing"]
        assert last["source"] == "stale", last["source"]
    return samples


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 rounds instead of 400")
    args = parser.parse_args()
    os.environ.update(GW_ENV_FILE=os.devnull)
    samples = asyncio.run(run(50 if args.quick else 400))
    median = {name: statistics.median(values) for name, values in samples.items()}
    alone = median["compile alone"]
    targets = [
        (
            "gating adds < 1 ms at the median (compile_with_access_preview, warm cache)",
            median["compile_with_access_preview"] - alone < 1.0,
            f"{median['compile_with_access_preview'] - alone:+.3f} ms",
        ),
        (
            "gating adds < 1 ms at the median (compile, warm cache)",
            median["compile gated"] - alone < 1.0,
            f"{median['compile gated'] - alone:+.3f} ms",
        ),
        (
            "gating adds < 5 ms with billing down and the breaker open",
            median["compile_with_access_preview, billing down"] - alone < 5.0,
            f"{median['compile_with_access_preview, billing down'] - alone:+.3f} ms",
        ),
    ]
    print(f"\n{TASKS}-task plan, {len(samples['compile alone'])} rounds, in process\n")
    print(f"{'request':<44} {'median ms':>10} {'p90 ms':>8} {'vs alone':>10}")
    for name, values in samples.items():
        extra = "" if name.startswith("access_preview") else f"{median[name] - alone:+9.3f}"
        print(f"{name:<44} {median[name]:>10.3f} {p90(values):>8.3f} {extra:>10}")
    print()
    for name, ok, value in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {name}  ({value})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "tasks": TASKS,
                "medianMs": median,
                "p90Ms": {name: p90(values) for name, values in samples.items()},
                "targets": [{"name": n, "pass": ok, "value": v} for n, ok, v in targets],
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(ok for _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
