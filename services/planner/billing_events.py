"""Billing events in: ``subscription.updated`` from billing_api's outbox.

Verified (Standard Webhooks, ``BILLING_EVENTS_SECRET``) on the raw body before
anything is parsed. The receipt row, keyed by ``webhook-id``, is inserted in the
same transaction as the event's effect, so a redelivered event changes nothing
and an event is never half taken in. What a ``subscription.updated`` does to
the stored access is ``known_access.record``'s newer-wins rule, the one reads
use too. Event types this planner does not know are acknowledged and ignored,
so billing_api can announce more without breaking older planners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import standardwebhooks
import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.types import utcnow
from services.planner import known_access
from services.planner.billing_client import BillingSubscription
from services.planner.models import BillingEventReceipt

log = structlog.get_logger("gw_stack.planner.billing_events")

SUBSCRIPTION_UPDATED = "subscription.updated"
_SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_WEBHOOK_ID = 255


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    data: dict[str, Any]


class _SubscriptionUpdated(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")
    account_id: str
    subscription: BillingSubscription


@dataclass(frozen=True, slots=True)
class Receipt:
    webhook_id: str
    duplicate: bool
    account_id: str | None


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> str:
    """The ``webhook-id`` of a correctly signed, fresh body; else WEBHOOK_SIGNATURE_INVALID."""
    signed = {name: headers.get(name, "") for name in _SIGNED_HEADERS}
    try:
        # HMAC over "{id}.{timestamp}.{body}", constant-time compare, 5-minute tolerance.
        standardwebhooks.Webhook(secret).verify(body, signed, json_parse=False)
    except (standardwebhooks.WebhookVerificationError, ValueError) as exc:
        # ValueError: a body that is not UTF-8, or a signature that is not base64.
        log.warning("billing event signature refused", reason=type(exc).__name__)
        raise AppError(ErrorCode.WEBHOOK_SIGNATURE_INVALID) from exc
    return signed["webhook-id"]


def read(body: bytes) -> tuple[str, _SubscriptionUpdated | None]:
    """The event's type and, for ``subscription.updated``, its content."""
    try:
        event = _Event.model_validate_json(body)
        if event.type != SUBSCRIPTION_UPDATED:
            return event.type[:100], None
        update = _SubscriptionUpdated.model_validate(event.data)
    except ValidationError as exc:
        raise AppError(ErrorCode.WEBHOOK_PAYLOAD_INVALID) from exc
    if update.account_id != update.subscription.account_id:
        raise AppError(ErrorCode.WEBHOOK_PAYLOAD_INVALID)
    return event.type, update


async def take_in(
    sessions: async_sessionmaker[AsyncSession],
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Receipt:
    webhook_id = verify(secret, body, headers)
    if len(webhook_id) > MAX_WEBHOOK_ID:
        raise AppError(ErrorCode.WEBHOOK_PAYLOAD_INVALID)
    event_type, update = read(body)
    account_id = update.account_id if update else None
    async with sessions() as session, session.begin():
        if not await _first_receipt(session, webhook_id, event_type, account_id):
            return Receipt(webhook_id, duplicate=True, account_id=account_id)
        if update is not None:
            now = utcnow()
            await known_access.record(
                session,
                update.account_id,
                update.subscription,
                learned_from="event",
                as_of=now,
                now=now,
            )
    return Receipt(webhook_id, duplicate=False, account_id=account_id)


async def _first_receipt(
    session: AsyncSession, webhook_id: str, event_type: str, account_id: str | None
) -> bool:
    """Insert the receipt once per webhook id; False when it was already there."""
    dialect = (await session.connection()).dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(BillingEventReceipt)
        .values(
            webhook_id=webhook_id,
            event_type=event_type,
            account_id=account_id,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(BillingEventReceipt.webhook_id)
    )
    return (await session.scalar(statement)) is not None
