"""billing_api with its Stripe adapter, talking to the Stripe stand-in (see standin.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.billing_api.app import create_app
from services.billing_api.catalog import load_catalog
from services.billing_api.customers import CustomerDirectory
from services.billing_api.providers.stripe import StripeProvider
from services.common.db import create_engine, sessionmaker_for
from services.common.settings import Settings
from tests.billing_api.stripe_provider.standin import API_KEY, SECRET, Event, StripeStandin, signed
from tests.billing_api.support import make_settings

HOOK = "/api/billing/webhooks/stripe"


def stripe_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "payment_provider": "stripe",
        "payment_provider_api_key": API_KEY,
        "webhook_secret": SECRET,
        "payment_provider_endpoint": "http://stripe.standin",
        "payment_provider_max_network_retries": 0,
    }
    values.update(overrides)
    return make_settings(db_url, **values)


@pytest.fixture
def standin() -> StripeStandin:
    return StripeStandin()


@pytest.fixture
def settings(billing_db_url: str) -> Settings:
    return stripe_settings(billing_db_url)


@pytest.fixture
async def app(settings: Settings, standin: StripeStandin) -> AsyncIterator[FastAPI]:
    engine = create_engine(settings.billing_database_url)
    provider = StripeProvider(
        settings,
        catalog=load_catalog(settings.plans_catalog_path),
        customers=CustomerDirectory("stripe", sessionmaker_for(engine)),
        http_client=standin.http_client(),
    )
    application = create_app(settings, provider=provider)
    yield application
    await provider.aclose()
    await application.state.engine.dispose()
    await application.state.read_engine.dispose()
    await engine.dispose()


async def deliver(
    client: httpx.AsyncClient, events: Sequence[Event], *, expect: int = 200
) -> list[httpx.Response]:
    """Post each event to billing_api as Stripe does: the raw body, signed."""
    answers = []
    for event in events:
        response = await client.post(HOOK, content=event.body, headers=signed(event.body))
        assert response.status_code == expect, response.text
        answers.append(response)
    return answers
