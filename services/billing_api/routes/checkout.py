"""``/api/billing/checkout``: start a checkout attempt and read its status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from services.billing_api import checkout
from services.billing_api.context import Billing
from services.billing_api.schemas import CheckoutStartIn, CheckoutStartOut, CheckoutStatusOut
from services.common.auth import CurrentAccount
from services.common.error_codes import ErrorCode
from services.common.errors import error_responses, preferred_locale

router = APIRouter(prefix="/api/billing/checkout", tags=["checkout"])


@router.post(
    "/start",
    status_code=201,
    response_model=CheckoutStartOut,
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.INVALID_JSON,
        ErrorCode.UNAUTHENTICATED,
        ErrorCode.PLAN_NOT_FOUND,
        ErrorCode.PLAN_NOT_PURCHASABLE,
        ErrorCode.ALREADY_SUBSCRIBED,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
        ErrorCode.IDEMPOTENCY_KEY_INVALID,
        ErrorCode.REDIRECT_URL_NOT_ALLOWED,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.PROVIDER_UNAVAILABLE,
    ),
)
async def start_checkout(
    body: CheckoutStartIn,
    billing: Billing,
    account_id: CurrentAccount,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Send a fresh random key per purchase. A retry with the same key and "
            "body gets the first answer again (for 24 h); the same key with another body "
            "is refused with `409 IDEMPOTENCY_KEY_REUSED`.",
        ),
    ] = None,
) -> JSONResponse:
    """Start a checkout for a paid plan; answers the provider's hosted checkout URL.

    `successUrl` and `cancelUrl` must be on an allowed origin (the landing site by
    default); `paymentAttemptId` is appended to both. An account with an active
    or trialing subscription gets `409 ALREADY_SUBSCRIBED`. If the payment
    provider cannot be reached the answer is `503 PROVIDER_UNAVAILABLE` and
    nothing is created.
    """
    answer = await checkout.start_checkout(billing, account_id, body, idempotency_key)
    return JSONResponse(answer.body, status_code=answer.status)


@router.get(
    "/status",
    response_model=CheckoutStatusOut,
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHENTICATED, ErrorCode.PAYMENT_ATTEMPT_NOT_FOUND
    ),
)
async def checkout_status(
    request: Request,
    billing: Billing,
    account_id: CurrentAccount,
    payment_attempt_id: Annotated[
        str, Query(alias="paymentAttemptId", min_length=1, max_length=64)
    ],
) -> CheckoutStatusOut:
    """How the signed-in account's payment attempt stands.

    While the attempt is pending, the provider is asked directly, so a user who
    returns before the webhook arrives still sees the true result. `error` carries
    the code and a user-facing message (by `Accept-Language`, Turkish or English)
    for failed, canceled and expired attempts. Another account's attempt answers
    `404 PAYMENT_ATTEMPT_NOT_FOUND`.
    """
    return await checkout.checkout_status(
        billing, account_id, payment_attempt_id, preferred_locale(request)
    )
