"""The ``stub`` provider: billing_api's adapter for the local sandbox provider.

Speaks the sandbox's Stripe-like JSON API over HTTP and reads its Standard
Webhooks-signed events. Sandbox objects carry ``updated`` (milliseconds,
strictly increasing per object), which orders reports of one subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx

from services.billing_api.models import SubscriptionStatus
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    CheckoutRequest,
    CheckoutState,
    CreatedCheckout,
    CreatedPortal,
    EventKind,
    PortalRequest,
    ProviderCheckout,
    ProviderEvent,
    ProviderUnavailable,
    SubscriptionState,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from services.common import json_input, signing
from services.common.settings import Settings
from services.common.types import from_unix

_SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
T = TypeVar("T")

_CHECKOUT_EVENTS = {"checkout.session.completed", "checkout.session.expired"}


class StubProvider:
    name = "stub"

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(
            base_url=settings.payment_provider_endpoint,
            headers={
                "Authorization": f"Bearer {settings.payment_provider_api_key.get_secret_value()}"
            },
            timeout=settings.payment_provider_timeout_seconds,
            transport=transport,
        )
        self._webhook_secret = settings.webhook_secret.get_secret_value()
        self._tolerance = settings.webhook_tolerance_seconds

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"sandbox unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise ProviderUnavailable(f"sandbox answered {response.status_code} to {path}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderUnavailable("sandbox answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise ProviderUnavailable("sandbox answered an unexpected shape")
        return body

    async def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        plan = request.plan
        session = await self._call(
            "POST",
            "/v1/checkout/sessions",
            {
                "client_reference_id": request.payment_attempt_id,
                "metadata": {
                    "accountId": request.account_id,
                    "paymentAttemptId": request.payment_attempt_id,
                    "planId": plan.id,
                },
                "plan": {
                    "id": plan.id,
                    "name": plan.name_in(request.locale),
                    "amount": plan.amount,
                    "currency": plan.currency,
                    "interval": plan.interval,
                    "trial_days": plan.trial_days,
                },
                "success_url": request.success_url,
                "cancel_url": request.cancel_url,
                "expires_at": int(request.expires_at.timestamp()),
                "locale": request.locale,
            },
        )
        try:
            return CreatedCheckout(
                session_id=str(session["id"]),
                checkout_url=str(session["url"]),
                expires_at=_from_unix(session["expires_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable("sandbox session without id, url or expiry") from exc

    async def get_checkout(self, session_id: str) -> CheckoutState:
        session = await self._call("GET", f"/v1/checkout/sessions/{session_id}")
        return _read(_checkout_state, session)

    async def expire_checkout(self, session_id: str) -> None:
        await self._call("POST", f"/v1/checkout/sessions/{session_id}/expire")

    async def list_checkouts(self, *, created_since: datetime) -> list[ProviderCheckout]:
        found: list[ProviderCheckout] = []
        params: dict[str, Any] = {"created[gte]": int(created_since.timestamp()), "limit": 100}
        while True:
            page = await self._call("GET", "/v1/checkout/sessions", params=params)
            sessions = _read(_session_list, page)
            found.extend(_read(_provider_checkout, s) for s in sessions if _is_ours(s))
            if not page.get("has_more") or not sessions:
                return found
            params["starting_after"] = sessions[-1]["id"]

    async def get_subscription(self, subscription_id: str) -> SubscriptionState:
        subscription = await self._call("GET", f"/v1/subscriptions/{subscription_id}")
        return _read(_subscription_state, subscription)

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool
    ) -> SubscriptionState:
        subscription = await self._call(
            "POST", f"/v1/subscriptions/{subscription_id}/cancel", {"at_period_end": at_period_end}
        )
        return _read(_subscription_state, subscription)

    async def create_portal(self, request: PortalRequest) -> CreatedPortal:
        portal = await self._call(
            "POST",
            "/v1/billing_portal/sessions",
            {
                "subscription": request.subscription_id,
                "return_url": request.return_url,
                "locale": request.locale,
            },
        )
        url = portal.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ProviderUnavailable("sandbox portal session without a url")
        return CreatedPortal(url=url)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            # The HMAC over "{id}.{timestamp}.{body}" on the raw bytes, compared in
            # constant time, and the timestamp within WEBHOOK_TOLERANCE_SECONDS.
            signing.verify(self._webhook_secret, body, headers, tolerance_seconds=self._tolerance)
        except signing.SignatureInvalid as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc
        return self.read_event(body)

    def read_event(self, payload: bytes) -> ProviderEvent:
        try:
            return _event(json_input.loads(payload))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # JSONInputInvalid is a ValueError: not UTF-8, malformed, too deep, Infinity.
            raise WebhookPayloadInvalid(f"not a sandbox event ({exc})") from exc


def _read(parse: Callable[[Mapping[str, Any]], T], answer: Mapping[str, Any]) -> T:
    """A sandbox answer we cannot read is the provider failing, not our bug."""
    try:
        return parse(answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderUnavailable(f"sandbox answered an unexpected shape ({exc!r})") from exc


def _from_unix(value: Any) -> datetime:
    return from_unix(value)


def _optional_unix(value: Any) -> datetime | None:
    return None if value is None else from_unix(value)


def _from_unix_ms(value: Any) -> datetime:
    return from_unix(value, units_per_second=1000)


def _text(value: Any) -> str:
    """A string field: numbers or objects where a string belongs are a shape error."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _checkout_state(session: Mapping[str, Any]) -> CheckoutState:
    return CheckoutState(
        session_id=_text(session["id"]),
        payment_attempt_id=_text(session["client_reference_id"]),
        outcome=CheckoutOutcome(session["outcome"]),
        error_code=_optional_text(session.get("error_code")),
        subscription_id=_optional_text(session.get("subscription")),
        as_of=_from_unix_ms(session["updated"]),
    )


def _session_list(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = page["data"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise TypeError("a list page whose data is not a list of objects")
    return data


def _is_ours(session: Mapping[str, Any]) -> bool:
    """Opened by billing_api: it carries our attempt id and account."""
    metadata = session.get("metadata")
    return (
        isinstance(metadata, dict)
        and bool(session.get("client_reference_id"))
        and bool(metadata.get("accountId"))
    )


def _provider_checkout(session: Mapping[str, Any]) -> ProviderCheckout:
    metadata = session["metadata"]
    return ProviderCheckout(
        state=_checkout_state(session),
        account_id=_text(metadata["accountId"]),
        plan_id=_text(metadata.get("planId") or session["plan"]["id"]),
        created_at=_from_unix(session["created"]),
        expires_at=_from_unix(session["expires_at"]),
        checkout_url=_optional_text(session.get("url")),
        success_url=_text(session["success_url"]),
        cancel_url=_text(session["cancel_url"]),
        locale=_optional_text(session.get("locale")),
    )


def _subscription_state(subscription: Mapping[str, Any]) -> SubscriptionState:
    metadata = subscription["metadata"]
    return SubscriptionState(
        subscription_id=_text(subscription["id"]),
        account_id=_text(metadata["accountId"]),
        plan_id=_text(metadata["planId"]),
        status=SubscriptionStatus(subscription["status"]),
        current_period_start=_optional_unix(subscription.get("current_period_start")),
        current_period_end=_optional_unix(subscription.get("current_period_end")),
        cancel_at_period_end=_flag(subscription.get("cancel_at_period_end", False)),
        trial_end=_optional_unix(subscription.get("trial_end")),
        canceled_at=_optional_unix(subscription.get("canceled_at")),
        as_of=_from_unix_ms(subscription["updated"]),
    )


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _event(envelope: Any) -> ProviderEvent:
    event_id = _text(envelope["id"])
    event_type = _text(envelope["type"])
    occurred_at = _from_unix(envelope["created"])
    obj = envelope["data"]["object"]
    if not event_id or not isinstance(obj, dict):
        raise ValueError("event without id or object")
    if event_type in _CHECKOUT_EVENTS:
        return ProviderEvent(
            event_id,
            event_type,
            EventKind.CHECKOUT_SETTLED,
            occurred_at,
            checkout=_checkout_state(obj),
        )
    if event_type in _SUBSCRIPTION_EVENTS:
        return ProviderEvent(
            event_id,
            event_type,
            EventKind.SUBSCRIPTION_CHANGED,
            occurred_at,
            subscription=_subscription_state(obj),
        )
    return ProviderEvent(event_id, event_type, EventKind.IGNORED, occurred_at)
