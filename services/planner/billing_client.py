"""The planner's reads of billing_api: ``GET /api/billing/subscription`` with the user's token.

Guarantees, so that billing can never cost a user their schedule:

* a read never takes longer than ``PLANNER_BILLING_TIMEOUT_S`` in total; one
  retry on a connection error happens inside that budget, never after it;
* every outcome is either a ``SubscriptionRead`` (a subscription, or none) or a
  ``BillingFailure`` of exactly one ``FailureKind``; nothing is raised;
* after ``PLANNER_BILLING_BREAKER_FAILURES`` consecutive failures the circuit
  opens and reads fail at once (``circuit_open``) until, after the cooldown, a
  single probe is let through: its success closes the circuit, its failure
  opens it again.

One ``httpx.AsyncClient`` per app (built in the lifespan) keeps connections
pooled. Failure kinds::

    timeout            the budget ran out (billing slow or hanging)
    connection_error   no connection, reset, or the peer broke the protocol (after the retry)
    http_error         a status the contract does not give for this read (5xx, 403, a bare 404 …)
    invalid_response   not JSON, or JSON of another shape, or another account's subscription
    unauthorized       billing refused the user's token (401); billing itself is healthy
    circuit_open       not asked: billing failed too often just now
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from services.common.auth import ACCOUNT_ID
from services.common.request_context import current_request_id

SUBSCRIPTION_PATH = "/api/billing/subscription"


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    HTTP_ERROR = "http_error"
    INVALID_RESPONSE = "invalid_response"
    UNAUTHORIZED = "unauthorized"
    CIRCUIT_OPEN = "circuit_open"


class BillingSubscription(BaseModel):
    """billing_api's subscription object (DESIGN §5), as read from reads and events.

    Fields billing_api may add later are ignored, so billing can grow its contract
    without breaking planners already running.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    # Bounded as the planner's columns are, so a read or an event cannot overflow them.
    id: str = Field(min_length=1, max_length=64)
    account_id: str = Field(pattern=ACCOUNT_ID.pattern)
    plan_id: str = Field(min_length=1, max_length=64)
    status: str = Field(min_length=1, max_length=40)
    current_period_start: AwareDatetime | None = None
    current_period_end: AwareDatetime | None = None
    cancel_at_period_end: bool = False
    trial_end: AwareDatetime | None = None
    provider: str | None = None
    updated_at: AwareDatetime

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subscription: BillingSubscription


@dataclass(frozen=True, slots=True)
class SubscriptionRead:
    """billing_api answered: the account's current subscription, or ``None`` for none."""

    subscription: BillingSubscription | None


@dataclass(frozen=True, slots=True)
class BillingFailure:
    kind: FailureKind


ReadOutcome = SubscriptionRead | BillingFailure


class CircuitBreaker:
    """Consecutive-failure breaker with a half-open single probe.

    Not locked: the planner runs one event loop per process and these methods
    never await, so no two coroutines interleave inside them.
    """

    def __init__(
        self,
        *,
        failures_to_open: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = max(1, failures_to_open)
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        """May a read go to billing now? Takes the probe slot when half-open."""
        if self.opened_at is None:
            return True
        if self.probing or self.clock() - self.opened_at < self.cooldown_s:
            return False
        self.probing = True
        return True

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self.opened_at = None
        self.probing = False

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        if self.probing or self.consecutive_failures >= self.failures_to_open:
            self.opened_at = self.clock()
        self.probing = False


class BillingClient:
    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, budget_s: float, breaker: CircuitBreaker
    ) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + SUBSCRIPTION_PATH
        self.budget_s = budget_s
        self.breaker = breaker

    async def read_subscription(self, token: str, account_id: str) -> ReadOutcome:
        """The account's subscription as billing_api sees it now, or why not."""
        if not self.breaker.allow():
            return BillingFailure(FailureKind.CIRCUIT_OPEN)
        outcome = await self._read_within_budget(token, account_id)
        if isinstance(outcome, BillingFailure) and outcome.kind is not FailureKind.UNAUTHORIZED:
            self.breaker.record_failure()
        else:
            # A 401 is an answer about the token, not a sign that billing is unwell.
            self.breaker.record_success()
        return outcome

    async def _read_within_budget(self, token: str, account_id: str) -> ReadOutcome:
        deadline = time.monotonic() + self.budget_s
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": current_request_id()}
        try:
            async with asyncio.timeout(self.budget_s):
                for attempt in (1, 2):
                    remaining = max(deadline - time.monotonic(), 0.001)
                    try:
                        response = await self.http.get(self.url, headers=headers, timeout=remaining)
                    except httpx.TimeoutException:
                        return BillingFailure(FailureKind.TIMEOUT)
                    except httpx.TransportError:
                        if attempt == 2:
                            return BillingFailure(FailureKind.CONNECTION_ERROR)
                        continue  # once more, inside what is left of the budget
                    return _classify(response, account_id)
        except TimeoutError:
            return BillingFailure(FailureKind.TIMEOUT)
        raise AssertionError("unreachable")  # pragma: no cover


def _classify(response: httpx.Response, account_id: str) -> ReadOutcome:
    status = response.status_code
    if status == 401:
        return BillingFailure(FailureKind.UNAUTHORIZED)
    if status == 404:
        # Only billing's own "no subscription" answer means none; a bare 404 is a wrong URL.
        return (
            SubscriptionRead(None)
            if _error_code(response) == "SUBSCRIPTION_NOT_FOUND"
            else BillingFailure(FailureKind.HTTP_ERROR)
        )
    if status != 200:
        return BillingFailure(FailureKind.HTTP_ERROR)
    try:
        envelope = _Envelope.model_validate_json(response.content)
    except ValidationError:
        return BillingFailure(FailureKind.INVALID_RESPONSE)
    if envelope.subscription.account_id != account_id:
        return BillingFailure(FailureKind.INVALID_RESPONSE)  # never another account's access
    return SubscriptionRead(envelope.subscription)


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
