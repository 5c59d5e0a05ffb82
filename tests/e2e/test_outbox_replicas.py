"""Two billing_api processes on one PostgreSQL database deliver each billing event to a
subscriber exactly once: the outbox is claimed with a lease before anything is sent."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from services.billing_api.models import OutboxMessage
from services.common import signing
from services.common.db import create_engine, sessionmaker_for
from services.common.ids import new_id
from services.common.settings import DEV_EVENTS_SECRET
from services.common.types import utcnow
from tests.databases import fresh_postgres_database
from tests.e2e.stack import Service, free_port, running_stack

MESSAGES = 120


class Subscriber(ThreadingHTTPServer):
    """A planner stand-in that verifies each signature and counts each webhook-id."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/internal/billing/events"


class _Handler(BaseHTTPRequestHandler):
    server: Subscriber

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        signing.verify(DEV_EVENTS_SECRET, body, dict(self.headers.items()), tolerance_seconds=300)
        with self.server.lock:
            self.server.received[self.headers["webhook-id"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def _write_messages(url: str, subscriber_url: str) -> set[str]:
    engine = create_engine(url)
    ids = {new_id("msg") for _ in range(MESSAGES)}
    now = utcnow()
    async with sessionmaker_for(engine)() as session, session.begin():
        for message_id in ids:
            session.add(
                OutboxMessage(
                    message_id=message_id,
                    event_type="subscription.updated",
                    account_id="acc_replicas",
                    subscriber_url=subscriber_url,
                    payload=json.dumps({"type": "subscription.updated", "id": message_id}),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    await engine.dispose()
    return ids


async def _undelivered(url: str) -> int:
    engine = create_engine(url)
    async with sessionmaker_for(engine)() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None))
        )
    await engine.dispose()
    return int(count or 0)


async def test_two_replicas_deliver_each_event_exactly_once(
    tmp_path_factory: pytest.TempPathFactory, subscriber: Subscriber
) -> None:
    workdir = tmp_path_factory.mktemp("outbox")
    with (
        fresh_postgres_database("outbox_billing") as billing_db,
        running_stack(
            workdir,
            billing_db=billing_db,
            sandbox_db=f"sqlite+aiosqlite:///{workdir}/sandbox.db",
            names=("billing-api",),
            BILLING_EVENTS_SUBSCRIBERS=subscriber.url,
        ) as stack,
    ):
        second = Service("billing-api", free_port(), stack.env, workdir / "billing-2.log")
        second.start()
        try:
            sent = await _write_messages(billing_db, subscriber.url)
            deadline = time.monotonic() + 60
            # Polling: the work is done by two other processes.
            while await _undelivered(billing_db) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            assert await _undelivered(billing_db) == 0
        finally:
            second.stop()
    assert set(subscriber.received) == sent
    duplicates = {mid: n for mid, n in subscriber.received.items() if n > 1}
    assert duplicates == {}
