"""What gating costs a request: ``python -m bench.gating [--quick] [--backend …] [--no-redis]``.

In one process, one run per database (SQLite in a temporary folder; PostgreSQL a
random-named database, dropped afterwards), the planner app in process (httpx
ASGITransport, its lifespan run, billing_api a stand-in transport), requests
interleaved round by round so that machine noise falls on every row alike:

* compile alone         ``POST /bench/compile``, a route this bench adds to the same
                        app: the same authentication, body, compile turn and
                        compiler call as ``/v1/plan/compile`` (``run_compiler``), with
                        the engine's own task ceiling and no access lookup, tier
                        limit or compile slot: compiling with no gating at all;
* compile gated         ``POST /v1/plan/compile`` as served: access, the tier's task
                        limit and a compile slot in the database;
* … no compile slot     gated, in an app whose compile slots are a no-op: what the
                        access lookup and the tier limit cost on their own;
* access_preview        ``GET /v1/billing/access_preview``, warm cache;
* compile_with_access   ``POST /v1/plan/compile_with_access_preview``, warm cache;
* … billing down        the same two with billing_api refusing connections, the
                        breaker open, the refresh age 0 (so every request asks
                        billing and is answered ``circuit_open`` at once) and the
                        last known access used stale;
* PostgreSQL round trip ``SELECT 1`` on the compile slots' pool, sent as a slot
                        statement is (PostgreSQL only): a slot is two statements,
                        kept off the answer's path (the take sent while the plan
                        compiles, the release after the answer); waited for, each
                        would cost the gated rows at least this;
* … Redis compile slots compile gated in an app whose compile slots are counted in
                        Redis (``PLANNER_REDIS_URL``, ``--redis-url``, on by
                        default; ``--no-redis`` leaves these rows out), the access
                        lookup still in the database;
* Redis round trip      ``PING`` on that app's Redis client: a Redis slot is two
                        commands (the take script and the release), kept off the
                        answer's path as in the database.

"Warm" runs the shipped cache settings (0.5 s in process, 30 s before billing is
read again), so now and then a request reads the last known access from the
database, as in production. Nothing is swapped in through FastAPI's
``dependency_overrides``: with any override set, FastAPI rebuilds every
dependency of every request from its signature, which cost the rows that used it
about 2 ms a request and made the access lookup look expensive.

Prints a table (median and p90 in ms) and PASS/FAIL for the targets: gating adds
under 1 ms at the median with a warm cache (with the slots in the database, and
in Redis), under 5 ms with billing down and the breaker open. The apps log at
WARNING only, so the table is not lost among a log line per request. Writes
``bench/results/gating.json``; exits 1 if a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bench import postgres
from services.common.auth import AppSettings, CurrentAccount, mint_token
from services.common.migrate import upgrade
from services.common.settings import Settings
from services.planner.compile_slots import CompileSlots
from services.planner.compile_slots_redis import RedisSlots
from services.planner.engine import compile_plan
from services.planner.routes.plan_compile import run_compiler

RESULTS = Path(__file__).resolve().parent.parent / "results" / "gating.json"
TASKS = 50
T = TypeVar("T")
REDIS_URL = os.environ.get("GW_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


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

    def __init__(self, account: str) -> None:
        self.account = account
        self.down = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        now = dt.datetime.now(dt.UTC).isoformat()
        subscription = {
            "id": f"sub_{self.account}",
            "accountId": self.account,
            "planId": "pro_monthly",
            "status": "active",
            "cancelAtPeriodEnd": False,
            "updatedAt": now,
        }
        return httpx.Response(200, json={"subscription": subscription})


class NoSlots:
    async def run(
        self, account_id: str, limit: int, compile: Callable[[], Awaitable[T]], *, small: bool
    ) -> T:
        return await compile()


NO_SLOTS = cast(CompileSlots, NoSlots())


async def compile_alone(
    request: Request, account_id: CurrentAccount, settings: AppSettings
) -> Response:
    """``/v1/plan/compile`` without gating: no access lookup, no tier limit, no slot."""
    body = await request.body()
    plan = await run_compiler(
        request,
        compile_plan,
        body,
        account_id=account_id,
        limit=settings.planner_max_tasks,
        concurrent=1,
        slots=NO_SLOTS,
    )
    if isinstance(plan, JSONResponse):
        return plan
    return Response(msgspec.json.encode({"ok": True, "plan": plan}), media_type="application/json")


@contextlib.asynccontextmanager
async def planner(settings: Settings, billing: StandIn) -> AsyncIterator[httpx.AsyncClient]:
    from services.planner.app import create_app

    app: FastAPI = create_app(settings, billing_transport=httpx.MockTransport(billing.handle))
    app.add_api_route("/bench/compile", compile_alone, methods=["POST"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://planner.bench") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def timed(call: Callable[[], Awaitable[httpx.Response | None]]) -> float:
    started = time.perf_counter()
    response = await call()
    elapsed = time.perf_counter() - started
    if response is not None and response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return elapsed * 1000


ROUND_TRIP = "PostgreSQL round trip (SELECT 1)"
REDIS_GATED = "compile gated, Redis compile slots"
REDIS_ROUND_TRIP = "Redis round trip (PING)"
STANDALONE = (ROUND_TRIP, REDIS_ROUND_TRIP)


def round_trip(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """One statement on the compile slots' own pool, the way a slot statement is sent:
    what each of a slot's two would cost an answer that waited for it."""
    connections = app.state.planner.slots.postgres

    async def select_one() -> None:
        await connections.rows("SELECT 1", [])

    return select_one


def redis_ping(app: FastAPI) -> Callable[[], Awaitable[None]]:
    """One command on the Redis compile slots' client: a Redis slot is two."""
    slots = app.state.planner.slots
    assert isinstance(slots, RedisSlots), "PLANNER_REDIS_URL did not reach the app"

    async def ping() -> None:
        await slots.client.ping()

    return ping


@contextlib.contextmanager
def databases(backend: str, names: list[str]) -> Iterator[dict[str, str]]:
    """One empty planner database per app (a file each, or one PostgreSQL database)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="gw-bench-gating-") as folder:
            yield {name: f"sqlite+aiosqlite:///{folder}/{name}.db" for name in names}
        return
    # One database for all apps, as replicas share it; each app has its own account.
    with postgres.empty_database("gating") as url:
        yield dict.fromkeys(names, url)


async def run(urls: dict[str, str], rounds: int, redis_url: str) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    body = plan_body(TASKS)
    for url in set(urls.values()):
        await upgrade("planner", url)
    # WARNING: the request log (a JSON line per request) would bury the table.
    base: dict[str, Any] = {
        "gw_env": "test",
        "billing_api_base_url": "http://billing.bench",
        "log_level": "WARNING",
    }

    def settings(name: str, **extra: Any) -> Settings:
        return Settings(_env_file=None, planner_database_url=urls[name], **base, **extra)

    # The Redis app's account is this run's own: another run may share the Redis.
    billing = {
        name: StandIn(f"acc_bench_{name}" + (f"_{secrets.token_hex(4)}" if name == "redis" else ""))
        for name in urls
    }
    async with contextlib.AsyncExitStack() as stack:
        warm = await stack.enter_async_context(planner(settings("warm"), billing["warm"]))
        down = await stack.enter_async_context(
            planner(settings("down", planner_access_refresh_s=0), billing["down"])
        )
        noslots = await stack.enter_async_context(planner(settings("noslots"), billing["noslots"]))
        in_redis = (
            await stack.enter_async_context(
                planner(settings("redis", planner_redis_url=redis_url), billing["redis"])
            )
            if redis_url
            else None
        )
        headers = {
            name: {"Authorization": f"Bearer {mint_token(stand_in.account, settings(name))}"}
            for name, stand_in in billing.items()
        }
        # Only the compile slot taken away: what the access lookup alone costs.
        noslots.app.state.planner.slots = NO_SLOTS  # type: ignore[attr-defined]
        await noslots.get("/v1/billing/access_preview", headers=headers["noslots"])
        # Warm: the paid tier is known. Down: the paid tier is known, then billing goes
        # away and the breaker opens after its consecutive failures.
        await warm.get("/v1/billing/access_preview", headers=headers["warm"])
        await down.get("/v1/billing/access_preview", headers=headers["down"])
        billing["down"].down = True
        for _ in range(10):
            await down.get("/v1/billing/access_preview", headers=headers["down"])
        breaker = down.app.state.planner.billing.breaker  # type: ignore[attr-defined]
        assert breaker.is_open, "the breaker did not open"

        def post(client: httpx.AsyncClient, path: str, name: str) -> Awaitable[httpx.Response]:
            return client.post(path, content=body, headers=headers[name])

        rows: dict[str, Callable[[], Awaitable[httpx.Response | None]]] = {
            "compile alone": lambda: post(warm, "/bench/compile", "warm"),
            "compile gated": lambda: post(warm, "/v1/plan/compile", "warm"),
            "compile gated, no compile slot": lambda: post(noslots, "/v1/plan/compile", "noslots"),
            "access_preview": lambda: warm.get(
                "/v1/billing/access_preview", headers=headers["warm"]
            ),
            "compile_with_access_preview": lambda: post(
                warm, "/v1/plan/compile_with_access_preview", "warm"
            ),
            "access_preview, billing down": lambda: down.get(
                "/v1/billing/access_preview", headers=headers["down"]
            ),
            "compile_with_access_preview, billing down": lambda: post(
                down, "/v1/plan/compile_with_access_preview", "down"
            ),
        }
        if warm.app.state.planner.slots.engine.dialect.name == "postgresql":  # type: ignore[attr-defined]
            rows[ROUND_TRIP] = round_trip(warm.app)  # type: ignore[attr-defined]
        if in_redis is not None:
            await in_redis.get("/v1/billing/access_preview", headers=headers["redis"])
            rows[REDIS_GATED] = lambda: post(in_redis, "/v1/plan/compile", "redis")
            rows[REDIS_ROUND_TRIP] = redis_ping(in_redis.app)  # type: ignore[attr-defined]
        for call in rows.values():  # warm up imports and connection pools
            for _ in range(5):
                await timed(call)
        for _ in range(rounds):
            for name, call in rows.items():
                samples.setdefault(name, []).append(await timed(call))
        last = (await post(down, "/v1/plan/compile_with_access_preview", "down")).json()
        assert last["billing"] == {"ok": False, "kind": "circuit_open"}, last["billing"]
        assert last["source"] == "stale", last["source"]
        gated = (await post(warm, "/v1/plan/compile_with_access_preview", "warm")).json()
        assert gated["featureAccess"]["tier"] == "paid", gated["featureAccess"]
    return samples


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def report(backend: str, samples: dict[str, list[float]]) -> dict[str, Any]:
    median = {name: statistics.median(values) for name, values in samples.items()}
    alone = median["compile alone"]

    def added(name: str) -> float:
        return median[name] - alone

    targets = [
        (
            "gating adds < 1 ms at the median (compile_with_access_preview, warm cache)",
            added("compile_with_access_preview") < 1.0,
            f"{added('compile_with_access_preview'):+.3f} ms",
        ),
        (
            "gating adds < 1 ms at the median (compile, warm cache)",
            added("compile gated") < 1.0,
            f"{added('compile gated'):+.3f} ms",
        ),
        *(
            [
                (
                    "gating adds < 1 ms at the median (compile, warm cache, Redis compile slots)",
                    added(REDIS_GATED) < 1.0,
                    f"{added(REDIS_GATED):+.3f} ms",
                )
            ]
            if REDIS_GATED in median
            else []
        ),
        (
            "gating adds < 5 ms with billing down and the breaker open",
            added("compile_with_access_preview, billing down") < 5.0,
            f"{added('compile_with_access_preview, billing down'):+.3f} ms",
        ),
    ]
    rounds = len(samples["compile alone"])
    print(f"\n{backend}: {TASKS}-task plan, {rounds} rounds, in process\n")
    print(f"{'request':<44} {'median ms':>10} {'p90 ms':>8} {'vs alone':>10}")
    for name, values in samples.items():
        standalone = name.startswith("access_preview") or name in STANDALONE
        extra = "" if standalone else f"{added(name):+9.3f}"
        print(f"{name:<44} {median[name]:>10.3f} {p90(values):>8.3f} {extra:>10}")
    print()
    for name, ok, value in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {backend}: {name}  ({value})")
    return {
        "medianMs": median,
        "p90Ms": {name: p90(values) for name, values in samples.items()},
        "targets": [{"name": n, "pass": ok, "value": v} for n, ok, v in targets],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 rounds instead of 400")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        action="append",
        help="the planner's database (repeatable; default both)",
    )
    parser.add_argument(
        "--redis-url", default=REDIS_URL, help="the Redis of the Redis compile slots rows"
    )
    parser.add_argument("--no-redis", action="store_true", help="leave the Redis rows out")
    args = parser.parse_args()
    os.environ.update(GW_ENV_FILE=os.devnull)
    redis_url = "" if args.no_redis else args.redis_url
    results: dict[str, Any] = {}
    for backend in args.backend or ["sqlite", "postgresql"]:
        names = ["warm", "down", "noslots"] + (["redis"] if redis_url else [])
        with databases(backend, names) as urls:
            samples = asyncio.run(run(urls, 50 if args.quick else 400, redis_url))
        results[backend] = report(backend, samples)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"python": platform.python_version(), "cpus": os.cpu_count(), "tasks": TASKS} | results,
            indent=2,
        )
        + "\n"
    )
    passed = all(t["pass"] for result in results.values() for t in result["targets"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
