"""The request frame when a client leaves in the middle of its request."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from starlette.types import Message

from services.common.http import install_common


def _app() -> FastAPI:
    app = FastAPI()
    install_common(app, service="test", max_body_bytes=1000)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def _call(app: FastAPI, messages: list[Message]) -> tuple[list[Message], list[Any]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    incoming = iter(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    with structlog.testing.capture_logs() as logs:
        await app(scope, receive, send)
    return sent, logs


async def test_a_client_that_leaves_mid_body_is_not_a_server_error() -> None:
    sent, logs = await _call(
        _app(),
        [
            {"type": "http.request", "body": b'{"a":', "more_body": True},
            {"type": "http.disconnect"},
        ],
    )
    assert sent == []  # nobody to answer
    assert not [line for line in logs if line["log_level"] == "error"]
    [request] = [line for line in logs if line["event"] == "request"]
    assert request["status"] == 499


async def test_a_whole_request_is_answered() -> None:
    sent, logs = await _call(_app(), [{"type": "http.request", "body": b"{}"}])
    assert sent[0]["status"] == 200
    [request] = [line for line in logs if line["event"] == "request"]
    assert request["status"] == 200


async def test_a_body_over_the_limit_is_still_413() -> None:
    chunk = {"type": "http.request", "body": b"x" * 600, "more_body": True}
    sent, _ = await _call(_app(), [chunk, chunk, {"type": "http.request", "body": b""}])
    assert sent[0]["status"] == 413
