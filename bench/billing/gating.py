"""What the planner's gating adds to a compile: ``compile_with_access_preview`` against
``compile`` for a 50-task plan, the planner reading the paid account's access from the
billing_api under test (cached between reads, as it runs).

Every answer the planner gave is counted from its own request log, by status: wrk only
counts "non-2xx", which cannot tell the account's limit (429, by design when a run asks
for more than ``maxConcurrentPlans``) from a busy process (503) or a failure (5xx). A
request whose client left before sending it whole (wrk stopping at the end of a run) is
logged 499 and is no answer at all. Runs are a second apart: the compiles still running
when wrk stopped hold the account's slots until they finish, and the next run's first
requests would otherwise find them taken.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from bench.billing import load
from bench.compile.plans import random_plan
from services.common.migrate import upgrade

TASKS = 50
# A paid account may run 5 compilations at once (maxConcurrentPlans); more connections
# would measure the planner refusing them.
CONNECTIONS = 4
# What a refused compile is told to wait (Retry-After); the compiles a run left behind
# are done by then.
SETTLE_SECONDS = 1.0
CLIENT_LEFT = 499
PATHS = {
    "compile": "/v1/plan/compile",
    "compileWithAccessPreview": "/v1/plan/compile_with_access_preview",
}


def measure_gating(
    env: dict[str, str],
    billing_url: str,
    headers: dict[str, str],
    *,
    rounds: int,
    seconds: float,
    logs: Path,
) -> dict[str, Any]:
    from bench.billing.__main__ import free_port, median_of, server  # a cycle at import time

    body = msgspec.json.encode(random_plan(TASKS, seed=TASKS))
    with tempfile.TemporaryDirectory(prefix="bench-planner-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/planner.db"
        asyncio.run(upgrade("planner", url))
        port = free_port()
        planner_env = dict(
            env, PLANNER_DATABASE_URL=url, BILLING_API_BASE_URL=billing_url, LOG_LEVEL="INFO"
        )
        command = [sys.executable, "-m", "gwstack", "serve", "planner", "--host", "127.0.0.1",
                   "--port", str(port)]  # fmt: skip
        with server("planner", command, planner_env, port, logs) as base:
            post = dict(headers, **{"Content-Type": "application/json"})
            for path in PATHS.values():  # warm-up, and the first access read
                load.reads(base + path, post, connections=CONNECTIONS, seconds=1, body=body)
                time.sleep(SETTLE_SECONDS)
            runs: dict[str, list[load.ReadResult]] = {name: [] for name in PATHS}
            names = list(PATHS)
            for r in range(rounds):
                for name in names[r % 2 :] + names[: r % 2]:
                    result = load.reads(
                        base + PATHS[name],
                        post,
                        connections=CONNECTIONS,
                        seconds=seconds,
                        body=body,
                    )
                    runs[name].append(result)
                    time.sleep(SETTLE_SECONDS)
        statuses = answered(logs / "planner.log")
    return {
        "tasks": TASKS,
        "connections": CONNECTIONS,
        **{
            name: median_of(results) | {"statuses": dict(statuses[PATHS[name]])}
            for name, results in runs.items()
        },
    }


def answered(log: Path) -> dict[str, Counter[str]]:
    """How many answers of each status the planner logged per path (warm-up included);
    requests whose client left before sending them (499) were never answered."""
    counts: dict[str, Counter[str]] = {path: Counter() for path in PATHS.values()}
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        path = entry.get("path")
        if entry.get("event") == "request" and path in counts and entry["status"] != CLIENT_LEFT:
            counts[path][str(entry["status"])] += 1
    return counts


def refusals(gating: dict[str, Any]) -> dict[str, int]:
    """The answers that were not 200, by status, over both routes."""
    total: Counter[str] = Counter()
    for name in PATHS:
        total.update({k: v for k, v in gating[name]["statuses"].items() if k != "200"})
    return dict(total)
