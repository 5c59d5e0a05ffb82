"""landing's only way to billing_api (and the planner's public tier table): HTTP,
with the signed-in user's token, on the app's one ``httpx.AsyncClient``.

Every failure comes back as ``BillingError`` carrying a registered code, so a page
can always show the registry's message; nothing raw from the wire reaches a user.

Exception tree::

    BillingError    billing_api answered a coded error, or could not be reached/read
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from services.common.error_codes import ErrorCode
from services.common.request_context import current_request_id

M = TypeVar("M", bound=BaseModel)


class BillingError(Exception):
    """billing_api refused, failed or could not be reached; ``code`` is registered."""

    def __init__(self, code: str, *, status: int, message: str | None = None) -> None:
        self.code = ErrorCode(code) if code in ErrorCode.__members__ else ErrorCode.INTERNAL_ERROR
        self.status = status
        self.message = message
        super().__init__(self.code)


class _Wire(BaseModel):
    # Tolerant of fields billing_api adds later; strict about the ones we use.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Price(_Wire):
    amount: int
    currency: str


class Plan(_Wire):
    id: str
    name: str
    tier: Literal["free", "paid"]
    price: Price
    interval: Literal["month", "year"] | None = None
    trial_days: int = 0


class Tier(_Wire):
    tier: str
    can_save_plans: bool
    can_export: bool
    max_concurrent_plans: int
    max_tasks_per_plan: int


class StartedCheckout(_Wire):
    payment_attempt_id: str
    checkout_url: str


class AttemptError(_Wire):
    code: str
    message: str


class CheckoutStatus(_Wire):
    payment_attempt_id: str
    status: Literal["pending", "succeeded", "failed", "canceled", "expired"]
    plan_id: str
    subscription_status: str | None = None
    error: AttemptError | None = None


class Subscription(_Wire):
    plan_id: str
    status: str
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    trial_end: datetime | None = None


class _Plans(_Wire):
    plans: list[Plan]


class _Tiers(_Wire):
    tiers: list[Tier]


class _SubscriptionEnvelope(_Wire):
    subscription: Subscription


class _Portal(_Wire):
    url: str


class BillingClient:
    def __init__(self, http: httpx.AsyncClient, *, billing_url: str, planner_url: str) -> None:
        self._http = http
        self._billing = billing_url.rstrip("/")
        self._planner = planner_url.rstrip("/")

    async def _call(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        token: str | None = None,
        locale: str = "en",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> M:
        sent = {"Accept-Language": locale, "X-Request-ID": current_request_id()}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        try:
            response = await self._http.request(
                method, f"{self._billing}{path}", headers=sent, **kwargs
            )
        except httpx.HTTPError as exc:
            raise BillingError(ErrorCode.SERVICE_UNAVAILABLE, status=503) from exc
        if response.status_code >= 400:
            raise _coded(response)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise BillingError(ErrorCode.SERVICE_UNAVAILABLE, status=503) from exc

    async def plans(self, locale: str) -> list[Plan]:
        return (await self._call(_Plans, "GET", "/api/billing/plans", locale=locale)).plans

    async def tiers(self) -> list[Tier] | None:
        """The planner's public tier table, or None when it cannot be had right now:
        pricing is still worth showing without it."""
        try:
            response = await self._http.get(f"{self._planner}/v1/access/tiers", timeout=2.0)
            if response.status_code != 200:
                return None
            return _Tiers.model_validate(response.json()).tiers
        except (httpx.HTTPError, ValueError, ValidationError):
            return None

    async def start_checkout(
        self,
        token: str,
        *,
        plan_id: str,
        idempotency_key: str,
        success_url: str,
        cancel_url: str,
        locale: str,
    ) -> StartedCheckout:
        return await self._call(
            StartedCheckout,
            "POST",
            "/api/billing/checkout/start",
            token=token,
            locale=locale,
            headers={"Idempotency-Key": idempotency_key},
            json={
                "planId": plan_id,
                "successUrl": success_url,
                "cancelUrl": cancel_url,
                "locale": locale,
            },
        )

    async def checkout_status(self, token: str, attempt_id: str, locale: str) -> CheckoutStatus:
        return await self._call(
            CheckoutStatus,
            "GET",
            "/api/billing/checkout/status",
            token=token,
            locale=locale,
            params={"paymentAttemptId": attempt_id},
        )

    async def subscription(self, token: str, locale: str) -> Subscription | None:
        try:
            envelope = await self._call(
                _SubscriptionEnvelope, "GET", "/api/billing/subscription", token=token,
                locale=locale,
            )  # fmt: skip
        except BillingError as error:
            if error.code == ErrorCode.SUBSCRIPTION_NOT_FOUND:
                return None
            raise
        return envelope.subscription

    async def change_cancellation(self, token: str, *, cancel: bool, locale: str) -> Subscription:
        action = "cancel" if cancel else "resume"
        envelope = await self._call(
            _SubscriptionEnvelope, "POST", f"/api/billing/subscription/{action}", token=token,
            locale=locale,
        )  # fmt: skip
        return envelope.subscription

    async def portal(self, token: str, *, return_url: str, locale: str) -> str:
        portal = await self._call(
            _Portal, "POST", "/api/billing/portal", token=token, locale=locale,
            json={"returnUrl": return_url, "locale": locale},
        )  # fmt: skip
        return portal.url


def _coded(response: httpx.Response) -> BillingError:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), error.get("message")
    except (ValueError, KeyError, TypeError):
        code, message = (
            ("SERVICE_UNAVAILABLE" if response.status_code >= 500 else "INTERNAL_ERROR"),
            None,
        )
    return BillingError(
        code, status=response.status_code, message=message if isinstance(message, str) else None
    )
