"""Helpers for billing_api's tests (and the suites that reuse its fixtures): settings,
request bodies, and records made the way the service makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api.lifecycle import apply_subscription_state
from services.billing_api.models import PaymentAttempt, SubscriptionStatus
from services.billing_api.provider_adapter import SubscriptionState
from services.common.settings import Settings

LANDING = "http://127.0.0.1:19000"
START = "/api/billing/checkout/start"
STATUS = "/api/billing/checkout/status"


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gw_env": "test",
        "billing_database_url": db_url,
        "landing_base_url": LANDING,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def checkout_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "planId": "pro_monthly",
        "successUrl": f"{LANDING}/billing/success",
        "cancelUrl": f"{LANDING}/billing/cancel",
        "locale": "tr",
    }
    body.update(overrides)
    return body


async def attempt_count(app: FastAPI) -> int:
    async with app.state.billing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PaymentAttempt)) or 0)


async def record_subscription(
    app: FastAPI, account: str, status: SubscriptionStatus, *, provider_id: str, age_days: int = 0
) -> None:
    now = datetime.now(UTC) - timedelta(days=age_days)
    state = SubscriptionState(
        subscription_id=provider_id,
        account_id=account,
        plan_id="pro_monthly",
        status=status,
        current_period_start=now,
        current_period_end=now + timedelta(days=30),
        cancel_at_period_end=False,
        trial_end=None,
        canceled_at=None,
        as_of=now,
    )
    async with app.state.billing.sessions() as session, session.begin():
        await apply_subscription_state(session, state, provider="stub", source="test")
