"""Wire models. snake_case, like the provider APIs the sandbox stands in for.

The objects here are both the JSON API's answers and the ``data.object`` of
webhooks, so an event carries exactly what a GET would have shown at that time.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.sandbox_provider.clock import unix
from services.sandbox_provider.models import (
    CheckoutSession,
    Invoice,
    Outcome,
    PortalSession,
    Subscription,
)


class _In(BaseModel):
    # Like a provider's API: an unknown parameter is an error, not silently ignored;
    # and strict, so `false` is not a number of seconds nor `1` a string.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # No text the sandbox stores holds NUL or another control character (PostgreSQL
        # cannot store NUL at all): refused here as a 422, for every input model.
        if _has_control_character(value):
            raise ValueError("text must not contain control characters")
        return value


def _has_control_character(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return not value.isprintable()
    if depth > 8:  # nothing we accept nests deeper; the model refuses what does
        return False
    if isinstance(value, dict):
        return any(
            _has_control_character(k, depth + 1) or _has_control_character(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return any(_has_control_character(item, depth + 1) for item in value)
    return False


class PlanIn(_In):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    amount: int = Field(ge=0, description="Minor units, e.g. 29900 for ₺299,00.")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    interval: Literal["month", "year"]
    trial_days: int = Field(default=0, ge=0, le=730)


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() for c in value)
        or not value.isprintable()
    ):
        raise ValueError("must be an absolute http(s) URL")
    return value


class CheckoutSessionCreate(_In):
    client_reference_id: str | None = Field(default=None, max_length=255)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)
    plan: PlanIn
    success_url: str = Field(max_length=2048)
    cancel_url: str = Field(max_length=2048)
    expires_at: int | None = Field(
        default=None,
        description="Unix seconds on the real clock; default 24 hours from now. "
        "The session lives that long on the sandbox clock.",
    )
    locale: Literal["tr", "en"] | None = None

    _urls = field_validator("success_url", "cancel_url")(_check_url)

    @field_validator("metadata")
    @classmethod
    def _short_values(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(k) > 40 or len(v) > 500 for k, v in value.items()):
            raise ValueError("metadata keys are at most 40 characters, values at most 500")
        return value


class PortalSessionCreate(_In):
    subscription: str = Field(min_length=1, max_length=40)
    return_url: str = Field(max_length=2048)
    locale: Literal["tr", "en"] | None = None

    _urls = field_validator("return_url")(_check_url)


class PortalSessionObject(BaseModel):
    id: str
    object: Literal["billing_portal.session"] = "billing_portal.session"
    subscription: str
    url: str = Field(description="The hosted card page; send the browser here.")
    return_url: str
    locale: str | None
    expires_at: int
    created: int

    @classmethod
    def of(cls, row: PortalSession) -> PortalSessionObject:
        return cls(
            id=row.id,
            subscription=row.subscription_id,
            url=row.url,
            return_url=row.return_url,
            locale=row.locale,
            expires_at=unix(row.expires_at),
            created=unix(row.created_at),
        )


class CancelSubscriptionIn(_In):
    at_period_end: bool = True
    immediately: bool = False


class AdvanceClockIn(_In):
    days: float = Field(default=0, ge=0, le=3660)
    seconds: int = Field(default=0, ge=0, le=3660 * 86400)

    @model_validator(mode="after")
    def _some_time(self) -> AdvanceClockIn:
        if self.total_seconds > 3660 * 86400:
            raise ValueError("advance at most 3660 days at once")
        return self

    @property
    def total_seconds(self) -> int:
        return round(self.days * 86400) + self.seconds


_STATUS_BY_OUTCOME = {
    Outcome.OPEN: "open",
    Outcome.PAID: "complete",
    Outcome.FAILED: "expired",
    Outcome.CANCELED: "expired",
    Outcome.EXPIRED: "expired",
}


class CheckoutSessionObject(BaseModel):
    id: str
    object: Literal["checkout.session"] = "checkout.session"
    url: str
    status: Literal["open", "complete", "expired"]
    payment_status: Literal["unpaid", "paid"]
    outcome: Outcome
    error_code: str | None
    subscription: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    plan: dict[str, Any]
    locale: str | None
    success_url: str
    cancel_url: str
    expires_at: int
    created: int
    updated: int = Field(description="Unix milliseconds; strictly increasing per session.")

    @classmethod
    def of(cls, row: CheckoutSession) -> CheckoutSessionObject:
        outcome = Outcome(row.outcome)
        return cls(
            id=row.id,
            url=row.url,
            status=_STATUS_BY_OUTCOME[outcome],
            payment_status="paid" if outcome is Outcome.PAID else "unpaid",
            outcome=outcome,
            error_code=row.error_code,
            subscription=row.subscription_id,
            client_reference_id=row.client_reference_id,
            metadata=row.meta,
            plan=row.plan,
            locale=row.locale,
            success_url=row.success_url,
            cancel_url=row.cancel_url,
            expires_at=unix(row.expires_at),
            created=unix(row.created_at),
            updated=row.updated_ms,
        )


class CheckoutSessionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CheckoutSessionObject]
    has_more: bool = Field(description="More sessions follow: ask again with `starting_after`.")


class SubscriptionObject(BaseModel):
    id: str
    object: Literal["subscription"] = "subscription"
    status: str
    current_period_start: int
    current_period_end: int
    cancel_at_period_end: bool
    trial_end: int | None
    canceled_at: int | None
    metadata: dict[str, str]
    plan: dict[str, Any]
    card_last4: str
    card_brand: str
    created: int
    updated: int = Field(description="Unix milliseconds; strictly increasing per subscription.")

    @classmethod
    def of(cls, row: Subscription) -> SubscriptionObject:
        return cls(
            id=row.id,
            status=row.status,
            current_period_start=unix(row.current_period_start),
            current_period_end=unix(row.current_period_end),
            cancel_at_period_end=row.cancel_at_period_end,
            trial_end=unix(row.trial_end) if row.trial_end else None,
            canceled_at=unix(row.canceled_at) if row.canceled_at else None,
            metadata=row.meta,
            plan=row.plan,
            card_last4=row.card_last4,
            card_brand=row.card_brand,
            created=unix(row.created_at),
            updated=row.updated_ms,
        )


class InvoiceObject(BaseModel):
    id: str
    object: Literal["invoice"] = "invoice"
    subscription: str
    status: Literal["paid", "open"]
    billing_reason: str
    amount_due: int
    currency: str
    attempt_count: int
    period_start: int
    period_end: int
    created: int

    @classmethod
    def of(cls, row: Invoice) -> InvoiceObject:
        return cls(
            id=row.id,
            subscription=row.subscription_id,
            status=row.status,
            billing_reason=row.billing_reason,
            amount_due=row.amount_due,
            currency=row.currency,
            attempt_count=row.attempt_count,
            period_start=unix(row.period_start),
            period_end=unix(row.period_end),
            created=unix(row.created_at),
        )


class ClockOut(BaseModel):
    now: int
    offsetSeconds: int  # the documented wire name, camelCase like the CLI expects
    processed: int | None = Field(
        default=None, description="After an advance: how many due actions ran."
    )


class DeliveryOut(BaseModel):
    status: str
    attempts: int
    next_attempt_at: int | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: int | None


class EventOut(BaseModel):
    id: str
    object: Literal["event"] = "event"
    type: str
    created: int
    data: dict[str, Any]
    delivery: DeliveryOut


class EventList(BaseModel):
    object: Literal["list"] = "list"
    data: list[EventOut]


class FlushOut(BaseModel):
    attempted: int
    delivered: int
    failed: int
    pending: int = Field(description="Events still waiting for delivery after this flush.")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    service: Literal["sandbox_provider"] = "sandbox_provider"
    version: str
    checks: dict[str, str]
