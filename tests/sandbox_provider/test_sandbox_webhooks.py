"""Webhooks: signed, in Stripe's envelope, from a durable outbox, retried, in order."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks import Webhook

from services.sandbox_provider.config import SandboxConfig
from services.sandbox_provider.delivery import backoff_seconds
from tests.sandbox_provider.support import (
    WEBHOOK_SECRET,
    AppFactory,
    Receiver,
    SandboxClient,
    running,
)


def verified(request: httpx.Request) -> dict[str, Any]:
    """The body, if the signature holds (raises otherwise)."""
    body: dict[str, Any] = Webhook(WEBHOOK_SECRET).verify(request.content, dict(request.headers))
    return body


class TestSignedDelivery:
    @pytest.mark.backend_independent
    async def test_events_are_signed_in_stripes_envelope(
        self, sandbox: SandboxClient, receiver: Receiver
    ) -> None:
        session = await sandbox.create_session()
        await sandbox.pay(session)
        paid = await sandbox.session(session["id"])

        result = await sandbox.flush()

        assert result == {"attempted": 3, "delivered": 3, "failed": 0, "pending": 0}
        assert [str(r.url) for r in receiver.requests] == [
            "http://billing.test/api/billing/webhooks/stub"
        ] * 3
        bodies = [verified(request) for request in receiver.requests]
        for request, body in zip(receiver.requests, bodies, strict=True):
            assert set(body) == {"id", "object", "type", "created", "data"}
            assert body["id"].startswith("evt_")
            assert body["object"] == "event"
            assert request.headers["webhook-id"] == body["id"]
            assert request.headers["content-type"] == "application/json"
            assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
            assert abs(body["created"] - time.time()) < 5
        completed = next(b for b in bodies if b["type"] == "checkout.session.completed")
        assert completed["data"]["object"] == paid
        subscription = await sandbox.subscription(paid["subscription"])
        created = next(b for b in bodies if b["type"] == "customer.subscription.created")
        assert created["data"]["object"] == subscription
        invoice = next(b for b in bodies if b["type"] == "invoice.paid")["data"]["object"]
        assert set(invoice) >= {
            "id",
            "object",
            "subscription",
            "status",
            "amount_due",
            "currency",
            "attempt_count",
            "created",
        }
        assert invoice["id"].startswith("in_")
        assert (invoice["object"], invoice["status"]) == ("invoice", "paid")

    @pytest.mark.backend_independent
    async def test_a_wrong_secret_does_not_verify(
        self, sandbox: SandboxClient, receiver: Receiver
    ) -> None:
        await sandbox.paid_subscription()
        await sandbox.flush()

        with pytest.raises(Exception, match="signature"):
            Webhook("whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==").verify(
                receiver.requests[0].content, dict(receiver.requests[0].headers)
            )

    async def test_goes_to_the_configured_url(
        self, make_app: AppFactory, receiver: Receiver
    ) -> None:
        async with running(make_app(webhook_url="http://hooks.test/in")) as sandbox:
            await sandbox.paid_subscription()
            await sandbox.flush()

        assert {str(r.url) for r in receiver.requests} == {"http://hooks.test/in"}

    async def test_delivered_events_are_not_sent_again(
        self, sandbox: SandboxClient, receiver: Receiver
    ) -> None:
        await sandbox.paid_subscription()
        await sandbox.flush()

        again = await sandbox.flush(include_scheduled=True)

        assert again == {"attempted": 0, "delivered": 0, "failed": 0, "pending": 0}
        assert len(receiver.requests) == 3

    async def test_the_event_list_shows_delivery_status(self, sandbox: SandboxClient) -> None:
        await sandbox.paid_subscription()
        before = await sandbox.events()
        await sandbox.flush()
        after = await sandbox.events()

        assert [e["delivery"]["status"] for e in before] == ["pending"] * 3
        assert [e["delivery"]["status"] for e in after] == ["delivered"] * 3
        assert after[0]["delivery"]["attempts"] == 1
        assert after[0]["delivery"]["last_status_code"] == 200
        assert after[0]["delivery"]["next_attempt_at"] is None
        only = await sandbox.events("invoice.paid")
        assert [e["type"] for e in only] == ["invoice.paid"]

    @pytest.mark.backend_independent
    async def test_the_event_list_needs_the_api_key(self, sandbox: SandboxClient) -> None:
        assert (await sandbox.http.get("/v1/events")).status_code == 401
        assert (await sandbox.http.post("/v1/webhooks/flush")).status_code == 401


class TestRetries:
    @pytest.mark.parametrize("failure", ["http_500", "connection_error"])
    async def test_a_failing_receiver_is_retried_after_a_backoff(
        self, sandbox: SandboxClient, receiver: Receiver, failure: str
    ) -> None:
        await sandbox.paid_subscription()
        receiver.status, receiver.down = (500, False) if failure == "http_500" else (200, True)

        first = await sandbox.flush()

        # One event per object is in flight; the invoice waits behind its subscription.
        assert first == {"attempted": 2, "delivered": 0, "failed": 2, "pending": 3}
        events = await sandbox.events()
        failed = [e for e in events if e["delivery"]["attempts"] == 1]
        assert {e["type"] for e in failed} == {
            "customer.subscription.created",
            "checkout.session.completed",
        }
        for event in failed:
            # Base 30 s, ±20% jitter.
            assert event["delivery"]["next_attempt_at"] >= time.time() + 20
            assert event["delivery"]["last_error"] == (
                "HTTP 500" if failure == "http_500" else "ConnectError"
            )
        assert (await sandbox.flush())["attempted"] == 0  # nothing is due yet

        receiver.status, receiver.down = 200, False
        receiver.requests.clear()
        second = await sandbox.flush(include_scheduled=True)

        assert second == {"attempted": 3, "delivered": 3, "failed": 0, "pending": 0}
        types = receiver.types()
        assert types.index("customer.subscription.created") < types.index("invoice.paid")
        assert {e["delivery"]["attempts"] for e in await sandbox.events()} == {1, 2}

    async def test_gives_up_after_the_last_attempt(
        self, make_app: AppFactory, receiver: Receiver
    ) -> None:
        receiver.status = 503
        async with running(make_app(webhook_max_attempts=2)) as sandbox:
            session = await sandbox.create_session()
            await sandbox.http.post(
                f"/v1/checkout/sessions/{session['id']}/expire", headers=sandbox.auth
            )

            await sandbox.flush()
            last = await sandbox.flush(include_scheduled=True)

            assert last == {"attempted": 1, "delivered": 0, "failed": 1, "pending": 0}
            [event] = await sandbox.events()
            assert event["delivery"]["status"] == "failed"
            assert event["delivery"]["attempts"] == 2

    async def test_pending_events_survive_a_restart(
        self, make_app: AppFactory, receiver: Receiver
    ) -> None:
        receiver.down = True
        async with running(make_app()) as sandbox:
            await sandbox.paid_subscription()
            assert (await sandbox.flush())["failed"] == 2

        receiver.down = False
        async with running(make_app()) as sandbox:
            result = await sandbox.flush(include_scheduled=True)

        assert result == {"attempted": 3, "delivered": 3, "failed": 0, "pending": 0}
        assert sorted(receiver.types()) == sorted(
            ["customer.subscription.created", "invoice.paid", "checkout.session.completed"]
        )

    async def test_the_worker_picks_up_due_events_after_a_restart(
        self, make_app: AppFactory, receiver: Receiver
    ) -> None:
        receiver.down = True
        async with running(make_app(webhook_backoff_base_seconds=0.05)) as sandbox:
            await sandbox.paid_subscription()
            await sandbox.flush()

        receiver.down = False
        worker = make_app(background_workers=True, delivery_poll_seconds=0.05)
        async with running(worker):
            await wait_for(lambda: len(receiver.requests) == 3)

    def test_backoff_doubles_up_to_the_cap_and_spans_about_three_days(self) -> None:
        config = SandboxConfig(_env_file=None)
        delays = [backoff_seconds(n, config) for n in range(1, config.webhook_max_attempts)]

        assert 4 <= delays[0] <= 6
        assert 8 <= delays[1] <= 12
        assert max(delays) <= 6 * 3600 * 1.2
        assert 2.3 * 86400 < sum(delays) < 3.6 * 86400


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        # Polling: the condition is met by a worker task or another thread.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


# -- a real HTTP receiver ----------------------------------------------------------


class HttpReceiver:
    """A tiny ASGI app on a real socket that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def http_receiver() -> Iterator[tuple[HttpReceiver, str]]:
    app = HttpReceiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.01)
    yield app, f"http://127.0.0.1:{port}/hooks"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


async def test_the_delivery_worker_posts_to_a_real_receiver(
    make_app: AppFactory, http_receiver: tuple[HttpReceiver, str]
) -> None:
    receiver, url = http_receiver
    app = make_app(
        transport=httpx.AsyncHTTPTransport(),
        webhook_url=url,
        background_workers=True,
        delivery_poll_seconds=0.05,
    )
    async with running(app) as sandbox:
        await sandbox.paid_subscription()
        await wait_for(lambda: len(receiver.received) == 3)
        # The sender records a delivery just after the receiver answers: wait for that too.
        async with asyncio.timeout(5):
            while {e["delivery"]["status"] for e in await sandbox.events()} != {"delivered"}:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    for headers, body in receiver.received:
        payload = Webhook(WEBHOOK_SECRET).verify(body, headers)
        assert payload == json.loads(body)


async def test_two_sandbox_processes_do_not_send_an_event_twice(
    make_app: AppFactory, receiver: Receiver
) -> None:
    async with running(make_app()) as first, running(make_app()) as second:
        for _ in range(5):
            await first.paid_subscription()

        results = await asyncio.gather(first.flush(), second.flush(), first.flush(), second.flush())

    assert sum(r["delivered"] for r in results) == 15
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 15
