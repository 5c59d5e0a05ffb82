"""billing_api's wire models (camelCase JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeAlias

from pydantic import Field
from sqlalchemy import Row

from services.billing_api.models import Subscription
from services.common.schemas import CamelModel
from services.common.types import utcnow

# A Core row of any columns (Row is generic over the column types).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class Price(CamelModel):
    amount: int = Field(description="Integer minor units (kuruş for TRY).")
    currency: str = Field(description="ISO 4217 code.")


class PlanOut(CamelModel):
    id: str
    name: str
    tier: Literal["free", "paid"]
    price: Price
    interval: Literal["month", "year"] | None
    trial_days: int


class PlansOut(CamelModel):
    plans: list[PlanOut]


class SubscriptionOut(CamelModel):
    id: str
    account_id: str
    plan_id: str
    status: str = Field(
        description="trialing, active, incomplete, incomplete_expired, past_due, unpaid, "
        "canceled or paused"
    )
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    trial_end: datetime | None
    provider: str
    updated_at: datetime


def subscription_out(subscription: Subscription | AnyRow) -> SubscriptionOut:
    """The wire shape of a subscription, from the ORM object or a row of its shown columns
    (``subscriptions.SHOWN_COLUMNS``)."""
    return SubscriptionOut(
        id=subscription.id,
        account_id=subscription.account_id,
        plan_id=subscription.plan_id,
        status=subscription.status,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        trial_end=subscription.trial_end,
        provider=subscription.provider,
        # Not yet flushed when announced in the transaction that creates it.
        updated_at=subscription.updated_at or utcnow(),
    )


class SubscriptionEnvelope(CamelModel):
    subscription: SubscriptionOut


class CheckoutStartIn(CamelModel):
    plan_id: str = Field(min_length=1, max_length=64, examples=["pro_monthly"])
    success_url: str = Field(min_length=1, max_length=2048)
    cancel_url: str = Field(min_length=1, max_length=2048)
    locale: Literal["tr", "en"] | None = None


class PortalIn(CamelModel):
    return_url: str | None = Field(
        default=None,
        max_length=2048,
        description="Where the provider's page sends the browser back to; an allowed "
        "origin, like checkout's URLs. Default: the landing site's account page.",
    )
    locale: Literal["tr", "en"] | None = None


class PortalOut(CamelModel):
    url: str = Field(description="The provider's hosted card page for this account.")


class CheckoutStartOut(CamelModel):
    payment_attempt_id: str
    status: Literal["pending"]
    checkout_url: str
    expires_at: datetime


class AttemptError(CamelModel):
    code: str
    message: str


class CheckoutStatusOut(CamelModel):
    payment_attempt_id: str
    status: Literal["pending", "succeeded", "failed", "canceled", "expired"]
    plan_id: str
    subscription_status: str | None
    error: AttemptError | None
    updated_at: datetime


class HealthOut(CamelModel):
    status: Literal["ok", "degraded"]
    service: Literal["billing_api"]
    version: str
    provider: str
    checks: dict[str, str]
