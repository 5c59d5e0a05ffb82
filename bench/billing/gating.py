"""What the planner's gating adds to a compile: ``compile_with_access_preview`` against
``compile`` for a 50-task plan, the planner reading the paid account's access from the
billing_api under test (cached between reads, as it runs)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
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
    return {
        "tasks": TASKS,
        "connections": CONNECTIONS,
        **{name: median_of(results) for name, results in runs.items()},
    }
