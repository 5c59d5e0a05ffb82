"""Request headers are bounded on every service: a coded 431 long before memory grows."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from services.common import server
from services.common.http import install_common


def _app() -> FastAPI:
    app = FastAPI()
    install_common(app, service="test", max_body_bytes=1024)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    """The app under uvicorn configured as `gwstack serve` configures it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        _app(),
        lifespan="off",
        log_config=None,
        access_log=False,
        http=server.PROTOCOL,
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield port
    instance.should_exit = True
    thread.join(timeout=5)
    sock.close()


def _raw_request(port: int, head: bytes, *, chunk: int = 64 * 1024) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            for start in range(0, len(head), chunk):
                conn.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while we were still sending: the answer is already there
        answer = b""
        while data := conn.recv(65536):
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(body)


def test_a_huge_header_is_431_coded_before_it_is_buffered(served: int) -> None:
    head = b"GET /ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * (8 * 1024 * 1024)
    status, body = _raw_request(served, head)
    assert status == 431
    assert body["error"]["code"] == "REQUEST_HEADERS_TOO_LARGE"


def test_a_huge_header_sent_in_small_pieces_is_431_coded(served: int) -> None:
    head = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (server.MAX_HEADER_BYTES + 1024)
    status, body = _raw_request(served, head + b"\r\n\r\n", chunk=1000)
    assert status == 431
    assert body["error"]["code"] == "REQUEST_HEADERS_TOO_LARGE"


def test_pipelined_requests_are_each_answered(served: int) -> None:
    # Requests in one write, together past the head bound though each is under it, one
    # after a body: the bound restarts for each head.
    one = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 20_000 + b"\r\n\r\n"
    posted = b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    last = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served), timeout=10) as conn:
        conn.sendall(one + one + posted + last)
        answer = b""
        while data := conn.recv(65536):
            answer += data
    statuses = [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    assert statuses == [200, 200, 405, 200]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _send_a_50mb_authorization(port: int) -> tuple[int, dict[str, Any]]:
    """Streamed in 64 KiB pieces, so only the server could hold 50 MB of it."""
    piece = b"a" * (64 * 1024)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        try:
            conn.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
            for _ in range(50 * 16):
                conn.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while we were still sending: the answer is already there
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while data := conn.recv(65536):
                answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.split(b"\r\n\r\n", 1)[1])


def test_eight_parallel_50mb_headers_are_431_and_memory_stays_bounded(served: int) -> None:
    """Once, eight of these took a process past a gigabyte; now each costs 32 KiB."""
    baseline = _rss_bytes()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _send_a_50mb_authorization(served), range(8)))
    done.set()
    sampler.join()
    assert [status for status, _ in answers] == [431] * 8
    assert {body["error"]["code"] for _, body in answers} == {"REQUEST_HEADERS_TOO_LARGE"}
    assert peak - baseline < 32 * 1024 * 1024, f"grew by {(peak - baseline) >> 20} MiB"


def test_malformed_http_is_400_coded(served: int) -> None:
    status, body = _raw_request(served, b"GET /ping HTTP/1.1\r\nHost x\r\n\r\n")
    assert status == 400
    assert body["error"]["code"] == "MALFORMED_REQUEST"


def test_normal_requests_pass(served: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{served}/ping", headers={"X-Big": "a" * 8000})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {f"x-h{i}": "1" for i in range(server.MAX_HEADER_COUNT + 1)},
        {"x-a": "a" * (server.MAX_HEADER_BYTES // 2), "x-b": "b" * (server.MAX_HEADER_BYTES // 2)},
    ],
    ids=["too-many", "too-large-in-total"],
)
async def test_every_app_bounds_header_count_and_size(headers: dict[str, str]) -> None:
    """Whatever server runs the app (here none: ASGI in-process), the frame refuses."""
    from services.billing_api.app import create_app as billing
    from services.common.settings import Settings
    from services.landing.app import create_app as landing
    from services.planner.app import create_app as planner
    from services.sandbox_provider.app import create_app as sandbox

    settings = Settings(_env_file=None)
    for app in (billing(settings), planner(settings), sandbox(settings), landing(settings)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
            response = await client.get("/health", headers=headers)
        assert response.status_code == 431, app.title
        assert response.json()["error"]["code"] == "REQUEST_HEADERS_TOO_LARGE"


def test_gwstack_serve_runs_the_bounded_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from gwstack import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_, **kwargs: seen.update(kwargs))
    assert CliRunner().invoke(cli.app, ["serve", "planner", "--port", "23001"]).exit_code == 0
    assert seen["http"] == server.PROTOCOL
