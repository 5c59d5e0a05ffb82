"""The payment scenarios of tests/e2e/test_payment_flows.py, at the adapter boundary
against Stripe-shaped traffic: billing_api's Stripe adapter calls the stand-in
through the real SDK, and settles from Stripe-shaped events signed as Stripe signs.

Where Stripe behaves differently from the sandbox the test says so: a declined
card keeps Stripe's page open (the customer may try another card) instead of
ending the session, and the page's back link does not cancel the session.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.billing_api.models import PaymentAttempt
from services.billing_api.providers.stripe import STRIPE_API_VERSION
from tests.billing_api.stripe_provider.conftest import deliver
from tests.billing_api.stripe_provider.standin import StripeStandin
from tests.billing_api.support import LANDING, checkout_body

START = "/api/billing/checkout/start"
STATUS = "/api/billing/checkout/status"
SUBSCRIPTION = "/api/billing/subscription"


class Customer:
    """One account's browser and the Stripe page it pays on."""

    def __init__(self, client: httpx.AsyncClient, standin: StripeStandin, auth: Any, account: str):
        self.client, self.standin, self.headers = client, standin, auth(account)

    async def start(self, plan_id: str = "pro_monthly") -> dict[str, Any]:
        response = await self.client.post(
            START, json=checkout_body(planId=plan_id), headers=self.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def session(self, started: dict[str, Any]) -> str:
        return str(self.standin.session_of(started["paymentAttemptId"])["id"])

    async def pay(self, started: dict[str, Any], card: str = "4242424242424242", **kw: Any
                  ) -> str | None:  # fmt: skip
        declined = self.standin.pay(self.session(started), card, **kw)
        await self.webhooks()
        return declined

    async def webhooks(self) -> None:
        await deliver(self.client, self.standin.take_events())

    async def status(self, started: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.get(
            STATUS, params={"paymentAttemptId": started["paymentAttemptId"]}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def subscription(self) -> dict[str, Any] | None:
        response = await self.client.get(SUBSCRIPTION, headers=self.headers)
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()["subscription"]
        return body

    async def advance(self, days: float) -> None:
        self.standin.advance(days)
        await self.webhooks()


@pytest.fixture
def customer(client: httpx.AsyncClient, standin: StripeStandin, auth: Any) -> Customer:
    return Customer(client, standin, auth, "acc_alice")


async def test_4242_pays_and_the_subscription_becomes_active(
    customer: Customer, standin: StripeStandin
) -> None:
    started = await customer.start()
    assert started["checkoutUrl"].startswith("https://checkout.stripe.com/")
    assert await customer.pay(started) is None
    status = await customer.status(started)
    assert status["status"] == "succeeded"
    assert status["error"] is None
    assert status["subscriptionStatus"] == "active"
    subscription = await customer.subscription()
    assert subscription is not None
    assert subscription["status"] == "active"
    assert subscription["planId"] == "pro_monthly"
    assert subscription["provider"] == "stripe"
    assert subscription["currentPeriodEnd"] is not None


async def test_the_checkout_session_is_what_stripe_needs(
    customer: Customer, standin: StripeStandin
) -> None:
    started = await customer.start()
    attempt_id = started["paymentAttemptId"]
    create = next(r for r in standin.requests if r["path"] == "/v1/checkout/sessions")
    params = create["params"]
    metadata = {"accountId": "acc_alice", "paymentAttemptId": attempt_id, "planId": "pro_monthly"}
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_pro_monthly", "quantity": "1"}]
    assert params["client_reference_id"] == attempt_id
    assert params["metadata"] == metadata
    assert params["subscription_data"] == {"metadata": metadata}
    assert params["customer"] in standin.customers
    assert params["success_url"].startswith(f"{LANDING}/billing/success?paymentAttemptId=")
    assert create["idempotency_key"] == f"gw-checkout-{attempt_id}"
    assert {r["stripe_version"] for r in standin.requests} == {STRIPE_API_VERSION}


async def test_the_status_poll_sees_the_payment_before_any_webhook(
    customer: Customer, standin: StripeStandin
) -> None:
    started = await customer.start()
    standin.pay(customer.session(started))  # the webhooks are late
    status = await customer.status(started)
    assert status["status"] == "succeeded"
    assert status["subscriptionStatus"] == "active"
    await customer.webhooks()  # arriving afterwards changes nothing
    subscription = await customer.subscription()
    assert subscription is not None
    assert subscription["status"] == "active"


async def test_declined_cards_keep_the_stripe_page_open_for_another_card(
    customer: Customer,
) -> None:
    started = await customer.start()
    declines = ["4000000000000002", "4000000000009995", "4000000000000069",
                "4000000000000127", "4000000000000119"]  # fmt: skip
    for card in declines:
        assert await customer.pay(started, card) is not None  # Stripe shows the decline
        assert (await customer.status(started))["status"] == "pending"
    assert await customer.subscription() is None
    await customer.pay(started, "4242424242424242")
    assert (await customer.status(started))["status"] == "succeeded"


@pytest.mark.parametrize(("decision", "outcome"), [("approve", "succeeded"), ("fail", "pending")])
async def test_3d_secure(customer: Customer, decision: str, outcome: str) -> None:
    started = await customer.start()
    await customer.pay(started, "4000002760003184", three_ds=decision)
    assert (await customer.status(started))["status"] == outcome


async def test_a_failed_delayed_payment_fails_the_attempt(
    customer: Customer, standin: StripeStandin
) -> None:
    started = await customer.start()
    standin.async_payment_fails(customer.session(started))
    await customer.webhooks()
    status = await customer.status(started)
    assert status["status"] == "failed"
    assert status["error"]["code"] == "PROCESSING_ERROR"


async def test_a_subscriber_cannot_check_out_again(customer: Customer) -> None:
    await customer.pay(await customer.start())
    second = await customer.client.post(START, json=checkout_body(), headers=customer.headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_SUBSCRIBED"


async def test_trial_plan_trials_then_charges(customer: Customer, standin: StripeStandin) -> None:
    started = await customer.start("pro_yearly")
    create = next(r for r in standin.requests if r["path"] == "/v1/checkout/sessions")
    assert create["params"]["subscription_data"]["trial_period_days"] == "14"
    await customer.pay(started)
    assert (await customer.status(started))["status"] == "succeeded"
    trialing = await customer.subscription()
    assert trialing is not None
    assert trialing["status"] == "trialing"
    assert trialing["trialEnd"] is not None
    assert trialing["planId"] == "pro_yearly"
    await customer.advance(15)
    active = await customer.subscription()
    assert active is not None
    assert active["status"] == "active"


async def test_renewal_failure_goes_past_due_then_canceled(customer: Customer) -> None:
    await customer.pay(await customer.start(), "4000000000000341")
    first = await customer.subscription()
    assert first is not None
    assert first["status"] == "active"
    await customer.advance(31)
    past_due = await customer.subscription()
    assert past_due is not None
    assert (past_due["id"], past_due["status"]) == (first["id"], "past_due")
    await customer.advance(8)
    canceled = await customer.subscription()
    assert canceled is not None
    assert canceled["status"] == "canceled"


async def test_unpaid_session_expires(customer: Customer, standin: StripeStandin) -> None:
    started = await customer.start()
    standin.expire(customer.session(started))
    await customer.webhooks()
    status = await customer.status(started)
    assert status["status"] == "expired"
    assert status["error"]["code"] == "CHECKOUT_EXPIRED"


async def test_cancel_at_period_end_resume_then_the_period_ends(
    customer: Customer, standin: StripeStandin
) -> None:
    await customer.pay(await customer.start())
    canceled = await customer.client.post(
        "/api/billing/subscription/cancel", headers=customer.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["subscription"]["cancelAtPeriodEnd"] is True
    resumed = await customer.client.post(
        "/api/billing/subscription/resume", headers=customer.headers
    )
    assert resumed.json()["subscription"]["cancelAtPeriodEnd"] is False
    updates = [r for r in standin.requests if r["path"].startswith("/v1/subscriptions/")]
    assert [u["params"] for u in updates] == [
        {"cancel_at_period_end": "true"},
        {"cancel_at_period_end": "false"},
    ]
    assert len({u["idempotency_key"] for u in updates}) == 2
    await customer.webhooks()  # Stripe's own reports of the two changes, in order
    again = await customer.client.post("/api/billing/subscription/cancel", headers=customer.headers)
    assert again.json()["subscription"]["cancelAtPeriodEnd"] is True
    await customer.advance(32)
    ended = await customer.subscription()
    assert ended is not None
    assert ended["status"] == "canceled"


async def test_only_the_newest_checkout_can_be_paid(
    app: FastAPI, customer: Customer, standin: StripeStandin
) -> None:
    older = await customer.start()
    newer = await customer.start()
    assert standin.sessions[customer.session(older)]["status"] == "expired"
    assert (await customer.status(older))["status"] == "expired"
    await customer.pay(newer)
    assert (await customer.status(newer))["status"] == "succeeded"
    async with app.state.billing.sessions() as session:
        attempts = await session.scalar(select(func.count()).select_from(PaymentAttempt))
    assert attempts == 2


async def test_the_stripe_customer_is_created_once_per_account(
    client: httpx.AsyncClient, standin: StripeStandin, auth: Any
) -> None:
    alice = Customer(client, standin, auth, "acc_alice")
    bob = Customer(client, standin, auth, "acc_bob")
    for buyer in (alice, alice, bob):
        await buyer.start()
    creates = [r for r in standin.requests if r["path"] == "/v1/customers"]
    assert [r["params"]["metadata"]["accountId"] for r in creates] == ["acc_alice", "acc_bob"]
    keys = [r["idempotency_key"] for r in creates]
    assert keys == ["gw-customer-acc_alice", "gw-customer-acc_bob"]
    sessions = [s for s in standin.sessions.values() if s["metadata"]["accountId"] == "acc_alice"]
    assert len({s["customer"] for s in sessions}) == 1


async def test_the_portal_opens_the_card_update_for_the_accounts_customer(
    customer: Customer, standin: StripeStandin
) -> None:
    await customer.pay(await customer.start(), "4000000000000341")
    await customer.advance(31)  # the renewal failed: past_due, the card must change
    response = await customer.client.post(
        "/api/billing/portal", json={"locale": "tr"}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    portal = next(r for r in standin.requests if r["path"] == "/v1/billing_portal/sessions")
    session = next(iter(standin.sessions.values()))
    back = f"{LANDING}/account"
    assert portal["params"] == {
        "customer": session["customer"],
        "return_url": back,
        "locale": "tr",
        "flow_data": {
            "type": "payment_method_update",
            "after_completion": {"type": "redirect", "redirect": {"return_url": back}},
        },
    }


async def test_the_portal_is_503_when_stripe_is_down(
    customer: Customer, standin: StripeStandin
) -> None:
    await customer.pay(await customer.start())
    standin.fail_next(None, path="/v1/billing_portal/")
    response = await customer.client.post("/api/billing/portal", headers=customer.headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PROVIDER_UNAVAILABLE"
