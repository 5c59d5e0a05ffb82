"""What makes the read's p99 tail: ``python -m bench.billing.tail [--quick]``.

Starts billing_api several times on one seeded database (the billing bench's
data), each identical to ``gwstack serve billing-api`` but for one suspect of
the tail taken away, and reads a paid account's ``GET /api/billing/subscription``
under the billing bench's load (``wrk -t1 -c32``), the configurations
alternating round by round, the order rotating:

* ``served``       as served: the start-up heap frozen out of the garbage
                   collector's reach once start-up is done
                   (``services/common/gc_tuning.py``);
* ``unfrozen``     ``GC_FREEZE_AFTER_STARTUP=false``: every gen-2 collection
                   walks the ~140,000 start-up objects (as before);
* ``frozen-t``     served, and the gen-0 threshold raised from 700 to 10,000
                   allocations (fewer young collections, fewer promotions);
* ``read-pool-32`` a read pool of 32 (one connection per load connection):
                   no request waits for a pooled connection;
* ``no-worker``    the background worker (outbox, polls) off;
* ``no-log``       ``LOG_LEVEL=WARNING``: no access log line per request.

Each server also counts its own collections and their pauses (``gc.callbacks``)
and the bench reads them after every round from a route only these servers
have, so a p99 beside "gen-2: 3 collections, 40 ms longest" says what it is.
No target; writes ``bench/results/tail.json``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bench.billing import load
from bench.billing.__main__ import (
    READ_PATH,
    billing_variants,
    per_backend,
    per_backend_options,
    timed_reads,
    write_results,
)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "tail.json"
CONFIGS = ("served", "unfrozen", "frozen-t", "read-pool-32", "no-worker", "no-log")
GC_PATH = "/bench/gc"


class GcPauses:
    """Collections and their pauses per generation, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.started = 0.0
        self.reset()
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.counts = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        generation = info["generation"]
        pause = (time.perf_counter() - self.started) * 1000
        self.counts[generation] += 1
        self.total_ms[generation] += pause
        self.max_ms[generation] = max(self.max_ms[generation], pause)

    def snapshot(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "totalMs": [round(t, 2) for t in self.total_ms],
            "maxMs": [round(t, 2) for t in self.max_ms],
            "frozen": gc.get_freeze_count(),
            "tracked": len(gc.get_objects()),
        }


def app_for(config: str) -> Any:
    """billing_api as ``gwstack serve`` builds it, with ``config``'s one difference."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    import services.billing_api.app as billing_app
    from services.common import db

    if config == "read-pool-32":  # the read pool only (DATABASE_POOL_SIZE sets both)

        def read_engine_of_32(url: str, **kwargs: Any) -> Any:
            return db.create_read_engine(url, **{**kwargs, "pool_size": 32})

        billing_app.create_read_engine = read_engine_of_32  # type: ignore[attr-defined]
    app = billing_app.create_app(run_worker=config != "no-worker")
    pauses = GcPauses()
    served = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with served(app):
            if config == "frozen-t":
                gc.set_threshold(10_000, 10, 10)
            yield

    app.router.lifespan_context = lifespan

    async def gc_route(reset: bool = False) -> dict[str, Any]:
        snapshot = pauses.snapshot()
        if reset:
            pauses.reset()
        return snapshot

    app.add_api_route(GC_PATH, gc_route)
    return app


def serve(config: str, port: int) -> None:
    import uvicorn

    from services.common import server as bounded

    uvicorn.run(
        app_for(config),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        http=bounded.PROTOCOL,
    )


def measure(
    backend: str, configs: tuple[str, ...], rounds: int, seconds: float, logs: Path
) -> dict[str, Any]:
    extra_env = {
        "no-log": {"LOG_LEVEL": "WARNING"},
        "unfrozen": {"GC_FREEZE_AFTER_STARTUP": "false"},
    }
    with billing_variants(backend, "bench.billing.tail", configs, logs, extra_env) as started:
        urls, headers = started
        print(f"  {backend}: reads", file=sys.stderr)
        for u in urls.values():  # warm-up: imports, pools, caches
            load.reads(u + READ_PATH, headers, connections=32, seconds=1)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
        names = list(configs)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                httpx.get(urls[name] + GC_PATH, params={"reset": "true"}, timeout=10)
                result = timed_reads(urls[name], headers, seconds=seconds)
                pauses = httpx.get(urls[name] + GC_PATH, timeout=10).json()
                runs[name].append({**result.__dict__, "gc": pauses})
                print(
                    f"    round {r + 1} {name:<13} {result.rps:>6.0f} req/s"
                    f"  p50 {result.p50_ms:.1f}  p99 {result.p99_ms:.1f} ms"
                    f"  cpu {result.cpu_ms:.2f} ms  gc {pauses['counts']}"
                    f" max {pauses['maxMs']} ms",
                    file=sys.stderr,
                )
    return {
        name: {
            "rps": statistics.median(r["rps"] for r in rs),
            "p50Ms": statistics.median(r["p50_ms"] for r in rs),
            "p99Ms": statistics.median(r["p99_ms"] for r in rs),
            "cpuMs": statistics.median(r["cpu_ms"] for r in rs),
            "gen2PerRound": statistics.median(r["gc"]["counts"][2] for r in rs),
            "gen2MaxMs": max(r["gc"]["maxMs"][2] for r in rs),
            "gcTotalMsPerRound": statistics.median(sum(r["gc"]["totalMs"]) for r in rs),
            "bad": sum(r["bad"] for r in rs),
            "rounds": rs,
        }
        for name, rs in runs.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    per_backend_options(parser, rounds=3)
    parser.add_argument("--config", choices=CONFIGS, action="append", help="default: all")
    args = parser.parse_args()
    configs = tuple(args.config or CONFIGS)
    results = per_backend(args, "bench-tail-", lambda *run: measure(run[0], configs, *run[1:]))
    print(
        "| database | config | req/s | p50 ms | p99 ms | cpu ms | gen-2 per round"
        " | longest gen-2 ms | GC ms per round | non-2xx |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for backend, result in results["backends"].items():
        for name, r in result.items():
            print(
                f"| {backend} | {name} | {r['rps']:.0f} | {r['p50Ms']:.1f} | {r['p99Ms']:.1f}"
                f" | {r['cpuMs']:.2f} | {r['gen2PerRound']:g} | {r['gen2MaxMs']:.1f}"
                f" | {r['gcTotalMsPerRound']:.1f} | {r['bad']} |"
            )
    write_results(RESULTS, results)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
