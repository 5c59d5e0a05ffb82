"""kill -9 billing_api while webhooks are in flight; after a restart the final state is
right, no event is lost and none is applied twice. And kill -9 it between a checkout's
provider call and its write: reconciliation then ends or records the session it left."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.billing_api.models import (
    InboxStatus,
    PaymentAttempt,
    SubscriptionChange,
    WebhookInboxEvent,
)
from services.common.db import create_engine, sessionmaker_for
from tests.databases import SqliteTemplates
from tests.e2e.shopper import Shopper, sandbox_call
from tests.e2e.stack import ROOT, Stack, running_stack, stack_databases

SHOPPERS = 8


@pytest.fixture
def crash_stack(backend: str, tmp_path: Path, sqlite_templates: SqliteTemplates) -> Iterator[Stack]:
    """A stack of its own: the test counts every inbox row and attempt in its databases."""
    with (
        stack_databases(backend, tmp_path, sqlite_templates, "crash") as (billing_db, sandbox_db),
        running_stack(
            tmp_path,
            billing_db=billing_db,
            sandbox_db=sandbox_db,
            names=("sandbox", "billing-api"),
            # Only `gwstack billing reconcile` reconciles here, when the test says so.
            RECONCILE_INTERVAL_SECONDS="0",
        ) as stack,
    ):
        yield stack


def billing_facts(url: str) -> dict[str, object]:
    async def read() -> dict[str, object]:
        engine = create_engine(url)
        try:
            async with sessionmaker_for(engine)() as session:
                inbox = (await session.execute(
                    select(WebhookInboxEvent.event_id, WebhookInboxEvent.status)
                )).all()  # fmt: skip
                changes = (await session.execute(
                    select(SubscriptionChange.subscription_id, func.count())
                    .where(SubscriptionChange.to_status == "active")
                    .group_by(SubscriptionChange.subscription_id)
                )).all()  # fmt: skip
                attempts = (await session.scalars(select(PaymentAttempt.status))).all()
            return {"inbox": inbox, "active_changes": changes, "attempts": attempts}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_kill_9_during_webhooks_loses_nothing_and_applies_once(crash_stack: Stack) -> None:
    shoppers = [
        Shopper.for_stack(crash_stack.env, f"acc_crash_{i}_{time.time_ns()}")
        for i in range(SHOPPERS)
    ]
    started = [shopper.start() for shopper in shoppers]
    billing = crash_stack["billing-api"]

    # Pay everything while billing_api is killed partway through the webhook stream.
    killer = threading.Timer(0.3, billing.kill_hard)
    killer.start()
    for shopper, attempt in zip(shoppers, started, strict=True):
        shopper.pay(attempt["checkoutUrl"], "4242 4242 4242 4242")
    killer.join()

    billing.start()
    sandbox = crash_stack.env["PAYMENT_PROVIDER_ENDPOINT"]
    deadline = time.monotonic() + 30
    while True:
        flushed = sandbox_call(sandbox, "POST", "/v1/webhooks/flush",
                               params={"include_scheduled": "true"})  # fmt: skip
        if flushed["pending"] == 0:
            break
        assert time.monotonic() < deadline, flushed
        time.sleep(0.2)

    for shopper in shoppers:
        shopper.wait_for_subscription("active")

    sent = sandbox_call(sandbox, "GET", "/v1/events", params={"limit": 500})["data"]
    facts = billing_facts(crash_stack.env["BILLING_DATABASE_URL"])
    inbox = dict(facts["inbox"])  # type: ignore[call-overload]
    # Every event the sandbox sent is in the inbox, once, and done with: applied, or
    # ignored when it is a type billing_api does not act on; none pending or failed.
    assert {event["id"] for event in sent} <= set(inbox)
    assert len(inbox) == len(facts["inbox"])  # type: ignore[arg-type]
    assert InboxStatus.APPLIED.value in set(inbox.values())
    assert set(inbox.values()) <= {InboxStatus.APPLIED.value, InboxStatus.IGNORED.value}
    # Each subscription became active exactly once: no event was applied twice.
    active_changes = dict(facts["active_changes"])  # type: ignore[call-overload]
    assert len(active_changes) >= SHOPPERS
    assert set(active_changes.values()) == {1}
    statuses = facts["attempts"]
    assert statuses.count("succeeded") >= SHOPPERS  # type: ignore[attr-defined]


@contextmanager
def crashing_proxy(
    sandbox_url: str, on_session_created: Callable[[dict[str, Any]], None]
) -> Iterator[str]:
    """The sandbox behind a forwarding proxy that, once the sandbox has opened a checkout
    session, calls ``on_session_created`` before billing_api reads the answer: there we
    kill billing_api, between its provider call and its write."""

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
            answer = httpx.request(
                self.command, f"{sandbox_url}{self.path}", content=body, headers=headers
            )
            if self.command == "POST" and self.path == "/v1/checkout/sessions":
                on_session_created(answer.json())
            try:
                self.send_response(answer.status_code)
                self.send_header("content-type", answer.headers.get("content-type", ""))
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
            except OSError:
                pass  # the caller is dead, as intended

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def crash_mid_checkout(stack: Stack, shopper: Shopper, proxy_url: str) -> None:
    """Start a checkout through the proxy; billing_api dies before recording it."""
    billing = stack["billing-api"]
    billing.stop()
    billing.env = {**stack.env, "PAYMENT_PROVIDER_ENDPOINT": proxy_url}
    billing.start()
    with pytest.raises(httpx.TransportError):
        httpx.post(
            f"{shopper.billing_url}/api/billing/checkout/start",
            json={
                "planId": "pro_monthly",
                "successUrl": f"{shopper.landing_url}/billing/success",
                "cancelUrl": f"{shopper.landing_url}/billing/cancel",
            },
            headers={**shopper.headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
    assert billing.process is not None
    # Killed (the proxy's thread may still be reaping it): SIGKILL, not an exit of its own.
    assert billing.process.wait(timeout=10) == -signal.SIGKILL


def recorded_attempts(url: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        engine = create_engine(url)
        try:
            async with sessionmaker_for(engine)() as session:
                rows = await session.execute(
                    select(PaymentAttempt.provider_session_id, PaymentAttempt.status)
                )
                return {session_id: status for session_id, status in rows.all()}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_kill_9_between_the_provider_call_and_our_write_leaves_nothing_payable(
    crash_stack: Stack,
) -> None:
    sandbox = crash_stack.env["PAYMENT_PROVIDER_ENDPOINT"]
    billing = crash_stack["billing-api"]
    opened: list[dict[str, Any]] = []

    def kill_billing(session: dict[str, Any]) -> None:
        opened.append(session)
        billing.kill_hard()

    abandoned = Shopper.for_stack(crash_stack.env, f"acc_lost_{time.time_ns()}")
    paying = Shopper.for_stack(crash_stack.env, f"acc_paid_{time.time_ns()}")
    with crashing_proxy(sandbox, kill_billing) as proxy:
        crash_mid_checkout(crash_stack, abandoned, proxy)
        crash_mid_checkout(crash_stack, paying, proxy)
    lost, paid = (session["id"] for session in opened)
    billing.env = crash_stack.env
    billing.start()

    # What the crash left: sessions the sandbox will take money for, and no attempt.
    database = crash_stack.env["BILLING_DATABASE_URL"]
    assert recorded_attempts(database) == {}
    assert sandbox_call(sandbox, "GET", f"/v1/checkout/sessions/{lost}")["outcome"] == "open"
    # One customer still had the page open and paid on it.
    paying.pay(opened[1]["url"], "4242 4242 4242 4242")
    sandbox_call(sandbox, "POST", "/v1/webhooks/flush", params={"include_scheduled": "true"})

    command = [sys.executable, "-m", "gwstack", "billing", "reconcile"]
    env = {**crash_stack.env, "RECONCILE_UNRECORDED_AFTER_SECONDS": "0"}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith(f"session {lost}: expired: payable but never recorded")
               for line in lines), done.stdout  # fmt: skip
    assert any(line.startswith(f"session {paid}: recorded: paid but never recorded")
               for line in lines), done.stdout  # fmt: skip
    assert sandbox_call(sandbox, "GET", f"/v1/checkout/sessions/{lost}")["outcome"] == "expired"
    assert recorded_attempts(database) == {paid: "succeeded"}
    assert paying.wait_for_subscription("active")["accountId"] == paying.account
    # Once is enough: a second run finds nothing to do.
    again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines() == [
        "0 pending attempts checked (0 settled); 0 unrecorded sessions found (0 expired, "
        "0 recorded, 0 too young to end); 1 subscription checked (0 updated)"
    ]
    assert recorded_attempts(database) == {paid: "succeeded"}
