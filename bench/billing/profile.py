"""Where a loaded billing_api spends its time: ``python -m bench.billing.profile``.

Starts billing_api (``gwstack serve``, one worker) on a fresh seeded database,
reads the paid account's subscription under ``wrk -c32`` and meanwhile samples
the server from outside with py-spy (no profiler inside the process to slow it
down), then sorts every sample of the event loop's thread into one bucket by
the innermost frame that names one (a query run by the worker counts as the
worker's). Prints the breakdown per backend and writes the raw stacks to
``bench/results/profile-<backend>.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.billing import data, load
from bench.billing.__main__ import (
    HOOK_PATH,
    READ_PATH,
    ROOT,
    billing_command,
    free_port,
    server,
    uvicorn_command,
)
from services.common.auth import mint_token
from services.common.settings import Settings

WORKER = "background worker (inbox and outbox polling)"
IDLE = "idle (event loop waiting: DB thread, network)"
# (bucket, pattern on "function (file:line)"), in priority order: a sample goes to the first
# bucket any of its frames matches (a query run by the worker is the worker's).
BUCKETS: tuple[tuple[str, str], ...] = (
    (WORKER, r"services/billing_api/worker\.py"),
    ("logging", r"structlog/|services/common/logging\.py|/logging/__init__\.py"),
    ("auth (JWT, bearer)", r"/jwt/|services/common/auth\.py|fastapi/security/"),
    (
        "serialization (response model, JSON)",
        r"serialize_response|fastapi/encoders\.py|pydantic|services/billing_api/schemas\.py"
        r"|starlette/responses\.py|/json/",
    ),
    (
        "session and transaction (pool, BEGIN, ping, ROLLBACK, close)",
        r"sqlalchemy/pool/|services/common/db\.py|_connection_for_bind|_autobegin|do_ping"
        r"|^(Async)?Session\.(close|__init__|__aexit__|rollback|commit)|sessionmaker"
        r"|^Connection\.(rollback|commit|close) \((aiosqlite|sqlalchemy)",
    ),
    (
        "the query (compile, execute, fetch, ORM rows)",
        r"sqlalchemy/|/aiosqlite/|/asyncpg/|services/billing_api/subscriptions\.py",
    ),
)
# The layers every request passes through nest inside each other, so of these the
# innermost frame decides (the middleware gets its own code, not the app it wraps).
LAYERS: tuple[tuple[str, str], ...] = (
    ("middleware (request id, limits, headers)", r"services/common/http\.py"),
    ("FastAPI routing, dependencies, thread pool", r"fastapi/|starlette/|anyio/"),
    ("uvicorn (HTTP parsing, transport)", r"uvicorn/protocols|httptools|/h11/|common/server\.py"),
)


def bucket_of(frames: list[str]) -> str:
    # uvloop's loop is C: a sample whose innermost Python frame is the runner is waiting.
    if not frames or frames[-1].startswith("Runner.run ("):
        return IDLE
    # The server itself at the innermost frame: parsing, or writing the answer to the
    # socket (a send called from the response, which would otherwise count as serialization).
    name, pattern = LAYERS[-1]
    if re.search(pattern, frames[-1]):
        return name
    for name, pattern in BUCKETS:
        if any(re.search(pattern, frame) for frame in frames):
            return name
    for frame in reversed(frames):
        for name, pattern in LAYERS:
            if re.search(pattern, frame):
                return name
    return "other (event loop, asyncio)"


def other_thread(thread: str, frames: list[str]) -> str:
    leaf = frames[-1] if frames else ""
    if "_connection_worker_thread" in thread:
        # aiosqlite runs each connection's calls on its own thread; line 63 is the call.
        running = leaf.startswith("_connection_worker_thread") and ":63)" in leaf
        return (
            "aiosqlite thread: in SQLite (incl. waiting for the write lock)"
            if running
            else ("aiosqlite thread: idle")
        )
    if "AnyIO worker" in thread:
        waiting = leaf.startswith("Condition.wait")
        return "thread pool: idle" if waiting else "thread pool: running sync dependencies"
    return "other thread"


def breakdown(raw: str) -> tuple[Counter[str], Counter[str]]:
    """Samples of the main thread per bucket, and samples per other thread."""
    main: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        thread, *frames = stack.split(";")
        if "MainThread" in thread:
            main[bucket_of(frames)] += int(count)
        else:
            others[other_thread(thread, frames)] += int(count)
    return main, others


def profile(
    backend: str, seconds: float, logs: Path, *, ingest: bool = False
) -> tuple[Counter[str], Counter[str], float, str]:
    os.environ.update(GW_ENV_FILE=os.devnull, GW_ENV="development")
    settings = Settings()
    headers = {"Authorization": f"Bearer {mint_token(data.ACCOUNT, settings, ttl=86400)}"}
    out = logs / f"{backend}.txt"
    with data.fresh_database(backend) as url, contextlib.ExitStack() as stack:
        port, subscriber_port = free_port(), free_port()
        env = dict(
            os.environ,
            BILLING_DATABASE_URL=url,
            BILLING_EVENTS_SUBSCRIBERS=f"http://127.0.0.1:{subscriber_port}/events",
            PAYMENT_PROVIDER_ENDPOINT=f"http://127.0.0.1:{free_port()}",
            # The periodic reconciliation asks the provider (none runs here) about every
            # living subscription, 3,000 of the seed's; it would land in a random round.
            RECONCILE_INTERVAL_SECONDS="0",
        )
        if ingest:
            # As in the ingest bench: the outbox delivers each new subscription's
            # announcement to the bare app, so the worker's deliveries are sampled too.
            stack.enter_context(
                server(
                    f"bare-{backend}",
                    uvicorn_command("bench.billing.bare:app", subscriber_port),
                    env,
                    subscriber_port,
                    logs,
                )
            )
        with server(f"billing-{backend}", billing_command(port), env, port, logs) as base:
            url_ = base + READ_PATH
            load.reads(url_, headers, connections=32, seconds=1)  # warm-up
            pid = _server_pid(port)
            rates: list[float] = []
            if ingest:
                events = data.signed_events(settings.webhook_secret.get_secret_value(), 20_000)
                loader = threading.Thread(target=lambda: rates.append(_send(base, events, seconds)))
            else:
                loader = threading.Thread(
                    target=lambda: rates.append(
                        load.reads(url_, headers, connections=32, seconds=seconds + 1).rps
                    )
                )
            loader.start()
            subprocess.run(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                 "--duration", str(int(seconds)), "--rate", "200", "--format", "raw",
                 "--threads", "--idle", "--nonblocking", "--output", str(out)],
                check=True, capture_output=True, timeout=seconds + 60,
            )  # fmt: skip
            loader.join()
    raw = out.read_text()
    main, others = breakdown(raw)
    return main, others, rates[0], raw


def _send(base: str, events: list[tuple[bytes, dict[str, str]]], seconds: float) -> float:
    """Events per second answered 200 by 16 concurrent senders (as the ingest bench)."""
    sent = asyncio.run(load.send_all(base + HOOK_PATH, events, concurrency=16, seconds=seconds + 1))
    return sent.statuses.get(200, 0) / sent.seconds


def _server_pid(port: int) -> int:
    """The process listening on ``port`` (``gwstack serve`` runs uvicorn in-process)."""
    answer = subprocess.run(
        ["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"pid=(\d+)", answer)
    if match is None:
        raise RuntimeError(f"nobody listens on {port}: {answer!r}")
    return int(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument(
        "--ingest", action="store_true", help="sample webhook ingest (16 senders), not reads"
    )
    args = parser.parse_args()
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-billing-profile-") as folder:
        for backend in args.backend or ["sqlite", "postgresql"]:
            main_thread, others, rps, raw = profile(
                backend, args.seconds, Path(folder), ingest=args.ingest
            )
            total = sum(main_thread.values())
            busy = total - main_thread[IDLE]
            unit = "events/s" if args.ingest else "req/s"
            print(f"\n{backend}: {rps:.0f} {unit} while sampled; the event loop's thread:")
            for name, value in main_thread.most_common():
                share = "" if name == IDLE else f"{100 * value / busy:5.1f} % of busy"
                print(f"  {100 * value / total:5.1f} %  {share:>14}  {name}")
            threads = {name: f"{value / (total or 1):.1f} thread-seconds per second"
                       for name, value in sorted(others.items())}  # fmt: skip
            print(f"  other threads: {threads}")
            kind = "ingest-" if args.ingest else ""
            (results / f"profile-{kind}{backend}.txt").write_text(raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
