"""An in-memory payment provider for billing_api's tests.

It keeps sessions and subscriptions like a provider would and lets a test pay,
decline, cancel or expire them, or take the provider down.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from services.billing_api.models import SubscriptionStatus
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    CheckoutRequest,
    CheckoutState,
    CreatedCheckout,
    CreatedPortal,
    PortalRequest,
    ProviderCheckout,
    ProviderEvent,
    ProviderUnavailable,
    SubscriptionState,
)
from services.billing_api.providers.stub import StubProvider
from services.common.settings import Settings

_ids = itertools.count(1)


@dataclass
class FakeSession:
    request: CheckoutRequest
    state: CheckoutState
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FakeProvider:
    name: str = "stub"
    down: bool = False
    fail_expire: bool = False
    # Calls that fail before the provider goes down entirely: the first N answer.
    answers_before_down: int | None = None
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    subscriptions: dict[str, SubscriptionState] = field(default_factory=dict)
    create_calls: int = 0
    expired: list[str] = field(default_factory=list)
    portals: list[PortalRequest] = field(default_factory=list)
    webhook_reader: StubProvider = field(default_factory=lambda: StubProvider(Settings()))

    def _check_up(self) -> None:
        if self.answers_before_down is not None:
            if self.answers_before_down == 0:
                self.down = True
            else:
                self.answers_before_down -= 1
        if self.down:
            raise ProviderUnavailable("fake provider is down")

    async def create_checkout(self, request: CheckoutRequest) -> CreatedCheckout:
        self.create_calls += 1
        self._check_up()
        session_id = f"cs_fake_{next(_ids)}"
        self.sessions[session_id] = FakeSession(
            request,
            CheckoutState(
                session_id=session_id,
                payment_attempt_id=request.payment_attempt_id,
                outcome=CheckoutOutcome.OPEN,
                error_code=None,
                subscription_id=None,
                as_of=datetime.now(UTC),
            ),
        )
        return CreatedCheckout(session_id, f"https://pay.example/{session_id}", request.expires_at)

    async def get_checkout(self, session_id: str) -> CheckoutState:
        self._check_up()
        return self.sessions[session_id].state

    async def expire_checkout(self, session_id: str) -> None:
        self._check_up()
        self.expired.append(session_id)
        self.settle(session_id, CheckoutOutcome.EXPIRED)

    async def list_checkouts(self, *, created_since: datetime) -> list[ProviderCheckout]:
        self._check_up()
        return [
            ProviderCheckout(
                state=s.state,
                account_id=s.request.account_id,
                plan_id=s.request.plan.id,
                created_at=s.created_at,
                expires_at=s.request.expires_at,
                checkout_url=f"https://pay.example/{sid}",
                success_url=s.request.success_url,
                cancel_url=s.request.cancel_url,
                locale=s.request.locale,
            )
            for sid, s in reversed(self.sessions.items())
            if s.created_at >= created_since
        ]

    async def get_subscription(self, subscription_id: str) -> SubscriptionState:
        self._check_up()
        return self.subscriptions[subscription_id]

    async def cancel_subscription(
        self, subscription_id: str, *, at_period_end: bool
    ) -> SubscriptionState:
        self._check_up()
        state = replace(
            self.subscriptions[subscription_id],
            cancel_at_period_end=at_period_end,
            as_of=datetime.now(UTC),
        )
        self.subscriptions[subscription_id] = state
        return state

    async def create_portal(self, request: PortalRequest) -> CreatedPortal:
        self._check_up()
        self.portals.append(request)
        return CreatedPortal(url=f"https://pay.example/portal/{request.subscription_id}")

    # Webhooks are read by the real stub adapter: real Standard Webhooks verification.
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        return self.webhook_reader.parse_webhook(body, headers)

    def read_event(self, payload: bytes) -> ProviderEvent:
        return self.webhook_reader.read_event(payload)

    async def aclose(self) -> None:
        await self.webhook_reader.aclose()

    # -- what a customer or the provider's clock does ------------------------
    def settle(
        self, session_id: str, outcome: CheckoutOutcome, error_code: str | None = None
    ) -> None:
        session = self.sessions[session_id]
        session.state = replace(
            session.state, outcome=outcome, error_code=error_code, as_of=datetime.now(UTC)
        )

    def pay(self, session_id: str, *, trial: bool = False) -> SubscriptionState:
        session = self.sessions[session_id]
        now = datetime.now(UTC)
        subscription = SubscriptionState(
            subscription_id=f"sub_fake_{next(_ids)}",
            account_id=session.request.account_id,
            plan_id=session.request.plan.id,
            status=SubscriptionStatus.TRIALING if trial else SubscriptionStatus.ACTIVE,
            current_period_start=now,
            current_period_end=now + timedelta(days=30),
            cancel_at_period_end=False,
            trial_end=now + timedelta(days=14) if trial else None,
            canceled_at=None,
            as_of=now,
        )
        self.subscriptions[subscription.subscription_id] = subscription
        session.state = replace(
            session.state,
            outcome=CheckoutOutcome.PAID,
            subscription_id=subscription.subscription_id,
            as_of=now,
        )
        return subscription

    def session_of(self, attempt_id: str) -> str:
        return next(
            sid for sid, s in self.sessions.items() if s.request.payment_attempt_id == attempt_id
        )
