"""gwstack up's start-up watch: progress while waiting, and a service that never
becomes healthy named with its last log lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gwstack.up import Child, StartFailed, stop_all, wait_until_healthy


def child(tmp_path: Path, name: str, code: str) -> Child:
    started = Child(name, f"http://{name}.test", tmp_path / f"{name}.log", name)
    with started.log.open("wb") as log:
        started.process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT
        )
    return started


def health(ok: set[str]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.host.removesuffix(".test")
        if name in ok:
            return httpx.Response(200, json={"status": "ok", "service": name})
        return httpx.Response(503, json={"status": "degraded"})

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_every_service_healthy_is_said_once_each(tmp_path: Path) -> None:
    children = [child(tmp_path, n, "import time; time.sleep(30)") for n in ("a", "b")]
    said: list[str] = []
    try:
        wait_until_healthy(children, timeout=10, echo=said.append, client=health({"a", "b"}))
    finally:
        stop_all(children)
    assert [line.split()[:2] for line in said] == [["ok", "a"], ["ok", "b"]]
    assert all(c.exit_code() is not None for c in children)  # stopped


def test_a_service_that_exits_is_named_with_its_last_log_lines(tmp_path: Path) -> None:
    crashing = child(tmp_path, "planner", "print('no such table: plans'); raise SystemExit(3)")
    fine = child(tmp_path, "billing-api", "import time; time.sleep(30)")
    crashing.process.wait(timeout=30)  # type: ignore[union-attr]
    try:
        with pytest.raises(StartFailed) as failed:
            wait_until_healthy(
                [fine, crashing], timeout=10, echo=lambda _: None, client=health(set())
            )
    finally:
        stop_all([fine, crashing])
    assert failed.value.child is crashing
    assert "exited with code 3" in failed.value.reason
    assert "no such table: plans" in "\n".join(crashing.last_log_lines())


def test_a_service_that_never_answers_ok_times_out_by_name(tmp_path: Path) -> None:
    slow = child(tmp_path, "landing", "import time; time.sleep(30)")
    said: list[str] = []
    try:
        with pytest.raises(StartFailed) as failed:
            wait_until_healthy([slow], timeout=0.5, echo=said.append, client=health(set()))
    finally:
        stop_all([slow])
    assert failed.value.child is slow
    assert "not healthy within" in failed.value.reason


def test_another_service_answering_on_the_port_is_not_healthy(tmp_path: Path) -> None:
    planner = child(tmp_path, "planner", "import time; time.sleep(30)")
    billing_on_that_port = httpx.Client(
        transport=httpx.MockTransport(
            lambda _: httpx.Response(200, json={"status": "ok", "service": "billing_api"})
        )
    )
    try:
        with pytest.raises(StartFailed) as failed:
            wait_until_healthy(
                [planner], timeout=0.5, echo=lambda _: None, client=billing_on_that_port
            )
    finally:
        stop_all([planner])
    assert failed.value.child is planner
