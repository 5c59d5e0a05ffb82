"""billing_api with PAYMENT_PROVIDER=stripe against localstripe, as real processes.

localstripe is a stateful fake of Stripe's API that signs its webhooks as Stripe
does. It has customers, cards, subscriptions, cancellation and webhooks, but no
Checkout Sessions and no billing portal; those are covered against Stripe's
recorded shapes in tests/billing_api/stripe_provider. Here the test plays the
part of Stripe Checkout where localstripe cannot: it creates the subscription a
paid session would create, with the metadata billing_api put on the session.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.shopper import Shopper
from tests.e2e.stack import ROOT, Stack, free_port, running_stack

API_KEY = "sk_test_localstripe_0123456789"
SECRET = "whsec_localstripe_endpoint_secret_0123"


class Localstripe:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.request(
            method, f"{self.url}{path}", data=params or None, auth=(API_KEY, ""), timeout=10
        )
        assert response.status_code < 400, response.text
        body: dict[str, Any] = response.json()
        return body

    def customers_of(self, account: str) -> list[dict[str, Any]]:
        listed = self.call("GET", "/v1/customers", limit="100")["data"]
        return [c for c in listed if (c.get("metadata") or {}).get("accountId") == account]

    def subscribe(self, customer: str, account: str, card: str) -> dict[str, Any]:
        """What Stripe Checkout does once the customer pays: card, then subscription."""
        method = self.call("POST", "/v1/payment_methods", type="card", **{
            "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2034",
            "card[cvc]": "123"})  # fmt: skip
        self.call("POST", f"/v1/payment_methods/{method['id']}/attach", customer=customer)
        self.call("POST", f"/v1/customers/{customer}",
                  **{"invoice_settings[default_payment_method]": method["id"]})  # fmt: skip
        return self.call("POST", "/v1/subscriptions", customer=customer, **{
            "items[0][plan]": "price_pro_monthly", "metadata[accountId]": account,
            "metadata[paymentAttemptId]": f"pa_{uuid.uuid4().hex[:12]}",
            "metadata[planId]": "pro_monthly"})  # fmt: skip


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Localstripe]:
    port = free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.localstripe_server", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Localstripe(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "localstripe exited"
            try:
                httpx.get(f"{server.url}/v1/customers", auth=(API_KEY, ""), timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "localstripe did not start"
                time.sleep(0.1)
        server.call("POST", "/v1/plans", id="price_pro_monthly", amount="29900",
                    currency="try", interval="month", **{"product[name]": "Pro"})  # fmt: skip
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def stripe_stack(localstripe: Localstripe, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Stack]:  # fmt: skip
    workdir = Path(tmp_path_factory.mktemp("stripe_stack"))
    with running_stack(
        workdir,
        billing_db=f"sqlite+aiosqlite:///{workdir}/billing.db",
        sandbox_db=f"sqlite+aiosqlite:///{workdir}/sandbox.db",
        names=("billing-api",),
        PAYMENT_PROVIDER="stripe",
        PAYMENT_PROVIDER_ENDPOINT=localstripe.url,
        PAYMENT_PROVIDER_API_KEY=API_KEY,
        WEBHOOK_SECRET=SECRET,
        PAYMENT_PROVIDER_MAX_NETWORK_RETRIES="0",
    ) as stack:
        hook = f"{stack.env['BILLING_API_BASE_URL']}/api/billing/webhooks/stripe"
        response = httpx.post(f"{localstripe.url}/_config/webhooks/gw_stack",
                              data={"url": hook, "secret": SECRET}, timeout=10)  # fmt: skip
        assert response.status_code == 200, response.text
        yield stack


@pytest.fixture
def shopper(stripe_stack: Stack) -> Shopper:
    return Shopper.for_stack(stripe_stack.env, f"acc_ls_{time.time_ns()}")


def test_billing_api_starts_with_stripe_test_keys(stripe_stack: Stack) -> None:
    health = httpx.get(f"{stripe_stack.env['BILLING_API_BASE_URL']}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["provider"] == "stripe"


def test_the_customer_is_made_once_and_a_failed_checkout_leaves_no_attempt(
    localstripe: Localstripe, shopper: Shopper
) -> None:
    # localstripe has no Checkout Sessions: the customer is made, then the session fails.
    for _ in range(2):
        response = httpx.post(
            f"{shopper.billing_url}/api/billing/checkout/start",
            json={"planId": "pro_monthly", "successUrl": f"{shopper.landing_url}/s",
                  "cancelUrl": f"{shopper.landing_url}/c"},
            headers=shopper.headers, timeout=20,
        )  # fmt: skip
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert len(localstripe.customers_of(shopper.account)) == 1
    assert shopper.subscription() is None


def test_signed_webhooks_carry_a_subscription_through_cancel_resume_and_its_end(
    localstripe: Localstripe, shopper: Shopper
) -> None:
    customer = localstripe.call("POST", "/v1/customers", **{"metadata[accountId]": shopper.account})
    subscription = localstripe.subscribe(customer["id"], shopper.account, "4242424242424242")
    active = shopper.wait_for_subscription("active")  # customer.subscription.created, signed
    assert active["planId"] == "pro_monthly"
    assert active["currentPeriodEnd"] is not None

    canceled = httpx.post(
        f"{shopper.billing_url}/api/billing/subscription/cancel", headers=shopper.headers,
        timeout=20,
    )  # fmt: skip
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["subscription"]["cancelAtPeriodEnd"] is True
    at_stripe = localstripe.call("GET", f"/v1/subscriptions/{subscription['id']}")
    assert at_stripe["cancel_at_period_end"] is True
    resumed = httpx.post(
        f"{shopper.billing_url}/api/billing/subscription/resume", headers=shopper.headers,
        timeout=20,
    )  # fmt: skip
    assert resumed.json()["subscription"]["cancelAtPeriodEnd"] is False

    localstripe.call("DELETE", f"/v1/subscriptions/{subscription['id']}")
    shopper.wait_for_subscription("canceled")  # customer.subscription.deleted, signed


def test_a_first_payment_that_fails_leaves_the_subscription_incomplete(
    localstripe: Localstripe, shopper: Shopper
) -> None:
    customer = localstripe.call("POST", "/v1/customers", **{"metadata[accountId]": shopper.account})
    localstripe.subscribe(customer["id"], shopper.account, "4000000000000341")
    incomplete = shopper.wait_for_subscription("incomplete")
    assert incomplete["planId"] == "pro_monthly"
