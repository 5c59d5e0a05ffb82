"""Plain reads: never behind SQLite's write lock, unable to write, not stopped by a
connection the server closed, and answered from an index."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from services.billing_api.app import create_app
from services.billing_api.models import Subscription
from services.billing_api.subscriptions import (
    CURRENT_SUBSCRIPTION,
    CURRENT_SUBSCRIPTION_SHOWN,
    current_subscription,
)
from services.common.db import create_read_engine
from services.common.plain_reads import PlainReads
from tests.billing_api.conftest import _truncate_all
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import make_settings
from tests.databases import run_blocking


def _row(account: str, sub_id: str, status: str = "active") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": sub_id,
        "account_id": account,
        "plan_id": "pro_monthly",
        "status": status,
        "provider": "stub",
        "provider_subscription_id": f"stub_{sub_id}",
        "cancel_at_period_end": False,
        "provider_state_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def test_a_read_is_answered_while_a_writer_holds_the_lock(
    app: FastAPI, client: httpx.AsyncClient, auth: Any
) -> None:
    billing = app.state.billing
    async with billing.sessions() as session, session.begin():
        await session.execute(insert(Subscription).values(_row("acc_alice", "sub_a")))
    async with billing.sessions() as writer, writer.begin():
        # An open write transaction (on SQLite it holds the write lock from BEGIN).
        await writer.execute(insert(Subscription).values(_row("acc_bob", "sub_b")))
        answer = await asyncio.wait_for(
            client.get("/api/billing/subscription", headers=auth("acc_alice")), timeout=10
        )
        assert answer.status_code == 200
        assert answer.json()["subscription"]["id"] == "sub_a"
        # Uncommitted work is not visible to the read.
        other = await client.get("/api/billing/subscription", headers=auth("acc_bob"))
        assert other.status_code == 404


async def test_a_read_session_cannot_write(app: FastAPI) -> None:
    async with app.state.billing.reads() as session:
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
            await session.execute(insert(Subscription).values(_row("acc_eve", "sub_e")))
    async with app.state.billing.reads() as session:
        assert await current_subscription(session, "acc_eve") is None


async def test_a_connection_the_server_closed_is_replaced(postgres_billing_url: str) -> None:
    # PostgreSQL only: SQLite has no server that could close a connection.
    await _truncate_all(postgres_billing_url)
    app = create_app(make_settings(postgres_billing_url), provider=FakeProvider(), run_worker=False)
    billing = app.state.billing
    try:
        async with billing.sessions() as session, session.begin():
            await session.execute(insert(Subscription).values(_row("acc_alice", "sub_a")))
        async with billing.reads() as session:
            assert await current_subscription(session, "acc_alice") is not None
        async with app.state.read_engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
        # The pooled connection is open and idle; the server ends it (a restart would too).
        async with billing.sessions() as session:
            await session.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": driver.get_server_pid()}
            )
        for _ in range(100):  # until the client has read the server's goodbye
            if driver.is_closed():
                break
            await asyncio.sleep(0.05)
        assert driver.is_closed()
        async with billing.reads() as session:
            found = await current_subscription(session, "acc_alice")
        assert found is not None
        assert found.id == "sub_a"
    finally:
        await app.state.engine.dispose()
        await app.state.read_engine.dispose()


async def test_the_current_subscription_comes_from_the_account_index(
    app: FastAPI, backend: str
) -> None:
    async with app.state.billing.reads() as session:
        statement = CURRENT_SUBSCRIPTION.params(account_id="acc_alice")
        compiled = statement.compile(
            dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}
        )
        explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
        # Small tables make PostgreSQL prefer a scan; the plan must be able to use the index.
        if backend == "postgresql":
            await session.execute(text("SET enable_seqscan = off"))
        plan = " ".join(str(row) for row in (await session.execute(text(explain + str(compiled)))))
    assert "ix_subscriptions_account_status" in plan


# The hottest read (GET /api/billing/subscription) is a plain read (services.common.plain_reads):
# on SQLite run on the event loop's thread while the file lets it, else through the read engine.


def _checkouts(engine: Any) -> list[object]:
    """Every connection the read engine's pool hands out from now on."""
    taken: list[object] = []
    event.listen(engine.sync_engine, "checkout", lambda *_args: taken.append(1))
    return taken


async def test_the_subscription_read_skips_the_read_pool_on_sqlite_only(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, backend: str
) -> None:
    billing = app.state.billing
    async with billing.sessions() as session, session.begin():
        await session.execute(insert(Subscription).values(_row("acc_alice", "sub_a")))
    taken = _checkouts(billing.read_engine)
    answer = await client.get("/api/billing/subscription", headers=auth("acc_alice"))
    assert answer.json()["subscription"]["id"] == "sub_a"
    if backend == "sqlite":
        assert billing.plain_reads.inline is not None
        assert taken == []  # no hop to an aiosqlite connection's thread
    else:
        assert billing.plain_reads.inline is None
        assert len(taken) == 1


async def _seed_three_accounts(app: FastAPI) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {**_row("acc_alice", "sub_a_old", "canceled"), "created_at": old},
        {**_row("acc_alice", "sub_a", "trialing"), "trial_end": old.replace(year=2027)},
        _row("acc_bob", "sub_b", "past_due"),
    ]
    async with app.state.billing.sessions() as session, session.begin():
        await session.execute(insert(Subscription), rows)


async def test_inline_and_through_the_read_engine_the_same_row(sqlite_app: FastAPI) -> None:
    await _seed_three_accounts(sqlite_app)
    reads = sqlite_app.state.billing.plain_reads
    for account in ("acc_alice", "acc_bob", "acc_mallory"):
        params = {"account_id": account}
        inline = await reads.first(CURRENT_SUBSCRIPTION_SHOWN, params)
        async with reads.engine.connect() as connection:
            pooled = (await connection.execute(CURRENT_SUBSCRIPTION_SHOWN, params)).first()
        assert inline == pooled
        if pooled is not None:
            assert inline is not None
            assert inline._mapping == pooled._mapping
            # The same type processing: aware UTC datetimes, booleans, NULLs.
            assert [type(value) for value in inline] == [type(value) for value in pooled]
            assert inline.account_id == account
    alice = await reads.first(CURRENT_SUBSCRIPTION_SHOWN, {"account_id": "acc_alice"})
    assert alice is not None
    assert (alice.id, alice.trial_end.tzinfo) == ("sub_a", UTC)


async def test_the_inline_connection_cannot_write(sqlite_app: FastAPI) -> None:
    inline = sqlite_app.state.billing.plain_reads.inline
    with inline.connect() as connection, pytest.raises(DBAPIError, match=r"(?i)readonly"):
        connection.execute(insert(Subscription).values(_row("acc_eve", "sub_e")))


async def test_a_locked_file_is_read_off_the_loop_once_free(sqlite_app: FastAPI, auth: Any) -> None:
    await _seed_three_accounts(sqlite_app)
    transport = httpx.ASGITransport(app=sqlite_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://billing.test") as client:
        unlocked = await client.get("/api/billing/subscription", headers=auth("acc_alice"))
        assert unlocked.json()["subscription"]["id"] == "sub_a"
        # Every connection of the app closed (the inline one with the read engine), so that
        # another one can take the file in exclusive locking mode, where no reader gets in.
        await sqlite_app.state.engine.dispose()
        await sqlite_app.state.read_engine.dispose()
        holder = sqlite3.connect(
            str(make_url(sqlite_app.state.settings.billing_database_url).database)
        )
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            reading = asyncio.ensure_future(
                client.get("/api/billing/subscription", headers=auth("acc_alice"))
            )
            other = asyncio.ensure_future(
                client.get("/api/billing/subscription", headers=auth("acc_mallory"))
            )
            started = time.monotonic()
            await asyncio.sleep(0.3)
            # The loop kept running (a read that slept on the lock inline would hold it) and
            # both reads wait for the file on the read engine's threads.
            assert time.monotonic() - started < 1.0
            assert not reading.done()
            assert not other.done()
        finally:
            holder.rollback()
            holder.close()
        locked = await asyncio.wait_for(reading, timeout=10)
        assert locked.status_code == 200
        assert locked.json() == unlocked.json()
        assert (await asyncio.wait_for(other, timeout=10)).status_code == 404
        # And inline again once the file is free.
        taken = _checkouts(sqlite_app.state.read_engine)
        again = await client.get("/api/billing/subscription", headers=auth("acc_alice"))
        assert again.json() == unlocked.json()
        assert taken == []


async def test_a_read_on_another_thread_goes_through_the_read_engine(sqlite_app: FastAPI) -> None:
    await _seed_three_accounts(sqlite_app)
    url = sqlite_app.state.settings.billing_database_url
    reads = PlainReads(create_read_engine(url))  # made on this thread: inline here only
    try:
        params = {"account_id": "acc_alice"}
        here = await reads.first(CURRENT_SUBSCRIPTION_SHOWN, params)
        taken = _checkouts(reads.engine)
        elsewhere = run_blocking(lambda: reads.first(CURRENT_SUBSCRIPTION_SHOWN, params))
        assert len(taken) == 1
        assert here is not None
        assert elsewhere == here
    finally:
        await reads.engine.dispose()


async def test_an_inline_read_leaves_no_snapshot_open(sqlite_app: FastAPI) -> None:
    # A read transaction left open would pin the WAL: no checkpoint could reset the log
    # past it, and the file would grow while the service runs.
    await _seed_three_accounts(sqlite_app)
    reads = sqlite_app.state.billing.plain_reads
    path = str(make_url(sqlite_app.state.settings.billing_database_url).database)
    for account in ("acc_alice", "acc_mallory"):  # a row, and none
        await reads.first(CURRENT_SUBSCRIPTION_SHOWN, {"account_id": account})
        async with sqlite_app.state.billing.sessions() as session, session.begin():
            await session.execute(text("UPDATE subscriptions SET plan_id = plan_id"))
        other = sqlite3.connect(path, isolation_level=None)
        try:
            busy, _log, _done = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            other.close()
        assert busy == 0
