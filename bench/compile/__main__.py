"""Run the plan compiler benchmark: ``python -m bench.compile [--quick]``.

For 1k, 10k and 100k-task plans it times, best of N, in one run:

* core     ``compile_plan(body)``: bytes in, compiled plan out (decode,
           validation, scheduling, output objects);
* e2e      ``POST /v1/plan/compile`` to the planner app under uvicorn in a
           subprocess, through the response bytes being read;
* networkx the same schedule the textbook way (``baseline.py``), also from the
           JSON bytes, and again with the garbage collector paused as the
           engine pauses it; the core target is set against the paused run,
           so that one trick cannot carry it.

Prints a table and PASS/FAIL per target, writes ``bench/results/compile.json``
and exits 1 if a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import http.server
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import msgspec

from bench.compile.baseline import networkx_schedule
from bench.compile.plans import random_plan
from services.common.auth import mint_token
from services.common.migrate import upgrade
from services.common.settings import Settings
from services.planner.engine import compile_plan
from services.planner.gating import TIERS, Tier

RESULTS = Path(__file__).resolve().parent.parent / "results" / "compile.json"
SIZES = (1_000, 10_000, 100_000)


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def with_gc_paused(action: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        gc.disable()
        try:
            return action()
        finally:
            gc.enable()

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def paid_billing() -> Iterator[str]:
    """A billing_api that says every account has an active paid subscription.

    The planner asks billing_api what an account may do; without one it falls
    back to the free tier (200 tasks), and the e2e column would time a 413.
    """

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            token = self.headers.get("authorization", "").removeprefix("Bearer ")
            account = jwt.decode(token, options={"verify_signature": False})["sub"]
            body = json.dumps(
                {
                    "subscription": {
                        "id": f"sub_{account}",
                        "accountId": account,
                        "planId": "pro_monthly",
                        "status": "active",
                        "currentPeriodStart": "2027-01-01T00:00:00+00:00",
                        "currentPeriodEnd": "2099-01-01T00:00:00+00:00",
                        "cancelAtPeriodEnd": False,
                        "trialEnd": None,
                        "provider": "stub",
                        "updatedAt": "2027-01-01T00:00:00+00:00",
                    }
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def planner_server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.planner.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    # The server logs every request; the table is what this run is for.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # A busy two-core machine can take 20 s to import the planner.
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the planner did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def check_agreement(body: bytes) -> int:
    """How many tasks the engine and the baseline schedule differently (must be 0)."""
    plan = compile_plan(body)
    expected = networkx_schedule(body)
    return sum(1 for t in plan.tasks if expected[t.id] != (t.es, t.ef, t.ls, t.lf))


def measure(env: dict[str, str], headers: dict[str, str], *, quick: bool) -> list[dict[str, Any]]:
    """One row per plan size: the engine, the HTTP route and the baseline, each best of N."""
    rows: list[dict[str, Any]] = []
    with planner_server(env) as base, httpx.Client(base_url=base, timeout=120) as client:
        for size in SIZES:
            runs = 1 if quick else (5 if size < 100_000 else 3)
            body = msgspec.json.encode(random_plan(size, seed=size))

            def post(body: bytes = body) -> object:
                response = client.post("/v1/plan/compile", content=body, headers=headers)
                response.raise_for_status()
                return response.content

            # The route takes at most the paid tier's maxTasksPerPlan.
            over_tier = size > TIERS[Tier.PAID].max_tasks_per_plan
            if not over_tier:
                post()  # warm up the server's imports and caches
            row = {
                "tasks": size,
                "bodyBytes": len(body),
                "runs": runs,
                "mismatches": check_agreement(body),
                "coreS": best_of(runs, functools.partial(compile_plan, body)),
                "e2eS": None if over_tier else best_of(runs, post),
                "networkxS": best_of(runs, functools.partial(networkx_schedule, body)),
                "networkxGcPausedS": best_of(
                    runs, with_gc_paused(functools.partial(networkx_schedule, body))
                ),
            }
            rows.append(row)
            print(f"  measured {size} tasks", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per measurement")
    args = parser.parse_args()

    env = dict(os.environ, GW_ENV_FILE=os.devnull, GW_ENV="development")
    os.environ.update(GW_ENV_FILE=os.devnull, GW_ENV="development")
    settings = Settings()
    headers = {
        "Authorization": f"Bearer {mint_token('acc_bench', settings)}",
        "Content-Type": "application/json",
    }

    with tempfile.TemporaryDirectory() as scratch, paid_billing() as billing:
        # The planner keeps compile slots and last known access in its own database.
        database = f"sqlite+aiosqlite:///{scratch}/planner.db"
        asyncio.run(upgrade("planner", database))
        env.update(BILLING_API_BASE_URL=billing, PLANNER_DATABASE_URL=database)
        rows = measure(env, headers, quick=args.quick)

    by_size = {r["tasks"]: r for r in rows}
    targets = [
        (
            f"core >= 2x faster than networkx with the GC paused at {n // 1000}k",
            by_size[n]["networkxGcPausedS"] / by_size[n]["coreS"] >= 2.0,
            f"{by_size[n]['networkxGcPausedS'] / by_size[n]['coreS']:.2f}x",
        )
        for n in (10_000, 100_000)
    ]
    targets.append(
        (
            "e2e 10k within 1.5x of networkx core",
            by_size[10_000]["e2eS"] <= 1.5 * by_size[10_000]["networkxS"],
            f"{by_size[10_000]['e2eS'] / by_size[10_000]['networkxS']:.2f}x",
        )
    )
    targets.append(
        (
            "engine and networkx agree on every date",
            all(r["mismatches"] == 0 for r in rows),
            f"{sum(r['mismatches'] for r in rows)} differing tasks",
        )
    )

    print()
    print(
        f"{'tasks':>8} {'body MB':>8} {'core s':>8} {'e2e s':>8} {'networkx s':>11}"
        f" {'nx gc-paused s':>15} {'nx/core':>8} {'paused/core':>12}"
    )
    for r in rows:
        print(
            f"{r['tasks']:>8} {r['bodyBytes'] / 1e6:>8.2f} {r['coreS']:>8.3f}"
            f" {'-' if r['e2eS'] is None else format(r['e2eS'], '.3f'):>8}"
            f" {r['networkxS']:>11.3f} {r['networkxGcPausedS']:>15.3f}"
            f" {r['networkxS'] / r['coreS']:>7.2f}x"
            f" {r['networkxGcPausedS'] / r['coreS']:>11.2f}x"
        )
    print()
    for name, ok, value in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {name}  ({value})")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "rows": rows,
                "targets": [{"name": n, "pass": ok, "value": v} for n, ok, v in targets],
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(ok for _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
