"""``gwstack up``: start the services as child processes, wait until each one's /health
is ok, and keep them running until Ctrl-C.

Each service writes its log to ``var/log/<name>.log``, so the terminal shows what a
person needs: progress while the services start, the URL to open, and — when one
never becomes healthy — which one, why (its last log lines), and a non-zero exit
after the others are stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

LOG_DIR = Path("var/log")
LOG_TAIL_LINES = 15
_POLL_SECONDS = 0.25
_PROGRESS_SECONDS = 5.0
_STOP_SECONDS = 10.0

Echo = Callable[[str], None]


@dataclass
class Child:
    """One service process, where it answers and the name its /health reports."""

    name: str
    url: str
    log: Path
    service: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "gwstack", "serve", self.name],
                env=os.environ.copy(),
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def healthy(self, client: httpx.Client) -> bool:
        try:
            response = client.get(f"{self.url.rstrip('/')}/health")
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return False
        # Its own name too: another service answering on a clashing port is not it.
        return (
            response.status_code == 200
            and isinstance(body, dict)
            and body.get("status") == "ok"
            and body.get("service") == self.service
        )

    def last_log_lines(self, count: int = LOG_TAIL_LINES) -> list[str]:
        try:
            lines = self.log.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            return []
        return lines[-count:]


class StartFailed(Exception):
    """A service exited or never became healthy; ``child`` says which."""

    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(f"{child.name} {reason}")
        self.child = child
        self.reason = reason


def wait_until_healthy(
    children: list[Child],
    *,
    timeout: float,
    echo: Echo,
    client: httpx.Client | None = None,
) -> None:
    """Return once every child's /health is ok; ``StartFailed`` for the first that exits
    or is still not healthy after ``timeout`` seconds. Says each one that comes up, and
    every few seconds which are still awaited."""
    started = time.monotonic()
    waiting = list(children)
    next_progress = started + _PROGRESS_SECONDS
    with client or httpx.Client(timeout=1) as http:
        while waiting:
            for child in list(waiting):
                code = child.exit_code()
                if code is not None:
                    raise StartFailed(child, f"exited with code {code} before it was healthy")
                if child.healthy(http):
                    waiting.remove(child)
                    echo(f"  ok    {child.name:<12} {time.monotonic() - started:5.1f} s")
            now = time.monotonic()
            if waiting and now - started > timeout:
                raise StartFailed(waiting[0], f"was not healthy within {timeout:.0f} s")
            if waiting and now >= next_progress:
                names = ", ".join(child.name for child in waiting)
                echo(f"  ...   waiting for {names} ({now - started:.0f} s)")
                next_progress = now + _PROGRESS_SECONDS
            if waiting:
                time.sleep(_POLL_SECONDS)


def stop_all(children: list[Child]) -> None:
    """SIGTERM to every child that still runs, then SIGKILL to any that lingers."""
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + _STOP_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(children: list[Child]) -> Iterator[list[Child]]:
    """Start every child; whatever happens inside, none is left behind."""
    try:
        for child in children:
            child.start()
        yield children
    finally:
        stop_all(children)


def supervise(children: list[Child], echo: Echo) -> int:
    """Block until Ctrl-C or SIGTERM (exit 0), or until a service dies (exit 1)."""

    def terminate(*_args: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        while True:
            for child in children:
                code = child.exit_code()
                if code is not None:
                    echo(f"{child.name} exited with code {code}; stopping the others.")
                    for line in child.last_log_lines():
                        echo(f"  | {line}")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        echo("\nstopping...")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
