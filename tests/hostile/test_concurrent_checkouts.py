"""Checkout starts racing for one account (two tabs, a double click with new keys):
every start answers, exactly the newest stays payable, and never all are ended."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.billing_api.models import AttemptStatus, PaymentAttempt
from services.billing_api.provider_adapter import CheckoutOutcome, CheckoutRequest, CreatedCheckout
from tests.billing_api.fakes import FakeProvider
from tests.billing_api.support import checkout_body

START = "/api/billing/checkout/start"


class RacingProvider(FakeProvider):
    """Holds every create until all the racing starts have called it, so their
    records and their clean-up passes interleave as they do across replicas."""

    racers: int = 1
    _arrived: int = 0
    _all_in: asyncio.Event | None = None

    async def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        if self._all_in is None:
            self._all_in = asyncio.Event()
        self._arrived += 1
        if self._arrived >= self.racers:
            self._all_in.set()
        await asyncio.wait_for(self._all_in.wait(), timeout=10)
        return await super().create_checkout(request)

    async def expire_checkout(self, session_id: str) -> None:
        await asyncio.sleep(0)  # let the other passes run in between, like a network call
        await super().expire_checkout(session_id)


@pytest.fixture
def provider() -> FakeProvider:
    return RacingProvider()


@pytest.mark.parametrize("racers", [2, 5])
async def test_racing_starts_leave_exactly_the_newest_payable(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, provider: RacingProvider, racers: int
) -> None:
    provider.racers = racers
    answers = await asyncio.gather(
        *(
            client.post(START, json=checkout_body(), headers=auth(**{"Idempotency-Key": f"k{i}"}))
            for i in range(racers)
        )
    )
    assert [answer.status_code for answer in answers] == [201] * racers

    async with app.state.billing.sessions() as session:
        attempts = (
            await session.scalars(
                select(PaymentAttempt).order_by(PaymentAttempt.created_at, PaymentAttempt.id)
            )
        ).all()
    open_sessions = [
        sid for sid, s in provider.sessions.items() if s.state.outcome == CheckoutOutcome.OPEN
    ]
    assert open_sessions == [attempts[-1].provider_session_id]
    assert [a.status for a in attempts] == [AttemptStatus.EXPIRED] * (racers - 1) + [
        AttemptStatus.PENDING
    ]
