"""Reconciliation with the Stripe adapter: Checkout Sessions listed, retrieved and
expired, subscriptions retrieved, through the real SDK against the stand-in."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.billing_api.context import BillingContext
from services.billing_api.models import AttemptStatus, PaymentAttempt, Subscription
from services.billing_api.provider_adapter import CheckoutOutcome, CheckoutRequest
from services.billing_api.reconcile import Action, reconcile
from services.common.ids import new_id
from tests.billing_api.stripe_provider.standin import StripeStandin
from tests.billing_api.support import checkout_body

START = "/api/billing/checkout/start"


def context_of(app: FastAPI) -> BillingContext:
    billing: BillingContext = app.state.billing
    return billing


async def started(client: httpx.AsyncClient, auth: Any, account: str) -> str:
    response = await client.post(START, json=checkout_body(), headers=auth(account))
    assert response.status_code == 201, response.text
    attempt_id: str = response.json()["paymentAttemptId"]
    return attempt_id


async def lost_session(app: FastAPI, standin: StripeStandin, *, minutes_ago: int) -> str:
    """A session Stripe opened for a checkout start that died before recording it."""
    context = context_of(app)
    plan = context.catalog.get("pro_monthly")
    assert plan is not None
    created = await context.provider.create_checkout(
        CheckoutRequest(
            payment_attempt_id=new_id("pa"),
            account_id="acc_crashed",
            plan=plan,
            success_url="http://127.0.0.1:19000/billing/success",
            cancel_url="http://127.0.0.1:19000/billing/cancel",
            locale=None,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    )
    standin.sessions[created.session_id]["created"] -= minutes_ago * 60
    return created.session_id


async def status_of(app: FastAPI, attempt_id: str) -> str:
    async with context_of(app).reads() as session:
        status = await session.scalar(
            select(PaymentAttempt.status).where(PaymentAttempt.id == attempt_id)
        )
    assert status is not None
    return status


async def test_a_payment_whose_webhooks_were_lost_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, standin: StripeStandin
) -> None:
    attempt_id = await started(client, auth, "acc_stripe_paid")
    standin.pay(standin.session_of(attempt_id)["id"])
    standin.take_events()  # never delivered

    report = await reconcile(context_of(app))

    assert report.ok, report.items
    assert await status_of(app, attempt_id) == AttemptStatus.SUCCEEDED
    async with context_of(app).reads() as session:
        subscription = await session.scalar(
            select(Subscription).where(Subscription.account_id == "acc_stripe_paid")
        )
    assert subscription is not None
    assert subscription.status == "active"
    assert report.count(Action.SETTLED) == 1
    retrieved = {(r["method"], r["path"].rsplit("/", 1)[0]) for r in standin.requests}
    assert ("GET", "/v1/checkout/sessions") in retrieved  # retrieve by id
    assert ("GET", "/v1/subscriptions") in retrieved


async def test_a_renewal_failure_whose_webhook_was_lost_is_applied(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, standin: StripeStandin
) -> None:
    attempt_id = await started(client, auth, "acc_stripe_renews")
    standin.pay(standin.session_of(attempt_id)["id"], "4000000000000341")
    await reconcile(context_of(app))
    standin.advance(days=31)  # the renewal fails; the webhook is lost
    standin.take_events()

    report = await reconcile(context_of(app))

    assert [item.detail for item in report.changes] == ["active -> past_due"]


async def test_an_open_session_we_never_recorded_is_expired_at_stripe(
    app: FastAPI, standin: StripeStandin
) -> None:
    lost = await lost_session(app, standin, minutes_ago=10)
    young = await lost_session(app, standin, minutes_ago=0)

    report = await reconcile(context_of(app))

    assert standin.sessions[lost]["status"] == "expired"
    assert standin.sessions[young]["status"] == "open"  # its start may still record it
    assert report.count(Action.EXPIRED) == 1
    assert report.count(Action.WAITING) == 1
    expire = [r for r in standin.requests if r["path"].endswith("/expire")]
    assert [r["path"] for r in expire] == [f"/v1/checkout/sessions/{lost}/expire"]
    assert expire[0]["idempotency_key"] == f"gw-expire-{lost}"


async def test_a_paid_session_we_never_recorded_becomes_an_attempt(
    app: FastAPI, standin: StripeStandin
) -> None:
    lost = await lost_session(app, standin, minutes_ago=10)
    standin.pay(lost)
    attempt_id = standin.sessions[lost]["client_reference_id"]

    report = await reconcile(context_of(app))

    assert report.count(Action.RECORDED) == 1
    assert await status_of(app, attempt_id) == AttemptStatus.SUCCEEDED
    async with context_of(app).reads() as session:
        recorded = await session.get(PaymentAttempt, attempt_id)
    assert recorded is not None
    assert recorded.account_id == "acc_crashed"
    assert recorded.locale is None  # we sent "auto"


async def test_the_listing_pages_through_every_session_of_the_day(
    app: FastAPI, standin: StripeStandin
) -> None:
    template = standin.sessions[await lost_session(app, standin, minutes_ago=0)]
    for n in range(120):  # more than one page of 100
        extra = copy.deepcopy(template)
        extra.update(id=f"cs_test_page{n:03d}", _seq=1000 + n)
        standin.sessions[extra["id"]] = extra
    foreign = copy.deepcopy(template)
    foreign.update(id="cs_test_foreign", client_reference_id=None, metadata={}, _seq=5000)
    standin.sessions[foreign["id"]] = foreign

    found = await context_of(app).provider.list_checkouts(
        created_since=datetime.now(UTC) - timedelta(days=1)
    )

    assert len(found) == 121
    assert len({f.state.session_id for f in found}) == 121
    assert all(f.state.outcome == CheckoutOutcome.OPEN for f in found)
    pages = [r for r in standin.requests if r["path"] == "/v1/checkout/sessions"]
    assert len([r for r in pages if r["method"] == "GET"]) == 2


async def test_stripe_down_changes_nothing_and_says_so(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, standin: StripeStandin
) -> None:
    attempt_id = await started(client, auth, "acc_stripe_down")
    standin.pay(standin.session_of(attempt_id)["id"])
    standin.fail_next(500, times=50)

    report = await reconcile(context_of(app))

    assert not report.ok
    assert report.count(Action.FAILED) >= 1
    assert await status_of(app, attempt_id) == AttemptStatus.PENDING
