"""Recording webhook events: in the same transaction as the change they report.

If the change commits, its event will be sent (the delivery worker reads this
table); if it rolls back, no event exists for something that did not happen.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.ids import new_id
from services.common.types import utcnow
from services.sandbox_provider.clock import unix
from services.sandbox_provider.models import DeliveryStatus, WebhookEvent


def envelope(event_id: str, event_type: str, created: datetime, obj: BaseModel) -> str:
    """Stripe's event envelope, serialised once: these bytes are what gets signed."""
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": unix(created),
        "data": {"object": obj.model_dump(mode="json")},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def record_event(
    session: AsyncSession, event_type: str, obj: BaseModel, *, at: datetime, ordering_key: str
) -> WebhookEvent:
    """Add an event to the outbox; ``at`` is when it happened on the sandbox clock."""
    event_id = new_id("evt")
    now = utcnow()
    event = WebhookEvent(
        id=event_id,
        type=event_type,
        ordering_key=ordering_key,
        created_at=at,
        payload=envelope(event_id, event_type, at, obj),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        recorded_at=now,
    )
    session.add(event)
    return event
