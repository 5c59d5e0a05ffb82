"""Real service processes for end-to-end tests: `python -m gwstack serve …` on free ports."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gwstack.cli import MIGRATED
from services.common.migrate import SERVICES_DIR, upgrade
from tests.databases import SqliteTemplates, fresh_postgres_database, run_blocking

ROOT = Path(__file__).resolve().parents[2]
# Generous: a start normally takes a few seconds, but on a loaded machine importing a
# service can take tens of seconds, and waiting longer costs nothing when it is up.
START_TIMEOUT = 120.0


# Below Linux's ephemeral range (32768-60999), from which bind(0) and every outgoing
# connection take their ports: a port found free there could be handed to another
# process (another test worker's service, say) before ours binds it. Here each test
# worker has a block of its own and never hands a port out twice.
_PORTS_FROM = 20_000
_PORTS_PER_WORKER = 1_000
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, for a service this test process is about to start."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    block = _PORTS_FROM + _PORTS_PER_WORKER * (int(worker) % 12 if worker.isdigit() else 0)
    start = os.getpid() % _PORTS_PER_WORKER  # another test session's same worker: elsewhere
    for step in range(_PORTS_PER_WORKER):
        port = block + (start + step) % _PORTS_PER_WORKER
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use by something else on this machine
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port left in {block}-{block + _PORTS_PER_WORKER - 1}")


# What each service's /health says it is: an answer from another process on the port
# means ours could not bind it.
_HEALTH_NAMES = {
    "billing-api": "billing_api",
    "sandbox": "sandbox_provider",
    "planner": "planner",
    "landing": "landing",
}


@dataclass
class Service:
    name: str  # as `gwstack serve` knows it
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.launch()
        self.wait_healthy(timeout)

    def launch(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gwstack", "serve", self.name, "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                answer = httpx.get(f"{self.url}/health", timeout=1)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 200:
                service = answer.json().get("service")
                if service != _HEALTH_NAMES.get(self.name, service):
                    raise RuntimeError(f"{self.name}: port {self.port} answered by {service}")
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy in {timeout}s: {self.log.read_text()[-3000:]}")

    def kill_hard(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Stack:
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Service:
        return self.services[name]


@contextmanager
def running_stack(
    workdir: Path, *, billing_db: str, sandbox_db: str, names: tuple[str, ...], **extra_env: str
) -> Iterator[Stack]:
    workdir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("billing-api", "sandbox", "planner", "landing")}
    env = {
        **os.environ,
        "GW_ENV_FILE": os.devnull,
        "GW_ENV": "test",
        "BILLING_API_BASE_URL": f"http://127.0.0.1:{ports['billing-api']}",
        "PAYMENT_PROVIDER_ENDPOINT": f"http://127.0.0.1:{ports['sandbox']}",
        "PLANNER_BASE_URL": f"http://127.0.0.1:{ports['planner']}",
        "LANDING_BASE_URL": f"http://127.0.0.1:{ports['landing']}",
        "BILLING_DATABASE_URL": billing_db,
        "SANDBOX_DATABASE_URL": sandbox_db,
        "PLANNER_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/planner.db",
        # Two test workers each run stacks of several services beside other PostgreSQL
        # tests: small pools keep them all under the server's 100 connections.
        "DATABASE_POOL_SIZE": "4",
        **extra_env,
    }
    # What `gwstack db upgrade` does, in this process: one Python start-up less per stack.
    for migrated, url_key in MIGRATED.items():
        if (SERVICES_DIR / migrated / "migrations").is_dir():
            run_blocking(functools.partial(upgrade, migrated, env[url_key.upper()]))
    stack = Stack(env)
    try:
        for name in names:  # all at once: each start is mostly importing, on its own core
            service = Service(name, ports[name], env, workdir / f"{name}.log")
            stack.services[name] = service
            service.launch()
        for service in stack.services.values():
            service.wait_healthy()
        yield stack
    finally:
        for service in stack.services.values():
            service.stop()


@contextmanager
def stack_databases(
    backend: str, workdir: Path, templates: SqliteTemplates, label: str = "e2e"
) -> Iterator[tuple[str, str]]:
    """Empty, migrated billing and sandbox databases on ``backend``: (billing URL, sandbox URL)."""
    if backend == "sqlite":
        yield (
            templates.copy("billing_api", workdir / "billing.db"),
            templates.copy("sandbox_provider", workdir / "sandbox.db"),
        )
        return
    with (
        fresh_postgres_database(f"{label}_billing") as billing,
        fresh_postgres_database(f"{label}_sandbox") as sandbox,
    ):
        yield billing, sandbox
