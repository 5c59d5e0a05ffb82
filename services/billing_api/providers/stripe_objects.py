"""Reading Stripe's objects and events into provider-neutral values.

Everything here works on the plain JSON Stripe sends (webhook bodies) or
answers (API objects as dicts), with no call back to Stripe: an event is tied to
its account by the metadata billing_api put on the Checkout Session and copied
to the subscription (``subscription_data.metadata``).

Ordering. Stripe objects carry no version and events no sequence number, so
"newer wins" is decided from the event itself: a report is as of the event's
``created`` second, plus a step inside that second for the subscription's
lifecycle stage (``incomplete`` < living statuses < ``canceled`` /
``incomplete_expired``). Stripe never moves a subscription back a stage, so two
reports from the same second still order correctly when the stage differs; a
same-second, same-stage pair is ordered by arrival. An object read from the API
has no ``created`` of its own; it is as of the start of the read, truncated to
the second, so an event Stripe creates during the read is not lost to it.
docs/architecture.md records this decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.billing_api.models import SubscriptionStatus
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    CheckoutState,
    EventKind,
    ProviderCheckout,
    ProviderEvent,
    SubscriptionState,
)

SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    }
)
CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.expired",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
    }
)
# Read and kept, no effect: a renewal's success or failure also changes the subscription's
# status, which Stripe reports on customer.subscription.updated with the whole object.
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})

_STAGE = {
    SubscriptionStatus.INCOMPLETE: 0,
    SubscriptionStatus.CANCELED: 2,
    SubscriptionStatus.INCOMPLETE_EXPIRED: 2,
}
_LIVING_STAGE = 1

# Stripe's card error and decline codes -> our registered payment error codes.
_PAYMENT_ERROR_CODES = {
    "insufficient_funds": "INSUFFICIENT_FUNDS",
    "expired_card": "EXPIRED_CARD",
    "incorrect_cvc": "INCORRECT_CVC",
    "invalid_cvc": "INCORRECT_CVC",
    "processing_error": "PROCESSING_ERROR",
    "authentication_required": "AUTHENTICATION_FAILED",
    "payment_intent_authentication_failure": "AUTHENTICATION_FAILED",
}


def payment_error_code(code: str | None, decline_code: str | None = None) -> str:
    """Our code for a Stripe card error; an unnamed decline is CARD_DECLINED."""
    for candidate in (decline_code, code):
        if candidate in _PAYMENT_ERROR_CODES:
            return _PAYMENT_ERROR_CODES[candidate]
    return "CARD_DECLINED"


def as_of_read(started_at: datetime) -> int:
    """The ``created`` second to stamp an object read from the API with (see above)."""
    return int(started_at.timestamp())


def _at(seconds: int, stage: int = 0) -> datetime:
    return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=stage)


def _optional_unix(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), UTC)


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, the expanded object, or null."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value["id"])
    return str(value)


def _first_item(subscription: Mapping[str, Any]) -> Mapping[str, Any]:
    items = subscription.get("items") or {}
    data = items.get("data") or []
    return data[0] if data else {}


def _price_id(item: Mapping[str, Any]) -> str | None:
    # Current API versions name it `price`; older ones (and localstripe) only `plan`.
    return _id_of(item.get("price")) or _id_of(item.get("plan"))


def is_ours(obj: Mapping[str, Any]) -> bool:
    """Whether billing_api created this object (it carries our metadata)."""
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("accountId")) and bool(metadata.get("paymentAttemptId"))


def subscription_state(
    subscription: Mapping[str, Any], *, created: int, plans_by_price: Mapping[str, str]
) -> SubscriptionState:
    """A subscription object as our neutral state, as of ``created`` (unix seconds)."""
    metadata = subscription["metadata"]
    status = SubscriptionStatus(subscription["status"])
    item = _first_item(subscription)
    # The billing period moved from the subscription to its items in API 2025-03-31;
    # read whichever the object carries.
    period_start = subscription.get("current_period_start", item.get("current_period_start"))
    period_end = subscription.get("current_period_end", item.get("current_period_end"))
    price = _price_id(item)
    plan_id = plans_by_price.get(price or "") or str(metadata["planId"])
    return SubscriptionState(
        subscription_id=str(subscription["id"]),
        account_id=str(metadata["accountId"]),
        plan_id=plan_id,
        status=status,
        current_period_start=_optional_unix(period_start),
        current_period_end=_optional_unix(period_end),
        # A cancellation scheduled through the portal may set `cancel_at` instead.
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end"))
        or (subscription.get("cancel_at") is not None and status.is_current),
        trial_end=_optional_unix(subscription.get("trial_end")),
        canceled_at=_optional_unix(subscription.get("canceled_at")),
        as_of=_at(created, _STAGE.get(status, _LIVING_STAGE)),
    )


def checkout_state(
    session: Mapping[str, Any], *, created: int, event_type: str | None = None
) -> CheckoutState:
    """A Checkout Session as our neutral state; ``event_type`` when it came in an event."""
    status = session["status"]
    payment_status = session.get("payment_status")
    error_code = None
    if event_type == "checkout.session.async_payment_failed":
        # A delayed payment method failed after the page closed; Stripe gives no reason here.
        outcome = CheckoutOutcome.FAILED
        error_code = "PROCESSING_ERROR"
    elif status == "expired":
        outcome = CheckoutOutcome.EXPIRED
    elif status == "complete" and payment_status in ("paid", "no_payment_required"):
        outcome = CheckoutOutcome.PAID
    elif status in ("open", "complete"):
        # Complete but unpaid: a delayed payment method is still settling.
        outcome = CheckoutOutcome.OPEN
    else:
        raise ValueError(f"unknown checkout session status {status!r}")
    attempt_id = session.get("client_reference_id") or session["metadata"]["paymentAttemptId"]
    return CheckoutState(
        session_id=str(session["id"]),
        payment_attempt_id=str(attempt_id),
        outcome=outcome,
        error_code=error_code,
        subscription_id=_id_of(session.get("subscription")),
        as_of=_at(created),
    )


def provider_checkout(session: Mapping[str, Any], *, created: int) -> ProviderCheckout:
    """A listed Checkout Session of ours (``is_ours``) with what recording it needs."""
    metadata = session["metadata"]
    return ProviderCheckout(
        state=checkout_state(session, created=created),
        account_id=str(metadata["accountId"]),
        plan_id=str(metadata["planId"]),
        created_at=datetime.fromtimestamp(int(session["created"]), UTC),
        expires_at=datetime.fromtimestamp(int(session["expires_at"]), UTC),
        checkout_url=session.get("url"),
        success_url=str(session["success_url"]),
        cancel_url=str(session["cancel_url"]),
        # We send "auto" when the buyer named no language; the attempt records none then.
        locale=None if session.get("locale") in (None, "auto") else str(session["locale"]),
    )


def read_event(body: bytes, *, plans_by_price: Mapping[str, str], livemode: bool) -> ProviderEvent:
    """A verified Stripe event as a neutral event. Raises KeyError/TypeError/ValueError
    on something that is not a Stripe event.

    An event from the other mode than our key's (a test-mode event reaching a live
    billing_api through a mixed-up secret) is ignored: test cards must never grant access.
    """
    envelope = json.loads(body)
    event_id = str(envelope["id"])
    event_type = str(envelope["type"])
    created = int(envelope["created"])
    obj = envelope["data"]["object"]
    if not event_id or envelope.get("object") != "event" or not isinstance(obj, dict):
        raise ValueError("not a Stripe event")

    def ignored() -> ProviderEvent:
        return ProviderEvent(event_id, event_type, EventKind.IGNORED, _at(created))

    if bool(envelope.get("livemode", livemode)) != livemode:
        return ignored()
    if event_type in SUBSCRIPTION_EVENTS:
        if not is_ours(obj):
            return ignored()  # made outside billing_api (dashboard, another integration)
        state = subscription_state(obj, created=created, plans_by_price=plans_by_price)
        return ProviderEvent(
            event_id,
            event_type,
            EventKind.SUBSCRIPTION_CHANGED,
            _at(created),
            subscription=state,
        )
    if event_type in CHECKOUT_EVENTS:
        if not obj.get("client_reference_id") and not is_ours(obj):
            return ignored()
        return ProviderEvent(
            event_id,
            event_type,
            EventKind.CHECKOUT_SETTLED,
            _at(created),
            checkout=checkout_state(obj, created=created, event_type=event_type),
        )
    return ignored()
