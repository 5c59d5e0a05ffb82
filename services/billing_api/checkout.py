"""Checkout: start a payment attempt, and tell its owner how it ended."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select

from services.billing_api.catalog import Plan
from services.billing_api.context import BillingContext
from services.billing_api.idempotency import StoredAnswer, request_fingerprint, run_once
from services.billing_api.lifecycle import record_checkout_result
from services.billing_api.models import (
    AttemptStatus,
    PaymentAttempt,
    Subscription,
    SubscriptionStatus,
)
from services.billing_api.provider_adapter import (
    CheckoutOutcome,
    CheckoutRequest,
    CreatedCheckout,
    ProviderUnavailable,
)
from services.billing_api.schemas import (
    AttemptError,
    CheckoutStartIn,
    CheckoutStartOut,
    CheckoutStatusOut,
)
from services.billing_api.subscriptions import current_subscription
from services.common.error_codes import ErrorCode, known_code, spec_for
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.types import utcnow

_ATTEMPT_ERROR_BY_STATUS = {
    AttemptStatus.CANCELED: ErrorCode.CHECKOUT_CANCELED,
    AttemptStatus.EXPIRED: ErrorCode.CHECKOUT_EXPIRED,
}


def purchasable_plan(context: BillingContext, plan_id: str) -> Plan:
    plan = context.catalog.get(plan_id)
    if plan is None:
        raise AppError(ErrorCode.PLAN_NOT_FOUND, details={"planId": plan_id})
    if not plan.purchasable:
        raise AppError(ErrorCode.PLAN_NOT_PURCHASABLE, details={"planId": plan_id})
    return plan


def check_redirect(url: str, allowed_origins: list[str], field: str) -> None:
    """Only absolute http(s) URLs on an allow-listed origin: no open redirects."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    allowed = {o.rstrip("/").lower() for o in allowed_origins}
    if (
        parts.scheme not in ("http", "https")
        or "@" in parts.netloc
        or origin not in allowed
        or any(ch.isspace() for ch in url)
        or not url.isprintable()  # NUL and other control characters
    ):
        # Naming the allowed origins tells an integrator what to fix; they are public
        # anyway (each is where our own pages live).
        raise AppError(
            ErrorCode.REDIRECT_URL_NOT_ALLOWED,
            details={"field": field, "allowedOrigins": sorted(allowed)},
        )


def with_attempt_id(url: str, attempt_id: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k != "paymentAttemptId"]
    query.append(("paymentAttemptId", attempt_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def start_checkout(
    context: BillingContext, account_id: str, body: CheckoutStartIn, idempotency_key: str | None
) -> StoredAnswer:
    plan = purchasable_plan(context, body.plan_id)
    origins = context.settings.allowed_redirect_origins
    check_redirect(body.success_url, origins, "successUrl")
    check_redirect(body.cancel_url, origins, "cancelUrl")
    attempt_id = new_id("pa")
    expires_at = utcnow() + timedelta(minutes=context.settings.checkout_session_ttl_minutes)
    request = CheckoutRequest(
        payment_attempt_id=attempt_id,
        account_id=account_id,
        plan=plan,
        success_url=with_attempt_id(body.success_url, attempt_id),
        cancel_url=with_attempt_id(body.cancel_url, attempt_id),
        locale=body.locale,
        expires_at=expires_at,
    )

    async def prepare() -> CreatedCheckout:
        async with context.reads() as session:
            subscription = await current_subscription(session, account_id)
            if subscription and SubscriptionStatus(subscription.status).is_current:
                raise AppError(ErrorCode.ALREADY_SUBSCRIBED)
        try:
            return await context.provider.create_checkout(request)
        except ProviderUnavailable as exc:
            raise AppError(ErrorCode.PROVIDER_UNAVAILABLE, headers={"Retry-After": "5"}) from exc

    async def finish(session: Any, created: CreatedCheckout) -> StoredAnswer:
        session.add(
            PaymentAttempt(
                id=attempt_id,
                account_id=account_id,
                plan_id=plan.id,
                status=AttemptStatus.PENDING,
                provider=context.provider.name,
                provider_session_id=created.session_id,
                checkout_url=created.checkout_url,
                success_url=request.success_url,
                cancel_url=request.cancel_url,
                locale=body.locale,
                expires_at=created.expires_at,
            )
        )
        out = CheckoutStartOut(
            payment_attempt_id=attempt_id,
            status="pending",
            checkout_url=created.checkout_url,
            expires_at=created.expires_at,
        )
        return StoredAnswer(201, out.model_dump(mode="json", by_alias=True))

    async def finish_or_expire(session: Any, created: CreatedCheckout) -> StoredAnswer:
        try:
            answer = await finish(session, created)
            await session.flush()
            return answer
        except BaseException:
            # Our record failed: end the provider's session so no one can pay an attempt we lost.
            with contextlib.suppress(ProviderUnavailable):
                await context.provider.expire_checkout(created.session_id)
            raise

    if idempotency_key is None:
        created = await prepare()
        async with context.sessions() as session, session.begin():
            answer = await finish_or_expire(session, created)
    else:
        answer = await run_once(
            context.sessions,
            account_id=account_id,
            key=idempotency_key,
            fingerprint=request_fingerprint(
                "checkout/start", body.model_dump(mode="json", by_alias=True)
            ),
            ttl=timedelta(hours=context.settings.idempotency_key_ttl_hours),
            prepare=prepare,
            finish=finish_or_expire,
        )
    await _end_superseded(context, account_id)
    return answer


async def _end_superseded(context: BillingContext, account_id: str) -> None:
    """End every open checkout of the account but its newest, at the provider.

    Two open checkouts (two tabs, a retry without a key) could both be paid, and the
    customer charged twice for one plan; only the newest may stay payable. "Newest"
    is one total order, (created_at, id), that every start agrees on, so starts
    running at once never end each other's and all of them: each pass spares the
    same newest one, and a start recorded after another's pass ends the older
    ones itself. A session already paid is not ended: the provider settles once,
    and we record what it says. If the provider cannot be reached now, an older
    session still ends at its own expiry.
    """
    async with context.reads() as session:
        pending = (
            await session.scalars(
                select(PaymentAttempt)
                .where(
                    PaymentAttempt.account_id == account_id,
                    PaymentAttempt.status == AttemptStatus.PENDING,
                )
                .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
            )
        ).all()
    for attempt in pending[:-1]:
        try:
            await context.provider.expire_checkout(attempt.provider_session_id)
        except ProviderUnavailable:
            continue
        # Records what the provider now says: expired, or paid if the customer was quicker.
        await _refresh_from_provider(context, attempt)


async def checkout_status(
    context: BillingContext, account_id: str, attempt_id: str, locale: str
) -> CheckoutStatusOut:
    async with context.reads() as session:
        attempt = await session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.id == attempt_id, PaymentAttempt.account_id == account_id
            )
        )
    if attempt is None:
        # Another account's attempt answers the same as a missing one: existence does not leak.
        raise AppError(ErrorCode.PAYMENT_ATTEMPT_NOT_FOUND)
    if attempt.status == AttemptStatus.PENDING:
        attempt = await _refresh_from_provider(context, attempt)
    subscription_status = None
    if attempt.provider_subscription_id is not None:
        async with context.reads() as session:
            subscription_status = await session.scalar(
                select(Subscription.status).where(
                    Subscription.provider_subscription_id == attempt.provider_subscription_id
                )
            )
    return CheckoutStatusOut(
        payment_attempt_id=attempt.id,
        status=AttemptStatus(attempt.status).value,
        plan_id=attempt.plan_id,
        subscription_status=subscription_status,
        error=_attempt_error(attempt, locale),
        updated_at=attempt.updated_at,
    )


def _attempt_error(attempt: PaymentAttempt, locale: str) -> AttemptError | None:
    if attempt.error_code is None:
        code = _ATTEMPT_ERROR_BY_STATUS.get(AttemptStatus(attempt.status))
        if code is None:
            return None
    else:
        # Stored from the provider's answer: a code we do not know reads as a processing error.
        code = known_code(attempt.error_code, default=ErrorCode.PROCESSING_ERROR)
    return AttemptError(code=code, message=spec_for(code).message(locale))


async def _refresh_from_provider(
    context: BillingContext, attempt: PaymentAttempt
) -> PaymentAttempt:
    """Ask the provider, so a user back before the webhook still sees the true result.

    If the provider cannot answer, the attempt stays as recorded (pending): the
    page keeps polling and the webhook will settle it.
    """
    try:
        state = await context.provider.get_checkout(attempt.provider_session_id)
        if state.outcome == CheckoutOutcome.OPEN:
            return attempt
        subscription = None
        if state.subscription_id is not None:
            subscription = await context.provider.get_subscription(state.subscription_id)
    except ProviderUnavailable:
        return attempt
    async with context.sessions() as session, session.begin():
        # Announced like a webhook's change: a buyer back before the webhook is the
        # common case, and the webhook's same facts later announce nothing.
        recorded, _ = await record_checkout_result(
            session,
            attempt.id,
            state,
            subscription,
            provider=context.provider.name,
            source="status_poll",
            subscribers=context.settings.events_subscribers,
        )
    return recorded
