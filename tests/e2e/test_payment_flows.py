"""Every payment scenario across real processes: billing_api <-> sandbox over HTTP,
paying by posting the hosted page's own form, settled by signed webhooks."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from tests.e2e.shopper import Shopper, attempt_id_of, sandbox_call
from tests.e2e.stack import Stack

_accounts = itertools.count(1)


@pytest.fixture
def shopper(payment_stack: Stack) -> Shopper:
    return Shopper.for_stack(payment_stack.env, f"acc_e2e_{next(_accounts)}_{time.time_ns()}")


def advance(stack: Stack, days: float) -> None:
    sandbox_call(stack.env["PAYMENT_PROVIDER_ENDPOINT"], "POST", "/v1/test_clock/advance",
                 json={"days": days})  # fmt: skip


def test_4242_pays_and_the_subscription_becomes_active(shopper: Shopper) -> None:
    started = shopper.start()
    landed = shopper.pay(started["checkoutUrl"], "4242 4242 4242 4242")
    assert landed.startswith(f"{shopper.landing_url}/billing/success")
    assert attempt_id_of(landed) == started["paymentAttemptId"]
    status = shopper.status(started["paymentAttemptId"])
    assert status["status"] == "succeeded"
    assert status["error"] is None
    subscription = shopper.wait_for_subscription("active")
    assert subscription["planId"] == "pro_monthly"
    assert shopper.status(started["paymentAttemptId"])["subscriptionStatus"] == "active"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000 0000 0000 0002", "CARD_DECLINED"),
        ("4000 0000 0000 9995", "INSUFFICIENT_FUNDS"),
        ("4000 0000 0000 0069", "EXPIRED_CARD"),
        ("4000 0000 0000 0127", "INCORRECT_CVC"),
        ("4000 0000 0000 0119", "PROCESSING_ERROR"),
    ],
)
def test_failing_cards_end_the_session_with_their_code(
    shopper: Shopper, card: str, code: str
) -> None:
    started = shopper.start()
    landed = shopper.pay(started["checkoutUrl"], card)
    assert landed.startswith(f"{shopper.landing_url}/billing/cancel")
    status = shopper.status(started["paymentAttemptId"])
    assert status["status"] == "failed"
    assert status["error"]["code"] == code
    assert status["error"]["message"]
    assert shopper.subscription() is None


def test_cancel_link_cancels_the_attempt(shopper: Shopper) -> None:
    started = shopper.start()
    landed = shopper.cancel_on_page(started["checkoutUrl"])
    assert landed.startswith(f"{shopper.landing_url}/billing/cancel")
    status = shopper.status(started["paymentAttemptId"])
    assert status["status"] == "canceled"
    assert status["error"]["code"] == "CHECKOUT_CANCELED"
    assert shopper.subscription() is None


@pytest.mark.parametrize(
    ("decision", "outcome", "code"),
    [("approve", "succeeded", None), ("fail", "failed", "AUTHENTICATION_FAILED")],
)
def test_3d_secure(shopper: Shopper, decision: str, outcome: str, code: str | None) -> None:
    started = shopper.start()
    shopper.pay(started["checkoutUrl"], "4000 0027 6000 3184", three_ds=decision)
    status = shopper.status(started["paymentAttemptId"])
    assert status["status"] == outcome
    assert (status["error"] or {}).get("code") == code


def test_a_subscriber_cannot_check_out_again(shopper: Shopper) -> None:
    started = shopper.start()
    shopper.pay(started["checkoutUrl"], "4242424242424242")
    shopper.wait_for_subscription("active")
    second = httpx.post(
        f"{shopper.billing_url}/api/billing/checkout/start",
        json={
            "planId": "pro_monthly",
            "successUrl": f"{shopper.landing_url}/s",
            "cancelUrl": f"{shopper.landing_url}/c",
        },
        headers=shopper.headers,
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "ALREADY_SUBSCRIBED"


def test_trial_plan_trials_then_charges(payment_stack: Stack, shopper: Shopper) -> None:
    started = shopper.start("pro_yearly")
    shopper.pay(started["checkoutUrl"], "4242424242424242")
    trialing = shopper.wait_for_subscription("trialing")
    assert trialing["trialEnd"] is not None
    advance(payment_stack, 15)
    shopper.wait_for_subscription("active")


def test_renewal_failure_goes_past_due_then_canceled(
    payment_stack: Stack, shopper: Shopper
) -> None:
    started = shopper.start()
    shopper.pay(started["checkoutUrl"], "4000 0000 0000 0341")
    first = shopper.wait_for_subscription("active")
    advance(payment_stack, 31)
    past_due = shopper.wait_for_subscription("past_due")
    assert past_due["id"] == first["id"]
    advance(payment_stack, 9)
    shopper.wait_for_subscription("canceled")


def test_unpaid_session_expires(payment_stack: Stack, shopper: Shopper) -> None:
    started = shopper.start()
    advance(payment_stack, 1)
    deadline = time.monotonic() + 10
    while shopper.status(started["paymentAttemptId"])["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status = shopper.status(started["paymentAttemptId"])
    assert status["status"] == "expired"
    assert status["error"]["code"] == "CHECKOUT_EXPIRED"


def test_cancel_at_period_end_then_the_period_ends(payment_stack: Stack, shopper: Shopper) -> None:
    started = shopper.start()
    shopper.pay(started["checkoutUrl"], "4242424242424242")
    shopper.wait_for_subscription("active")
    canceled = httpx.post(
        f"{shopper.billing_url}/api/billing/subscription/cancel", headers=shopper.headers
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["subscription"]["cancelAtPeriodEnd"] is True
    advance(payment_stack, 32)
    shopper.wait_for_subscription("canceled")


def test_only_the_newest_checkout_can_be_paid(shopper: Shopper) -> None:
    older = shopper.start()
    newer = shopper.start()
    page = httpx.get(older["checkoutUrl"], timeout=20)
    assert 'data-outcome="expired"' in page.text
    assert 'data-testid="pay"' not in page.text
    assert shopper.status(older["paymentAttemptId"])["status"] == "expired"
    shopper.pay(newer["checkoutUrl"], "4242 4242 4242 4242")
    assert shopper.status(newer["paymentAttemptId"])["status"] == "succeeded"
