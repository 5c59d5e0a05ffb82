"""The payment provider interface and the registry that picks one.

billing_api speaks to every provider through ``PaymentProvider`` and
provider-neutral values; each provider module translates its own API and
webhooks into them. Chosen by ``PAYMENT_PROVIDER``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from services.billing_api.models import SubscriptionStatus
from services.common.auth import ACCOUNT_ID
from services.common.error_codes import ErrorCode, spec_for

if TYPE_CHECKING:
    from services.billing_api.catalog import Plan


class ProviderUnavailable(Exception):
    """The provider could not be reached or failed; nothing may be assumed to have happened."""


class WebhookSignatureInvalid(Exception):
    """Missing, wrong or stale signature."""


class WebhookPayloadInvalid(Exception):
    """Signed, but not an event we can read."""


class CheckoutOutcome(StrEnum):
    OPEN = "open"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    payment_attempt_id: str
    account_id: str
    plan: Plan
    success_url: str
    cancel_url: str
    locale: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedCheckout:
    session_id: str
    checkout_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PortalRequest:
    subscription_id: str  # the provider's id
    account_id: str
    return_url: str
    locale: str | None


@dataclass(frozen=True, slots=True)
class CreatedPortal:
    url: str  # the provider's hosted page; send the browser there


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    subscription_id: str  # the provider's id
    account_id: str
    plan_id: str
    status: SubscriptionStatus
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None
    canceled_at: datetime | None
    as_of: datetime  # when the provider produced this state


@dataclass(frozen=True, slots=True)
class CheckoutState:
    session_id: str
    payment_attempt_id: str
    outcome: CheckoutOutcome
    error_code: str | None  # a registered payment error code when FAILED
    subscription_id: str | None  # the provider's subscription, once paid
    as_of: datetime


@dataclass(frozen=True, slots=True)
class ProviderCheckout:
    """A checkout session as the provider lists it, with what billing_api needs to record
    an attempt for it (reconciliation finds sessions a crash left unrecorded)."""

    state: CheckoutState
    account_id: str
    plan_id: str
    created_at: datetime
    expires_at: datetime
    checkout_url: str | None  # Stripe drops the URL once the session is no longer open
    success_url: str
    cancel_url: str
    locale: str | None


class EventKind(StrEnum):
    CHECKOUT_SETTLED = "checkout_settled"  # paid, failed, canceled or expired
    SUBSCRIPTION_CHANGED = "subscription_changed"
    IGNORED = "ignored"  # a type we read but do not act on


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    event_id: str
    type: str  # the provider's own type, e.g. "invoice.payment_failed"
    kind: EventKind
    occurred_at: datetime
    checkout: CheckoutState | None = None
    subscription: SubscriptionState | None = None


# What our columns hold (models.py). Checked on every event before it is stored,
# whichever provider sent it, so a value we cannot record is refused at the door
# instead of failing its application later, again and again.
_MAX_EVENT_ID = 255
_MAX_EVENT_TYPE = 100
_MAX_PROVIDER_ID = 255
_MAX_OUR_ID = 64


def _check_text(name: str, value: str | None, max_length: int) -> None:
    if value is None:
        return
    if not value or len(value) > max_length or not value.isprintable():
        # isprintable() refuses NUL (which PostgreSQL cannot store in text) and every
        # other control character; ids and types never hold them.
        raise WebhookPayloadInvalid(f"{name} is empty, longer than {max_length} or unprintable")


def check_event(event: ProviderEvent) -> None:
    """Refuse an event whose fields our records cannot hold (``WebhookPayloadInvalid``)."""
    _check_text("event id", event.event_id, _MAX_EVENT_ID)
    _check_text("event type", event.type, _MAX_EVENT_TYPE)
    if event.checkout is not None:
        checkout = event.checkout
        _check_text("checkout session id", checkout.session_id, _MAX_PROVIDER_ID)
        _check_text("payment attempt id", checkout.payment_attempt_id, _MAX_OUR_ID)
        _check_text("subscription id", checkout.subscription_id, _MAX_PROVIDER_ID)
        if checkout.error_code is not None and not _is_payment_error(checkout.error_code):
            raise WebhookPayloadInvalid("error code is not a payment error we know")
    if event.subscription is not None:
        subscription = event.subscription
        _check_text("subscription id", subscription.subscription_id, _MAX_PROVIDER_ID)
        _check_text("plan id", subscription.plan_id, _MAX_OUR_ID)
        if not ACCOUNT_ID.fullmatch(subscription.account_id):
            raise WebhookPayloadInvalid("account id is not one of ours")


def _is_payment_error(code: str) -> bool:
    try:
        return spec_for(ErrorCode(code)).area == "payment"
    except ValueError:  # not a registered code at all
        return False


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        """Open a hosted checkout session for a subscription."""
        ...

    async def get_checkout(self, session_id: str) -> CheckoutState:
        """The session's state as the provider sees it now."""
        ...

    async def expire_checkout(self, session_id: str) -> None:
        """End an open session so it can no longer be paid."""
        ...

    async def list_checkouts(self, *, created_since: datetime) -> list[ProviderCheckout]:
        """Every session billing_api opened (it carries our attempt id) created at or
        after ``created_since``, whatever its state; sessions opened by anything else on
        the same provider account are left out."""
        ...

    async def get_subscription(self, subscription_id: str) -> SubscriptionState:
        """The subscription's state as the provider sees it now."""
        ...

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool
    ) -> SubscriptionState:
        """Schedule cancellation at the end of the period (``at_period_end=True``), or take
        a scheduled cancellation back (``False``). Never cancels immediately."""
        ...

    async def create_portal(self, request: PortalRequest) -> CreatedPortal:
        """Open the provider's hosted page where the customer replaces the card of this
        subscription (Stripe: a billing portal session). A new card pays what is overdue,
        so a ``past_due`` subscription can recover; the change arrives as webhooks."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify the signature on the raw body, then read it into a neutral event."""
        ...

    def read_event(self, payload: bytes) -> ProviderEvent:
        """Read an event that was verified when it arrived (retries from the inbox)."""
        ...

    async def aclose(self) -> None: ...
