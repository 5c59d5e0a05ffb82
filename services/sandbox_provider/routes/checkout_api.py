"""``/v1/checkout/sessions``: create, list, read and expire hosted checkout sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.common.types import MAX_UNIX_SECONDS, from_unix
from services.sandbox_provider import checkout
from services.sandbox_provider.clock import sandbox_now
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.database import transaction
from services.sandbox_provider.models import Outcome
from services.sandbox_provider.schemas import (
    CheckoutSessionCreate,
    CheckoutSessionList,
    CheckoutSessionObject,
)

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
    "",
    response_model=CheckoutSessionList,
    responses=error_responses(ErrorCode.VALIDATION_ERROR, ErrorCode.NOT_FOUND),
)
async def list_checkout_sessions(
    sandbox: Sandbox,
    created_gte: Annotated[
        int | None,
        Query(
            alias="created[gte]",
            ge=0,
            le=MAX_UNIX_SECONDS,
            description="Only sessions created at or after this unix second (sandbox clock).",
        ),
    ] = None,
    starting_after: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[A-Za-z0-9_]+$",  # an id: no NUL for PostgreSQL to refuse with a 500
            description="The last session id of the previous page; 404 if no such session.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> CheckoutSessionList:
    """Sessions, newest first, a page at a time (Stripe's list shape and parameters).

    billing_api's reconciliation lists recent sessions to find any it never recorded.
    """
    created_since: datetime | None = None if created_gte is None else from_unix(created_gte)
    async with transaction(sandbox.sessions) as session:
        now = await sandbox_now(session)
        rows, has_more = await checkout.list_sessions(
            session,
            created_since=created_since,
            starting_after=starting_after,
            limit=limit,
            now=now,
        )
    return CheckoutSessionList(
        data=[CheckoutSessionObject.of(row) for row in rows], has_more=has_more
    )


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
