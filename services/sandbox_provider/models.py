"""The sandbox's tables: the provider's side of sessions, subscriptions and
invoices, its test clock, and the outbox its webhooks are sent from.

Statuses are StrEnums stored in plain string columns. Times the sandbox reports
(``created``, ``expires_at``, periods) are on the sandbox clock; delivery
bookkeeping (``next_attempt_at``, ``delivered_at``) is on the real clock,
because retries happen in the real world.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    metadata = new_metadata()


class Outcome(StrEnum):
    """How a checkout session ended (the sandbox's extension to Stripe's status)."""

    OPEN = "open"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class SubscriptionStatus(StrEnum):
    """The sandbox's own copy of Stripe's vocabulary: it stands in for an outside provider,
    so it shares no domain types with billing_api and may drift the way a real one would."""

    TRIALING = "trialing"
    ACTIVE = "active"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"


class CardBehavior(StrEnum):
    """What happens when the sandbox charges the saved card later."""

    CHARGES_SUCCEED = "charges_succeed"
    RENEWALS_FAIL = "renewals_fail"


class InvoiceStatus(StrEnum):
    PAID = "paid"
    OPEN = "open"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt


class CheckoutSession(Base):
    __tablename__ = "checkout_sessions"
    __table_args__ = (Index("ix_checkout_sessions_outcome_expires_at", "outcome", "expires_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)  # the hosted page, fixed when the session opens
    error_code: Mapped[str | None] = mapped_column(String(40))
    client_reference_id: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, str]] = mapped_column("metadata", JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    success_url: Mapped[str] = mapped_column(Text)
    cancel_url: Mapped[str] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Bound to this session and put in its forms, so a post made elsewhere is refused.
    form_token: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    # Never the card number or CVC: only what a receipt may show.
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_brand: Mapped[str | None] = mapped_column(String(16))
    card_behavior: Mapped[str | None] = mapped_column(String(20))
    awaiting_3ds: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    meta: Mapped[dict[str, str]] = mapped_column("metadata", JSON)
    checkout_session_id: Mapped[str] = mapped_column(String(40))
    card_last4: Mapped[str] = mapped_column(String(4))
    card_brand: Mapped[str] = mapped_column(String(16))
    card_behavior: Mapped[str] = mapped_column(String(20))
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    # Periods are counted from the anchor so a 31st-of-the-month start keeps its day.
    billing_anchor: Mapped[datetime] = mapped_column(UTCDateTime())
    periods_started: Mapped[int] = mapped_column(Integer)
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the clock next has something to do here (trial end, renewal, retry); None: nothing.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    dunning_invoice_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PortalSession(Base):
    """A customer's visit to the hosted card page of one subscription (Stripe's
    billing portal session, reduced to "replace the card")."""

    __tablename__ = "portal_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    return_url: Mapped[str] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(5))
    # Bound to this session and put in its form, so a post made elsewhere is refused.
    form_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16))
    billing_reason: Mapped[str] = mapped_column(String(32))
    amount_due: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    attempt_count: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClockOffset(Base):
    """One row (id 1, created by the migration): how far the sandbox runs ahead of real time."""

    __tablename__ = "test_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset_seconds: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookEvent(Base):
    """The outbox: written in the transaction that caused the event, sent later."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_status_next_attempt_at", "status", "next_attempt_at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    # Events with the same key (one subscription, one session) are sent one at a time, in order.
    ordering_key: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The exact body that is signed and sent, fixed when the event happened.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A sender's claim while it is sending; past it, another sender may take the event over.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
