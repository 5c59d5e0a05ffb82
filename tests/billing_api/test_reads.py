"""Plain reads: never behind SQLite's write lock, unable to write, not stopped by a
connection the server closed, and answered from an index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from services.billing_api.app import create_app
from services.billing_api.models import Subscription
from services.billing_api.subscriptions import CURRENT_SUBSCRIPTION, current_subscription
from tests.billing_api.conftest import _truncate_all
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import make_settings


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
