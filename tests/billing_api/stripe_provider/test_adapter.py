"""The Stripe adapter's calls: every way Stripe can fail is a 503 with nothing
half-created, idempotency keys come from our attempt, and the SDK's retries reuse them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api.app import create_app
from services.billing_api.catalog import Catalog, Plan, load_catalog
from services.billing_api.customers import CustomerDirectory
from services.billing_api.models import PaymentAttempt
from services.billing_api.providers.stripe import StripeProvider
from services.billing_api.providers.stripe_objects import payment_error_code
from services.common.db import create_engine, sessionmaker_for
from services.common.settings import Settings
from tests.billing_api.stripe_provider.conftest import stripe_settings
from tests.billing_api.stripe_provider.standin import StripeStandin
from tests.billing_api.support import checkout_body

START = "/api/billing/checkout/start"


async def attempts(app: FastAPI) -> int:
    async with app.state.billing.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PaymentAttempt)) or 0)


@pytest.mark.parametrize(
    "status",
    [500, 503, 429, 401, 402, 400, None],
    ids=["5xx", "503", "rate-limited", "key-refused", "card-error", "refused", "dropped"],
)
async def test_a_failing_session_create_is_503_and_records_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    standin: StripeStandin,
    auth: Any,
    status: int | None,
) -> None:
    standin.fail_next(status, path="/v1/checkout/sessions")
    headers = auth(**{"Idempotency-Key": "k-1"})
    response = await client.post(START, json=checkout_body(), headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert response.headers["retry-after"] == "5"
    assert await attempts(app) == 0
    assert standin.sessions == {}
    # The customer made before the failure is kept and reused, not made twice.
    retry = await client.post(START, json=checkout_body(), headers=headers)
    assert retry.status_code == 201
    assert len(standin.customers) == 1
    assert await attempts(app) == 1


async def test_a_failing_customer_create_is_503(
    app: FastAPI, client: httpx.AsyncClient, standin: StripeStandin, auth: Any
) -> None:
    standin.fail_next(None, path="/v1/customers")
    response = await client.post(START, json=checkout_body(), headers=auth())
    assert response.status_code == 503
    assert standin.customers == {}
    assert await attempts(app) == 0


async def test_the_sdk_retries_with_the_same_idempotency_key(
    billing_db_url: str, standin: StripeStandin, auth: Any
) -> None:
    settings = stripe_settings(billing_db_url, payment_provider_max_network_retries=1)
    engine = create_engine(billing_db_url)
    provider = StripeProvider(
        settings,
        catalog=load_catalog(settings.plans_catalog_path),
        customers=CustomerDirectory("stripe", sessionmaker_for(engine)),
        http_client=standin.http_client(),
    )
    app = create_app(settings, provider=provider)
    standin.fail_next(500, path="/v1/checkout/sessions")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://billing.test"
    ) as client:
        response = await client.post(START, json=checkout_body(), headers=auth())
    assert response.status_code == 201
    tries = [r for r in standin.requests if r["path"] == "/v1/checkout/sessions"]
    assert len(tries) == 2
    assert tries[0]["idempotency_key"] == tries[1]["idempotency_key"]
    assert tries[0]["idempotency_key"] == f"gw-checkout-{response.json()['paymentAttemptId']}"
    assert len(standin.sessions) == 1
    await provider.aclose()
    await app.state.engine.dispose()
    await app.state.read_engine.dispose()
    await engine.dispose()


async def test_a_session_that_is_no_longer_open_is_not_an_error_to_expire(
    app: FastAPI, client: httpx.AsyncClient, standin: StripeStandin, auth: Any
) -> None:
    started = await client.post(START, json=checkout_body(), headers=auth())
    session_id = standin.session_of(started.json()["paymentAttemptId"])["id"]
    standin.pay(session_id)
    await app.state.billing.provider.expire_checkout(session_id)  # paid: nothing to end
    assert standin.sessions[session_id]["status"] == "complete"


async def test_cancel_is_503_when_stripe_is_down(
    app: FastAPI, client: httpx.AsyncClient, standin: StripeStandin, auth: Any
) -> None:
    started = await client.post(START, json=checkout_body(), headers=auth())
    standin.pay(standin.session_of(started.json()["paymentAttemptId"])["id"])
    await client.get(
        "/api/billing/checkout/status",
        params={"paymentAttemptId": started.json()["paymentAttemptId"]},
        headers=auth(),
    )
    standin.fail_next(503, path="/v1/subscriptions/")
    response = await client.post("/api/billing/subscription/cancel", headers=auth())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
    subscription = await client.get("/api/billing/subscription", headers=auth())
    assert subscription.json()["subscription"]["cancelAtPeriodEnd"] is False


@pytest.mark.parametrize(
    ("code", "decline", "ours"),
    [
        ("card_declined", "generic_decline", "CARD_DECLINED"),
        ("card_declined", "insufficient_funds", "INSUFFICIENT_FUNDS"),
        ("expired_card", None, "EXPIRED_CARD"),
        ("incorrect_cvc", None, "INCORRECT_CVC"),
        ("processing_error", None, "PROCESSING_ERROR"),
        ("card_declined", "authentication_required", "AUTHENTICATION_FAILED"),
        ("payment_intent_authentication_failure", None, "AUTHENTICATION_FAILED"),
        (None, None, "CARD_DECLINED"),
    ],
)
def test_card_errors_map_to_registered_codes(
    code: str | None, decline: str | None, ours: str
) -> None:
    assert payment_error_code(code, decline) == ours


class TestStartUp:
    async def test_stripe_with_test_keys_starts_and_is_healthy(self, settings: Settings) -> None:
        app = create_app(settings)  # the real provider_for path, no stand-in needed to boot
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://billing.test"
        ) as client:
            health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["provider"] == "stripe"
        await app.state.billing.provider.aclose()
        await app.state.engine.dispose()
        await app.state.read_engine.dispose()

    def test_a_paid_plan_without_a_stripe_price_is_refused_by_name(
        self, settings: Settings
    ) -> None:
        plan = Plan(id="gold", name="Gold", tier="paid", amount=100, currency="TRY",
                    interval="month")  # fmt: skip
        with pytest.raises(ValueError, match="gold"):
            StripeProvider(
                settings,
                catalog=Catalog((plan,)),
                customers=CustomerDirectory("stripe", None),  # type: ignore[arg-type]
            )
