"""The ``stripe`` provider: billing_api's adapter for Stripe, on the official SDK.

One ``StripeClient`` per app, built at start-up with a pinned API version, an
async HTTP client with a bounded timeout and the SDK's own network retries
(which resend with the same idempotency key). Nothing here touches the SDK's
global state (``stripe.api_key``), so two apps in one process cannot mix keys.

Every failure of a call - connection, timeout, rate limit, refused key, a Stripe
5xx, a refused request - is ``ProviderUnavailable`` to billing_api, which answers
``503 PROVIDER_UNAVAILABLE`` and records nothing; the log line says which it was.
Webhooks are verified with the SDK on the raw body and read without calling
Stripe back (``stripe_objects``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import stripe
import structlog

from services.billing_api.catalog import Catalog
from services.billing_api.customers import CustomerDirectory
from services.billing_api.provider_adapter import (
    CheckoutRequest,
    CheckoutState,
    CreatedCheckout,
    CreatedPortal,
    PortalRequest,
    ProviderCheckout,
    ProviderEvent,
    ProviderUnavailable,
    SubscriptionState,
    WebhookPayloadInvalid,
    WebhookSignatureInvalid,
)
from services.billing_api.providers import stripe_objects
from services.common.settings import LIVE_KEY_PREFIXES, Settings

# The API version every request and every object we read is shaped by. Webhook endpoints
# must be created with the same version (docs/stripe.md); change both together.
STRIPE_API_VERSION = "2026-10-28.endive"
# Stripe refuses an expiry under 30 minutes or over 24 hours from the session's creation;
# the margin covers the time our request takes to arrive.
_MIN_SESSION_SECONDS = 30 * 60 + 120
_MAX_SESSION_SECONDS = 24 * 3600 - 120

log = structlog.get_logger("gw_stack.stripe")
T = TypeVar("T")


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: Catalog,
        customers: CustomerDirectory,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self._prices: dict[str, str] = {}
        missing = []
        for plan in catalog.plans:
            if plan.purchasable:
                if plan.stripe_price:
                    self._prices[plan.id] = plan.stripe_price
                else:
                    missing.append(plan.id)
        if missing:
            raise ValueError(
                "PAYMENT_PROVIDER=stripe: give every paid plan a stripe_price in the catalog "
                f"(missing for {', '.join(missing)})"
            )
        self._plans_by_price = {price: plan_id for plan_id, price in self._prices.items()}
        self._http = http_client or stripe.HTTPXClient(
            timeout=settings.payment_provider_timeout_seconds
        )
        base = settings.provider_api_base
        self._client = stripe.StripeClient(
            settings.payment_provider_api_key.get_secret_value(),
            stripe_version=STRIPE_API_VERSION,
            http_client=self._http,
            max_network_retries=settings.payment_provider_max_network_retries,
            base_addresses={"api": base} if base else None,
        )
        self._livemode = settings.payment_provider_api_key.get_secret_value().startswith(
            LIVE_KEY_PREFIXES
        )
        self._webhook_secret = settings.webhook_secret.get_secret_value()
        self._tolerance = settings.webhook_tolerance_seconds
        self._customers = customers

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- calls -------------------------------------------------------------------
    async def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        plan = request.plan
        customer = await self._customer_for(request.account_id)
        metadata = {
            "accountId": request.account_id,
            "paymentAttemptId": request.payment_attempt_id,
            "planId": plan.id,
        }
        subscription_data: dict[str, Any] = {"metadata": metadata}
        if plan.trial_days:
            subscription_data["trial_period_days"] = plan.trial_days
        now = datetime.now(UTC).timestamp()
        expires_at = min(
            max(int(request.expires_at.timestamp()), int(now) + _MIN_SESSION_SECONDS),
            int(now) + _MAX_SESSION_SECONDS,
        )
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer,
            "line_items": [{"price": self._prices[plan.id], "quantity": 1}],
            "client_reference_id": request.payment_attempt_id,
            "metadata": metadata,
            "subscription_data": subscription_data,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": expires_at,
            "locale": request.locale or "auto",
        }
        session = await self._call(
            "create checkout session",
            lambda: self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"gw-checkout-{request.payment_attempt_id}"},
            ),
        )
        return self._read(
            "checkout session",
            lambda data: CreatedCheckout(
                session_id=str(data["id"]),
                checkout_url=str(data["url"]),
                expires_at=datetime.fromtimestamp(int(data["expires_at"]), UTC),
            ),
            session,
        )

    async def get_checkout(self, session_id: str) -> CheckoutState:
        started = datetime.now(UTC)
        session = await self._call(
            "retrieve checkout session",
            lambda: self._client.v1.checkout.sessions.retrieve_async(session_id),
        )
        created = stripe_objects.as_of_read(started)
        return self._read(
            "checkout session",
            lambda data: stripe_objects.checkout_state(data, created=created),
            session,
        )

    async def expire_checkout(self, session_id: str) -> None:
        try:
            await self._call(
                "expire checkout session",
                lambda: self._client.v1.checkout.sessions.expire_async(
                    session_id, options={"idempotency_key": f"gw-expire-{session_id}"}
                ),
                refused_is_error=False,
            )
        except _Refused:
            # Stripe expires only open sessions: this one was paid, expired or never existed,
            # and in none of those can it be paid through us. The caller reads the truth next.
            log.info("checkout session was not open; nothing to expire", session_id=session_id)

    async def list_checkouts(self, *, created_since: datetime) -> list[ProviderCheckout]:
        started = datetime.now(UTC)

        async def every_page() -> list[Any]:
            first = await self._client.v1.checkout.sessions.list_async(
                {"created": {"gte": int(created_since.timestamp())}, "limit": 100}
            )
            return [session async for session in first.auto_paging_iter()]

        sessions = await self._call("list checkout sessions", every_page)
        created = stripe_objects.as_of_read(started)
        return [
            self._read(
                "checkout session",
                lambda data: stripe_objects.provider_checkout(data, created=created),
                session,
            )
            for session in sessions
            if stripe_objects.is_ours(session.to_dict())
        ]

    async def get_subscription(self, subscription_id: str) -> SubscriptionState:
        started = datetime.now(UTC)
        subscription = await self._call(
            "retrieve subscription",
            lambda: self._client.v1.subscriptions.retrieve_async(subscription_id),
        )
        return self._subscription(subscription, started)

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool
    ) -> SubscriptionState:
        started = datetime.now(UTC)
        subscription = await self._call(
            "schedule cancellation" if at_period_end else "take back cancellation",
            lambda: self._client.v1.subscriptions.update_async(
                subscription_id,
                {"cancel_at_period_end": at_period_end},
                # A fresh key per change: replaying an earlier cancel's answer after a
                # resume would report a state that is no longer true.
                {"idempotency_key": f"gw-sub-{uuid.uuid4().hex}"},
            ),
        )
        return self._subscription(subscription, started)

    async def create_portal(self, request: PortalRequest) -> CreatedPortal:
        """A billing portal session opened on the card update, for the subscription's
        customer. Whether a new card pays an open invoice at once is the portal's and the
        dunning settings' choice in Stripe (docs/stripe.md)."""
        customer = await self._customers.find(request.account_id)
        if customer is None:  # made before billing_api recorded customers: ask Stripe
            subscription = await self._call(
                "retrieve subscription",
                lambda: self._client.v1.subscriptions.retrieve_async(request.subscription_id),
            )
            customer = self._read("subscription", lambda data: str(data["customer"]), subscription)
        params: dict[str, Any] = {
            "customer": customer,
            "return_url": request.return_url,
            "locale": request.locale or "auto",
            "flow_data": {
                "type": "payment_method_update",
                "after_completion": {
                    "type": "redirect",
                    "redirect": {"return_url": request.return_url},
                },
            },
        }
        portal = await self._call(
            "create billing portal session",
            lambda: self._client.v1.billing_portal.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"gw-portal-{request.account_id}-{uuid.uuid4().hex}"},
            ),
        )
        return self._read("billing portal session", lambda d: CreatedPortal(str(d["url"])), portal)

    async def _customer_for(self, account_id: str) -> str:
        """The account's Stripe customer: the recorded one, or a new one recorded now.

        The key is the account's, not the attempt's, so two first checkouts racing
        get one customer; a customer created for a checkout that then failed is kept
        and reused by the next one, so nothing is left half-made.
        """
        known = await self._customers.find(account_id)
        if known is not None:
            return known
        customer = await self._call(
            "create customer",
            lambda: self._client.v1.customers.create_async(
                {"metadata": {"accountId": account_id}},
                {"idempotency_key": f"gw-customer-{account_id}"},
            ),
        )
        created = self._read("customer", lambda data: str(data["id"]), customer)
        return await self._customers.remember(account_id, created)

    # -- webhooks ------------------------------------------------------------------
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            # HMAC-SHA256 over "{t}.{body}" on the raw bytes, constant-time compare, and
            # a timestamp no older than the tolerance.
            stripe.WebhookSignature.verify_header(
                body, headers.get("stripe-signature"), self._webhook_secret, self._tolerance
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookSignatureInvalid(str(exc).split(".", 1)[0]) from exc
        except UnicodeDecodeError as exc:  # the SDK decodes the body before it checks
            raise WebhookSignatureInvalid("body is not UTF-8") from exc
        return self.read_event(body)

    def read_event(self, payload: bytes) -> ProviderEvent:
        try:
            return stripe_objects.read_event(
                payload, plans_by_price=self._plans_by_price, livemode=self._livemode
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise WebhookPayloadInvalid("not a Stripe event we can read") from exc

    # -- plumbing --------------------------------------------------------------------
    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        refused_is_error: bool = True,
    ) -> T:
        try:
            return await call()
        except stripe.StripeError as exc:
            refused = isinstance(exc, stripe.InvalidRequestError)
            log.warning(
                "stripe call failed",
                call=what,
                error=type(exc).__name__,
                kind=_failure_kind(exc),
                code=exc.code,
                http_status=exc.http_status,
                request_id=exc.request_id,
            )
            if refused and not refused_is_error:
                raise _Refused(what) from exc
            raise ProviderUnavailable(f"stripe: {what} failed ({_failure_kind(exc)})") from exc

    def _subscription(self, subscription: Any, started: datetime) -> SubscriptionState:
        created = stripe_objects.as_of_read(started)
        return self._read(
            "subscription",
            lambda data: stripe_objects.subscription_state(
                data, created=created, plans_by_price=self._plans_by_price
            ),
            subscription,
        )

    @staticmethod
    def _read(what: str, parse: Callable[[Mapping[str, Any]], T], obj: Any) -> T:
        """An answer we cannot read is the provider failing, not our bug."""
        try:
            return parse(obj.to_dict())
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ProviderUnavailable(f"stripe answered an unexpected {what} ({exc!r})") from exc


class _Refused(Exception):
    """Stripe refused the request itself (4xx), as opposed to failing to answer it."""


def _failure_kind(exc: stripe.StripeError) -> str:
    """What went wrong, for the log line and the operator."""
    match exc:
        case stripe.CardError():
            code = stripe_objects.payment_error_code(exc.code, getattr(exc, "decline_code", None))
            return f"card refused: {code}"
        case stripe.RateLimitError():
            return "rate limited"
        case stripe.AuthenticationError() | stripe.PermissionError():
            return "API key refused: check PAYMENT_PROVIDER_API_KEY"
        case stripe.APIConnectionError():
            return "unreachable"
        case stripe.IdempotencyError():
            return "idempotency key reused with other parameters"
        case stripe.InvalidRequestError():
            return "request refused"
        case stripe.APIError():
            return "Stripe failed to answer (5xx)"
        case _:
            return "stripe error"
