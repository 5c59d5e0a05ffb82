"""Run the billing_api benchmark: ``python -m bench.billing [--quick]``.

On SQLite and on PostgreSQL (a fresh random-named database, dropped after), it
starts three apps, one uvicorn worker each, on free 127.0.0.1 ports:

* bare     FastAPI answering billing_api's JSON as a constant (``bare.py``);
* lean     the same read in ~40 lines: PyJWT + one SQLAlchemy Core select on a
           pooled connection (``lean.py``);
* billing  billing_api itself (``gwstack serve billing-api``), background worker on,

seeded with a paid account, and reads that account's ``GET /api/billing/subscription``
under ``wrk -t1 -c32 -d6s``, the apps alternating in rounds; the table shows the
median of the rounds. Then 16 concurrent senders post signed
``customer.subscription.created`` events (a tenth of them twice, as a provider's
retries) to billing_api for 6 s; afterwards the database must hold every event
once, applied once. On PostgreSQL it also draws the read curve of
``gwstack serve --workers 1`` against ``--workers 2``.

Prints the table and PASS/FAIL per target, writes ``bench/results/billing.json``
and exits 1 if a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from bench import postgres
from bench.billing import data, load
from bench.billing.gating import measure_gating, refusals
from services.common.auth import mint_token
from services.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "billing.json"
READ_PATH = "/api/billing/subscription"
HOOK_PATH = "/api/billing/webhooks/stub"
APPS = ("bare", "lean", "billing")
INGEST_TARGET = {"postgresql": 500.0, "sqlite": 300.0}
P99_TARGET_MS = 100.0


# The process behind each running server's base URL, for its CPU time.
SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants (uvicorn's workers) so far.

    Unlike req/s this barely moves with the machine's load: it is what a request costs,
    not how long it waited for a core.
    """
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # gone, or not Linux
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += [int(child) for child in children]
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    logs: Path,
    *,
    stop_timeout: float = 15,
) -> Iterator[str]:
    """A server process on ``port`` until the block ends; its output goes to a log file."""
    log = logs / f"{name}.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    probe = "/health" if name.startswith("billing") else "/openapi.json"
    try:
        # A loaded 2-core machine can take a minute just to import the app.
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + probe, timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        SERVER_PIDS[base] = process.pid
        yield base
    finally:
        SERVER_PIDS.pop(base, None)
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def uvicorn_command(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]  # fmt: skip


def billing_command(port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "gwstack", "serve", "billing-api", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers)]  # fmt: skip


def timed_reads(url: str, headers: dict[str, str], *, seconds: float) -> load.ReadResult:
    """One read run, with the server's CPU milliseconds per answered request."""
    pid = SERVER_PIDS.get(url)
    before = cpu_seconds(pid) if pid else 0.0
    result = load.reads(url + READ_PATH, headers, connections=32, seconds=seconds)
    used = cpu_seconds(pid) - before if pid else float("nan")
    return dataclasses.replace(result, cpu_ms=1000 * used / max(result.requests, 1))


def median_of(runs: list[load.ReadResult]) -> dict[str, Any]:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "cpuMs": statistics.median(r.cpu_ms for r in runs),
        "p50Ms": statistics.median(r.p50_ms for r in runs),
        "p99Ms": statistics.median(r.p99_ms for r in runs),
        "bad": sum(r.bad for r in runs),
        "rounds": [asdict(r) for r in runs],
    }


def alternate(
    urls: dict[str, str], headers: dict[str, str], *, rounds: int, seconds: float
) -> dict[str, dict[str, Any]]:
    """Each round reads every app once, the order rotating so no app always goes first."""
    names = list(urls)
    for name in names:  # warm-up: imports, pools, caches
        load.reads(urls[name] + READ_PATH, headers, connections=32, seconds=1)
    runs: dict[str, list[load.ReadResult]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            result = timed_reads(urls[name], headers, seconds=seconds)
            runs[name].append(result)
            line = (
                f"{result.rps:>8.0f} req/s  p99 {result.p99_ms:.1f} ms  cpu {result.cpu_ms:.2f} ms"
            )
            print(f"    round {r + 1} {name:<9} {line}", file=sys.stderr)
    return {name: median_of(results) for name, results in runs.items()}


def same_answer(urls: dict[str, str], headers: dict[str, str]) -> bool:
    answers = [
        httpx.get(url + READ_PATH, headers=headers, timeout=10).json() for url in urls.values()
    ]
    return all(answer == answers[0] for answer in answers)


def billing_env(url: str, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment every bench starts billing_api in, on the database at ``url``."""
    return dict(
        os.environ,
        GW_ENV_FILE=os.devnull,
        GW_ENV="development",
        BILLING_DATABASE_URL=url,
        AUTH_JWT_SECRET=settings.auth_jwt_secret.get_secret_value(),
        PAYMENT_PROVIDER_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        # The periodic reconciliation asks the provider (none runs here) about every
        # living subscription, 3,000 of the seed's; it would land in a random round.
        RECONCILE_INTERVAL_SECONDS="0",
        **extra,
    )


@contextlib.contextmanager
def billing_variants(
    backend: str,
    module: str,
    variants: tuple[str, ...],
    logs: Path,
    extra_env: dict[str, dict[str, str]] | None = None,
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """billing_api started once per variant (``python -m {module} serve {variant}
    {port}``, with ``extra_env[variant]`` set) on one freshly seeded database, until the
    block ends: each variant's URL, all answering a paid account's read alike, and that
    account's headers. For the benches that compare billing_api with itself."""
    settings = Settings(_env_file=None)
    headers = {"Authorization": f"Bearer {mint_token(data.ACCOUNT, settings, ttl=86400)}"}
    with data.fresh_database(backend) as url, contextlib.ExitStack() as stack:
        env = billing_env(url, settings)
        urls: dict[str, str] = {}
        for variant in variants:
            port = free_port()
            command = [sys.executable, "-m", module, "serve", variant, str(port)]
            variant_env = dict(env, **(extra_env or {}).get(variant, {}))
            urls[variant] = stack.enter_context(
                server(f"billing-{variant}-{backend}", command, variant_env, port, logs)
            )
        answers = {
            httpx.get(u + READ_PATH, headers=headers, timeout=10).text for u in urls.values()
        }
        assert len(answers) == 1, "the servers answered differently"
        yield urls, headers


def per_backend_options(parser: argparse.ArgumentParser, *, rounds: int) -> None:
    """The options of the benches that compare billing_api with itself."""
    parser.add_argument("--quick", action="store_true", help="one 3 s round")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")


def per_backend(
    args: argparse.Namespace,
    prefix: str,
    measure: Callable[[str, int, float, Path], dict[str, Any]],
) -> dict[str, Any]:
    """``measure(backend, rounds, seconds, logs)`` on each backend asked for, with a
    folder for the servers' logs: the results as those benches write them."""
    rounds, seconds = (1, 3.0) if args.quick else (args.rounds, args.seconds)
    results: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "backends": {}}
    with tempfile.TemporaryDirectory(prefix=prefix) as logs:
        for backend in args.backend or ["sqlite", "postgresql"]:
            results["backends"][backend] = measure(backend, rounds, seconds, Path(logs))
    return results


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))


def measure(
    backend: str, args: argparse.Namespace, settings: Settings, logs: Path
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {mint_token(data.ACCOUNT, settings, ttl=86400)}"}
    with data.fresh_database(backend) as url:
        ports = {name: free_port() for name in APPS}
        # The outbox delivers each new subscription's announcement to the bare app.
        env = billing_env(
            url, settings, BILLING_EVENTS_SUBSCRIBERS=f"http://127.0.0.1:{ports['bare']}/events"
        )
        with contextlib.ExitStack() as stack:
            billing = stack.enter_context(
                server(
                    f"billing-{backend}",
                    billing_command(ports["billing"]),
                    env,
                    ports["billing"],
                    logs,
                )
            )
            answer = httpx.get(billing + READ_PATH, headers=headers, timeout=10)
            answer.raise_for_status()
            env["BENCH_ANSWER"] = answer.text
            urls = {
                "bare": stack.enter_context(
                    server(
                        f"bare-{backend}",
                        uvicorn_command("bench.billing.bare:app", ports["bare"]),
                        env,
                        ports["bare"],
                        logs,
                    )
                ),
                "lean": stack.enter_context(
                    server(
                        f"lean-{backend}",
                        uvicorn_command("bench.billing.lean:app", ports["lean"]),
                        env,
                        ports["lean"],
                        logs,
                    )
                ),
                "billing": billing,
            }
            print(f"  {backend}: reads", file=sys.stderr)
            result: dict[str, Any] = {"sameAnswer": same_answer(urls, headers)}
            if not args.ingest_only:
                result["reads"] = alternate(urls, headers, rounds=args.rounds, seconds=args.seconds)
            print(f"  {backend}: ingest", file=sys.stderr)
            result["ingest"] = ingest(billing, url, settings, seconds=args.seconds)
            if backend == "sqlite" and not args.no_gating:
                print("  planner: compile against compile_with_access_preview", file=sys.stderr)
                result["gating"] = measure_gating(
                    env, billing, headers, rounds=args.rounds, seconds=args.seconds, logs=logs
                )
        if backend == "postgresql" and not args.no_workers:
            print(f"  {backend}: workers 1 and 2", file=sys.stderr)
            result["workers"] = workers_curve(env, headers, args, logs)
    return result


def ingest(base: str, url: str, settings: Settings, *, seconds: float) -> dict[str, Any]:
    # More events than the run can send: the senders stop at the deadline (see send_all).
    events = data.signed_events(settings.webhook_secret.get_secret_value(), 10_000)
    pid = SERVER_PIDS[base]
    before = cpu_seconds(pid)
    sent = asyncio.run(load.send_all(base + HOOK_PATH, events, concurrency=16, seconds=seconds))
    used = cpu_seconds(pid) - before
    # The worker may still be delivering the run's announcements: what they cost belongs
    # to the events too, however far behind it is.
    drain_started = time.monotonic()
    undelivered = asyncio.run(data.wait_for_deliveries(url))
    drain = time.monotonic() - drain_started
    used_with_deliveries = cpu_seconds(pid) - before
    answered = sum(sent.statuses.values())
    unique = answered - sent.duplicates
    counts = asyncio.run(data.ingest_counts(url))
    return {
        "seconds": sent.seconds,
        "answered": answered,
        "statuses": {str(k): v for k, v in sent.statuses.items()},
        "duplicatesAnswered": sent.duplicates,
        "eventsPerSecond": sent.statuses.get(200, 0) / sent.seconds,
        # billing_api's CPU per answered event while sending (its worker's deliveries too,
        # as far as it got), and until every announcement was delivered.
        "cpuMs": 1000 * used / max(answered, 1),
        "cpuMsWithDeliveries": 1000 * used_with_deliveries / max(answered, 1),
        "deliverySeconds": drain,
        "undelivered": undelivered,
        "uniqueSent": unique,
        **counts,
    }


def workers_curve(
    env: dict[str, str], headers: dict[str, str], args: argparse.Namespace, logs: Path
) -> dict[str, Any]:
    """billing_api under ``gwstack serve --workers 1`` and ``--workers 2``, alternating."""
    ports = {1: free_port(), 2: free_port()}
    with contextlib.ExitStack() as stack:
        urls = {
            f"workers{n}": stack.enter_context(
                server(f"billing-workers{n}", billing_command(port, n), env, port, logs)
            )
            for n, port in ports.items()
        }
        return alternate(urls, headers, rounds=args.rounds, seconds=args.seconds)


def targets_for(
    backend: str, result: dict[str, Any] | None, why_not: str | None
) -> list[tuple[str, bool, str]]:
    names = [
        f"{backend}: billing_api reads >= lean reference",
        f"{backend}: billing_api p99 < {P99_TARGET_MS:.0f} ms at 32 connections",
        f"{backend}: ingest >= {INGEST_TARGET[backend]:.0f} events/s with 16 senders",
        f"{backend}: every event stored once and applied once",
        f"{backend}: every answer 2xx and the same JSON from all three apps",
    ]
    if result is None:
        return [(name, False, f"not measured: {why_not}") for name in names]
    sent = result["ingest"]
    reads = result.get("reads") or {
        name: {"rps": float("nan"), "p99Ms": float("nan"), "bad": 0} for name in APPS
    }
    ratio = reads["billing"]["rps"] / reads["lean"]["rps"]
    p99 = reads["billing"]["p99Ms"]
    # Stored once, applied once: one inbox row, one audit row and one subscription per event.
    counted = ("storedDistinct", "stored", "applied", "auditRows", "subscriptions")
    exactly_once = sent["pending"] == 0 and all(sent[k] == sent["uniqueSent"] for k in counted)
    counts = (
        f"{sent['uniqueSent']} distinct sent, {sent['stored']} stored, {sent['applied']} applied,"
        f" {sent['auditRows']} audit rows, {sent['pending']} pending"
    )
    clean = (
        result["sameAnswer"]
        and all(app["bad"] == 0 for app in reads.values())
        and set(sent["statuses"]) == {"200"}
    )
    rate = sent["eventsPerSecond"]
    gating = result.get("gating")
    refused = refusals(gating) if gating is not None else {}
    gating_clean = (
        gating is not None
        and not refused
        and all(gating[k]["bad"] == 0 for k in ("compile", "compileWithAccessPreview"))
    )
    return [
        (names[0], ratio >= 1.0, f"{ratio:.2f}x lean"),
        (names[1], p99 < P99_TARGET_MS, f"{p99:.1f} ms"),
        (names[2], rate >= INGEST_TARGET[backend], f"{rate:.0f} events/s"),
        (names[3], exactly_once, counts),
        (names[4], clean, "ok" if clean else f"statuses {sent['statuses']}"),
        *(
            [
                (
                    "planner: every compile answer 200 (no 429, 503 or 5xx)",
                    gating_clean,
                    "ok" if gating_clean else f"answers {refused or 'non-2xx seen by wrk'}",
                )
            ]
            if gating is not None
            else []
        ),
    ]


def _row(*cells: object) -> str:
    widths = (11, 10, 9, 9, 9, 8, 8, 8)
    return " ".join(
        f"{cell:<{w}}" if i < 2 else f"{cell:>{w}}"
        for i, (cell, w) in enumerate(zip(cells, widths, strict=False))
    )


def print_table(results: dict[str, Any]) -> None:
    print()
    print(_row("database", "app", "req/s", "p50 ms", "p99 ms", "/bare", "/lean", "cpu ms"))
    for backend, result in results.items():
        if result is None:
            continue
        reads = result.get("reads")
        if reads is None:
            continue
        bare, lean = reads["bare"]["rps"], reads["lean"]["rps"]
        for name, r in [*reads.items(), *result.get("workers", {}).items()]:
            print(
                _row(
                    backend,
                    name,
                    f"{r['rps']:.0f}",
                    f"{r['p50Ms']:.1f}",
                    f"{r['p99Ms']:.1f}",
                    f"{r['rps'] / bare:.2f}x",
                    f"{r['rps'] / lean:.2f}x",
                    f"{r['cpuMs']:.2f}",
                )
            )
    for result in results.values():
        gating = (result or {}).get("gating")
        if gating:
            plain, gated = gating["compile"], gating["compileWithAccessPreview"]
            print(
                f"\nplanner, {gating['tasks']}-task plan: compile {plain['rps']:.0f} req/s"
                f" (p99 {plain['p99Ms']:.1f} ms), compile_with_access_preview"
                f" {gated['rps']:.0f} req/s (p99 {gated['p99Ms']:.1f} ms):"
                f" {gated['rps'] / plain['rps']:.2f}x; non-2xx {plain['bad']} and {gated['bad']}"
            )
    print()
    print(
        _row("database", "events/s", "answered", "dups", "stored", "applied", "audit", "cpu ms")
        + "  cpu ms incl. deliveries (drained in)"
    )
    for backend, result in results.items():
        if result is None:
            continue
        i = result["ingest"]
        print(
            _row(
                backend,
                f"{i['eventsPerSecond']:.0f}",
                i["answered"],
                i["duplicatesAnswered"],
                i["stored"],
                i["applied"],
                i["auditRows"],
                f"{i['cpuMs']:.2f}",
            )
            + f"  {i['cpuMsWithDeliveries']:.2f} ({i['deliverySeconds']:.1f} s,"
            f" {i['undelivered']} undelivered)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one 3 s round, for trying it out")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--no-workers", action="store_true", help="skip the --workers curve")
    parser.add_argument("--no-gating", action="store_true", help="skip the planner's gating")
    parser.add_argument("--ingest-only", action="store_true", help="only the webhook ingest")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
    backends = args.backend or ["sqlite", "postgresql"]

    os.environ.update(GW_ENV_FILE=os.devnull, GW_ENV="development")
    settings = Settings()
    if not load.wrk_available():
        print(
            "no wrk: reads use the Python load generator (`make bench` installs wrk)",
            file=sys.stderr,
        )
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    targets: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-billing-logs-") as folder:
        for backend in backends:
            why_not = postgres.unreachable() if backend == "postgresql" else None
            results[backend] = None
            if why_not is None:
                try:
                    results[backend] = measure(backend, args, settings, Path(folder))
                except RuntimeError as exc:  # a server that did not start: say so, go on
                    why_not = str(exc).splitlines()[0]
                    print(f"  {backend}: {exc}", file=sys.stderr)
            targets += targets_for(backend, results[backend], why_not)

    print_table(results)
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
                "loadAverageBefore": load_before,
                "loadGenerator": "wrk" if load.wrk_available() else "python",
                "rounds": args.rounds,
                "seconds": args.seconds,
                "results": results,
                "targets": [{"name": n, "pass": ok, "value": v} for n, ok, v in targets],
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(ok for _, ok, _ in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
