"""Two billing_api processes on one PostgreSQL database: one Idempotency-Key, one attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from services.billing_api.models import PaymentAttempt
from services.common.db import create_engine, sessionmaker_for
from tests.databases import fresh_postgres_database
from tests.e2e.shopper import Shopper
from tests.e2e.stack import Service, Stack, free_port, running_stack

BURST = 12


@pytest.fixture
def two_replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Service]]:
    workdir = tmp_path_factory.mktemp("replicas")
    with (
        fresh_postgres_database("replicas_billing") as billing_db,
        fresh_postgres_database("replicas_sandbox") as sandbox_db,
        running_stack(
            workdir, billing_db=billing_db, sandbox_db=sandbox_db, names=("sandbox", "billing-api")
        ) as stack,
    ):
        second = Service("billing-api", free_port(), stack.env, workdir / "billing-2.log")
        second.start()
        try:
            yield stack, second
        finally:
            second.stop()


async def count_attempts(url: str, account: str) -> int:
    engine = create_engine(url)
    try:
        async with sessionmaker_for(engine)() as session:
            query = select(func.count()).where(PaymentAttempt.account_id == account)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


async def test_one_key_across_replicas_creates_one_attempt(
    two_replicas: tuple[Stack, Service],
) -> None:
    stack, second = two_replicas
    shopper = Shopper.for_stack(stack.env, f"acc_replicas_{time.time_ns()}")
    body = {
        "planId": "pro_monthly",
        "successUrl": f"{shopper.landing_url}/billing/success",
        "cancelUrl": f"{shopper.landing_url}/billing/cancel",
    }
    headers = {**shopper.headers, "Idempotency-Key": "double-click"}
    replicas = [stack["billing-api"].url, second.url]
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{replicas[i % 2]}/api/billing/checkout/start", json=body, headers=headers
                )
                for i in range(BURST)
            )
        )
    created = [r for r in responses if r.status_code == 201]
    assert created, [r.text for r in responses]
    assert len({r.json()["paymentAttemptId"] for r in created}) == 1
    for refused in (r for r in responses if r.status_code != 201):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
    assert await count_attempts(stack.env["BILLING_DATABASE_URL"], shopper.account) == 1
