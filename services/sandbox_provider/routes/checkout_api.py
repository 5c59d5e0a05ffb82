"""``/v1/checkout/sessions``: create, read and expire hosted checkout sessions."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.sandbox_provider import checkout
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import Outcome
from services.sandbox_provider.schemas import CheckoutSessionCreate, CheckoutSessionObject

router = APIRouter(
    prefix="/v1/checkout/sessions",
    tags=["checkout sessions"],
    dependencies=[Depends(require_api_key)],
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)


@router.post(
    "", response_model=CheckoutSessionObject, responses=error_responses(ErrorCode.VALIDATION_ERROR)
)
async def create_checkout_session(
    body: CheckoutSessionCreate, sandbox: Sandbox
) -> CheckoutSessionObject:
    """Open a hosted checkout session for a subscription to `plan`.

    Send the browser to the answer's `url`. `expires_at` (unix seconds, real
    clock; default 24 h) sets the session's lifetime on the sandbox clock.
    """
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = checkout.create_session(
            session, body, now=now, public_base_url=sandbox.public_base_url
        )
    return CheckoutSessionObject.of(row)


@router.get(
    "/{session_id}",
    response_model=CheckoutSessionObject,
    responses=error_responses(ErrorCode.NOT_FOUND),
)
async def get_checkout_session(session_id: str, sandbox: Sandbox) -> CheckoutSessionObject:
    """The session as it is now: `outcome` tells how it ended, `subscription` once paid.

    A session past its `expires_at` reads as expired even before the clock worker
    has noticed.
    """
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.get_session(session, session_id, now=now)
    return CheckoutSessionObject.of(row)


@router.post(
    "/{session_id}/expire",
    response_model=CheckoutSessionObject,
    responses=error_responses(ErrorCode.NOT_FOUND),
)
async def expire_checkout_session(session_id: str, sandbox: Sandbox) -> CheckoutSessionObject:
    """End an open session (outcome `expired`) so it can no longer be paid.

    A session that already ended is returned unchanged.
    """
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        row = await checkout.get_session(session, session_id, now=now)
        await checkout.settle(session, row, Outcome.EXPIRED, at=now)
    return CheckoutSessionObject.of(row)
