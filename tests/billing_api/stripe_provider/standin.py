"""A Stripe stand-in for billing_api's tests: Stripe's API and webhooks, in memory.

Objects are Stripe's own published fixtures (``data/stripe_fixtures.json``, from
the stripe/openapi repository) with the fields a scenario needs filled in, and
the API speaks Stripe's wire format: form-encoded bracket parameters, the
``{"error": {"type", "code", "message"}}`` envelope, ``Idempotency-Key`` replay
and refusal of a reused key with other parameters. What Stripe's hosted page and
billing engine do (a customer paying, a renewal failing, a session expiring) are
methods here that change the objects and queue the events Stripe would send,
signed with the SDK's ``WebhookSignature.generate_signature_header``.

This mocks only the real Stripe API; billing_api's adapter talks to it through
the real SDK and its real HTTP client.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.billing_api.providers.stripe import STRIPE_API_VERSION

FIXTURES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "stripe_fixtures.json").read_text()
)
SECRET = "whsec_standin_endpoint_secret_0123456789"
API_KEY = "sk_test_standin_0123456789"
DAY = 86400
_ids = itertools.count(1)

# Stripe's test cards: what the hosted page does with each.
DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
}
THREE_D_SECURE = "4000002760003184"
RENEWALS_FAIL = "4000000000000341"


def _new_id(prefix: str) -> str:
    return f"{prefix}_standin{next(_ids):06d}{time.monotonic_ns() % 10**6:06d}"


def _unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested values."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)  # type: ignore[no-any-return]


def _error(status: int, kind: str, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "code": code, "message": message}}, status_code=status
    )


@dataclass
class Event:
    type: str
    body: bytes

    @property
    def id(self) -> str:
        return str(json.loads(self.body)["id"])


@dataclass
class Failure:
    status: int | None  # None: the connection drops
    path: str
    times: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class StripeStandin:
    clock_offset: int = 0
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)  # subscription -> card number
    requests: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _replays: dict[str, tuple[str, int, Any]] = field(default_factory=dict)

    # -- the API ---------------------------------------------------------------
    def app(self) -> Starlette:
        routes = [
            Route("/v1/customers", self._create_customer, methods=["POST"]),
            Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
            Route("/v1/checkout/sessions", self._list_sessions, methods=["GET"]),
            Route("/v1/checkout/sessions/{id}", self._get_session, methods=["GET"]),
            Route("/v1/checkout/sessions/{id}/expire", self._expire_session, methods=["POST"]),
            Route("/v1/subscriptions/{id}", self._get_subscription, methods=["GET"]),
            Route("/v1/subscriptions/{id}", self._update_subscription, methods=["POST"]),
            Route("/v1/billing_portal/sessions", self._create_portal, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    def http_client(self) -> stripe.HTTPXClient:
        """The SDK's own async HTTP client, with its transport pointed at this stand-in."""
        client = stripe.HTTPXClient(timeout=5)
        client._client_async = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app()))
        return client

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def fail_next(self, status: int | None, *, path: str = "/v1/", times: int = 1) -> None:
        """The next ``times`` requests under ``path`` fail (``None``: the connection drops)."""
        kinds = {401: "invalid_request_error", 402: "card_error", 429: "invalid_request_error"}
        body = {"error": {"type": kinds.get(status or 0, "api_error"), "message": "scripted"}}
        if status == 402:
            body["error"].update(code="card_declined", decline_code="insufficient_funds")
        self.failures.append(Failure(status, path, times, body))

    async def _handle(self, request: Request, answer: Any) -> JSONResponse:
        form = await request.form()
        params = _unflatten((k, str(v)) for k, v in form.multi_items())
        key = request.headers.get("idempotency-key")
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "params": params,
                "idempotency_key": key,
                "stripe_version": request.headers.get("stripe-version"),
                "authorization": request.headers.get("authorization"),
            }
        )
        for failure in self.failures:
            if failure.times and request.url.path.startswith(failure.path):
                failure.times -= 1
                if failure.status is None:
                    raise ConnectionResetError("scripted connection drop")
                return JSONResponse(failure.body, status_code=failure.status)
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        fingerprint = json.dumps([request.url.path, params], sort_keys=True)
        if key is not None and key in self._replays:
            seen, status, body = self._replays[key]
            if seen != fingerprint:
                return _error(400, "idempotency_error", "Keys for idempotent requests can only "
                              "be used with the same parameters.")  # fmt: skip
            return JSONResponse(body, status_code=status)
        response: JSONResponse = answer(request, params)
        if key is not None and request.method == "POST":
            replay = json.loads(bytes(response.body))
            self._replays[key] = (fingerprint, response.status_code, replay)
        return response

    def _missing(self, kind: str, object_id: str) -> JSONResponse:
        return _error(404, "invalid_request_error", f"No such {kind}: '{object_id}'",
                      "resource_missing")  # fmt: skip

    async def _create_customer(self, request: Request) -> JSONResponse:
        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            customer = copy.deepcopy(FIXTURES["customer"])
            customer.update(id=_new_id("cus"), created=self.now(), metadata=params["metadata"])
            self.customers[customer["id"]] = customer
            return JSONResponse(customer)

        return await self._handle(request, answer)

    async def _create_session(self, request: Request) -> JSONResponse:
        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            if params.get("customer") not in self.customers:
                return self._missing("customer", str(params.get("customer")))
            if int(params["expires_at"]) < self.now() + 30 * 60:
                return _error(400, "invalid_request_error", "expires_at too soon")
            session = copy.deepcopy(FIXTURES["checkout.session"])
            session_id = _new_id("cs_test")
            session.update(
                id=session_id,
                created=self.now(),
                mode=params["mode"],
                customer=params["customer"],
                client_reference_id=params["client_reference_id"],
                metadata=params["metadata"],
                success_url=params["success_url"],
                cancel_url=params["cancel_url"],
                expires_at=int(params["expires_at"]),
                locale=params.get("locale"),
                status="open",
                payment_status="unpaid",
                payment_intent=None,
                subscription=None,
                url=f"https://checkout.stripe.com/c/pay/{session_id}",
            )
            session["_params"] = params  # kept for the hosted page; not sent
            session["_seq"] = next(_ids)  # orders sessions created in one second
            self.sessions[session_id] = session
            return JSONResponse(_public(session))

        return await self._handle(request, answer)

    async def _list_sessions(self, request: Request) -> JSONResponse:
        """Newest first, ``created[gte]``, ``limit`` and ``starting_after``, as Stripe lists."""

        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            query = _unflatten(request.query_params.multi_items())
            since = int(query.get("created", {}).get("gte", 0))
            limit = int(query.get("limit", 10))
            listed = sorted(
                (s for s in self.sessions.values() if s["created"] >= since),
                key=lambda s: (s["created"], s["_seq"]),
                reverse=True,
            )
            if "starting_after" in query:
                ids = [s["id"] for s in listed]
                listed = listed[ids.index(query["starting_after"]) + 1 :]
            page = [_public(s) for s in listed[:limit]]
            return JSONResponse(
                {
                    "object": "list",
                    "url": "/v1/checkout/sessions",
                    "has_more": len(listed) > limit,
                    "data": page,
                }
            )

        return await self._handle(request, answer)

    async def _get_session(self, request: Request) -> JSONResponse:
        session_id = request.path_params["id"]

        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            if session_id not in self.sessions:
                return self._missing("checkout.session", session_id)
            return JSONResponse(_public(self.sessions[session_id]))

        return await self._handle(request, answer)

    async def _expire_session(self, request: Request) -> JSONResponse:
        session_id = request.path_params["id"]

        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            session = self.sessions.get(session_id)
            if session is None:
                return self._missing("checkout.session", session_id)
            if session["status"] != "open":
                return _error(400, "invalid_request_error", "Only Checkout Sessions with a "
                              "status in ['open'] can be expired.")  # fmt: skip
            self.expire(session_id)
            return JSONResponse(_public(session))

        return await self._handle(request, answer)

    async def _get_subscription(self, request: Request) -> JSONResponse:
        sub_id = request.path_params["id"]

        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            if sub_id not in self.subscriptions:
                return self._missing("subscription", sub_id)
            return JSONResponse(self.subscriptions[sub_id])

        return await self._handle(request, answer)

    async def _update_subscription(self, request: Request) -> JSONResponse:
        sub_id = request.path_params["id"]

        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            subscription = self.subscriptions.get(sub_id)
            if subscription is None:
                return self._missing("subscription", sub_id)
            if "cancel_at_period_end" in params:
                wanted = params["cancel_at_period_end"] == "true"
                previous = {"cancel_at_period_end": subscription["cancel_at_period_end"]}
                subscription["cancel_at_period_end"] = wanted
                subscription["cancel_at"] = _period(subscription)[1] if wanted else None
                self._emit("customer.subscription.updated", subscription, previous)
            return JSONResponse(subscription)

        return await self._handle(request, answer)

    async def _create_portal(self, request: Request) -> JSONResponse:
        def answer(_: Request, params: dict[str, Any]) -> JSONResponse:
            if params.get("customer") not in self.customers:
                return self._missing("customer", str(params.get("customer")))
            portal = copy.deepcopy(FIXTURES["billing_portal.session"])
            portal_id = _new_id("bps")
            portal.update(
                id=portal_id,
                created=self.now(),
                customer=params["customer"],
                return_url=params["return_url"],
                flow=None,
                url=f"https://billing.stripe.com/p/session/test_{portal_id}",
            )
            return JSONResponse(portal)

        return await self._handle(request, answer)

    # -- what the hosted page and the billing engine do -----------------------
    def session_of(self, attempt_id: str) -> dict[str, Any]:
        return next(s for s in self.sessions.values() if s["client_reference_id"] == attempt_id)

    def pay(self, session_id: str, card: str = "4242424242424242", *, three_ds: str = "approve"
            ) -> str | None:  # fmt: skip
        """The customer submits the hosted page. A decline stays on the page (the session
        stays open, as Stripe's does) and answers Stripe's decline code."""
        card = card.replace(" ", "")
        session = self.sessions[session_id]
        assert session["status"] == "open", session["status"]
        if card in DECLINES:
            return DECLINES[card]
        if card == THREE_D_SECURE and three_ds != "approve":
            return "authentication_required"
        params = session["_params"]
        trial_days = int(params["subscription_data"].get("trial_period_days", 0))
        now = self.now()
        subscription = copy.deepcopy(FIXTURES["subscription"])
        sub_id = _new_id("sub")
        item = subscription["items"]["data"][0]
        item["price"]["id"] = params["line_items"][0]["price"]
        item.update(
            id=_new_id("si"),
            subscription=sub_id,
            current_period_start=now,
            current_period_end=now + (trial_days or 30) * DAY,
        )
        subscription["items"]["url"] = f"/v1/subscription_items?subscription={sub_id}"
        subscription.update(
            id=sub_id,
            created=now,
            start_date=now,
            billing_cycle_anchor=now,
            customer=session["customer"],
            metadata=params["subscription_data"]["metadata"],
            status="trialing" if trial_days else "incomplete",
            trial_start=now if trial_days else None,
            trial_end=now + trial_days * DAY if trial_days else None,
            cancel_at_period_end=False,
            cancel_at=None,
            canceled_at=None,
            ended_at=None,
            pause_collection=None,
            pending_update=None,
        )
        self.subscriptions[sub_id] = subscription
        self.cards[sub_id] = card
        self._emit("customer.subscription.created", subscription)
        self._invoice("invoice.paid", subscription, 0 if trial_days else 29900)
        if not trial_days:
            # Checkout creates the subscription incomplete and activates it when the first
            # invoice is paid, usually within the same second.
            self._set_status(subscription, "active")
        session.update(
            status="complete",
            payment_status="no_payment_required" if trial_days else "paid",
            subscription=sub_id,
        )
        self._emit("checkout.session.completed", _public(session))
        return None

    def expire(self, session_id: str) -> None:
        session = self.sessions[session_id]
        session["status"] = "expired"
        self._emit("checkout.session.expired", _public(session))

    def async_payment_fails(self, session_id: str) -> None:
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="unpaid")
        self._emit("checkout.session.async_payment_failed", _public(session))

    def advance(self, days: float) -> None:
        """Let time pass: trials end, periods renew or end, failed renewals give up."""
        self.clock_offset += int(days * DAY)
        now = self.now()
        for sub_id, subscription in list(self.subscriptions.items()):
            status = subscription["status"]
            start, end = _period(subscription)
            if status in ("canceled", "incomplete_expired"):
                continue
            gives_up = status == "past_due" and now >= start + 7 * DAY
            if gives_up or (now >= end and subscription["cancel_at_period_end"]):
                self._cancel(subscription)
            elif now >= end:
                item = subscription["items"]["data"][0]
                item["current_period_start"] = end
                item["current_period_end"] = end + 30 * DAY
                if self.cards[sub_id] == RENEWALS_FAIL and status != "trialing":
                    self._invoice("invoice.payment_failed", subscription, 29900)
                    self._set_status(subscription, "past_due")
                else:
                    self._invoice("invoice.paid", subscription, 29900)
                    self._set_status(subscription, "active")

    def _cancel(self, subscription: dict[str, Any]) -> None:
        subscription.update(status="canceled", canceled_at=self.now(), ended_at=self.now())
        self._emit("customer.subscription.deleted", subscription)

    def _set_status(self, subscription: dict[str, Any], status: str) -> None:
        previous = {"status": subscription["status"]}
        subscription["status"] = status
        self._emit("customer.subscription.updated", subscription, previous)

    def _invoice(self, event_type: str, subscription: dict[str, Any], amount: int) -> None:
        invoice = copy.deepcopy(FIXTURES["invoice"])
        invoice.update(
            id=_new_id("in"),
            created=self.now(),
            customer=subscription["customer"],
            billing_reason="subscription_cycle",
            amount_due=amount,
            amount_paid=amount if event_type == "invoice.paid" else 0,
            status="paid" if event_type == "invoice.paid" else "open",
            parent={
                "quote_details": None,
                "subscription_details": {
                    "metadata": subscription["metadata"],
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            },
        )
        self._emit(event_type, invoice)

    def _emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> None:
        envelope = copy.deepcopy(FIXTURES["event"])
        envelope.update(
            id=_new_id("evt"),
            api_version=STRIPE_API_VERSION,
            created=self.now(),
            type=event_type,
            data={"object": copy.deepcopy(obj)},
            pending_webhooks=1,
        )
        if previous is not None:
            envelope["data"]["previous_attributes"] = previous
        self.events.append(Event(event_type, json.dumps(envelope).encode()))

    # -- delivering webhooks ---------------------------------------------------------
    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events


def signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}


def _period(subscription: dict[str, Any]) -> tuple[int, int]:
    item = subscription["items"]["data"][0]
    return int(item["current_period_start"]), int(item["current_period_end"])


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}
