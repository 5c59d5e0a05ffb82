"""``GET /v1/events`` and ``POST /v1/webhooks/flush``: the events sent and their delivery."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.sandbox_provider.clock import unix
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.database import transaction
from services.sandbox_provider.delivery import list_events
from services.sandbox_provider.models import DeliveryStatus
from services.sandbox_provider.schemas import DeliveryOut, EventList, EventOut, FlushOut

router = APIRouter(
    prefix="/v1",
    tags=["events and webhooks"],
    dependencies=[Depends(require_api_key)],
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)


@router.get(
    "/events", response_model=EventList, responses=error_responses(ErrorCode.VALIDATION_ERROR)
)
async def get_events(
    sandbox: Sandbox,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    event_type: Annotated[
        str | None, Query(alias="type", description="Only events of this type.")
    ] = None,
) -> EventList:
    """Recent events, newest first, each with its delivery status."""
    async with transaction(sandbox.sessions) as session:
        rows = await list_events(session, limit=limit, event_type=event_type)
    data = []
    for row in rows:
        envelope = json.loads(row.payload)
        pending = row.status == DeliveryStatus.PENDING
        data.append(
            EventOut(
                id=row.id,
                type=row.type,
                created=envelope["created"],
                data=envelope["data"],
                delivery=DeliveryOut(
                    status=row.status,
                    attempts=row.attempts,
                    next_attempt_at=unix(row.next_attempt_at) if pending else None,
                    last_status_code=row.last_status_code,
                    last_error=row.last_error,
                    delivered_at=unix(row.delivered_at) if row.delivered_at else None,
                ),
            )
        )
    return EventList(data=data)


@router.post("/webhooks/flush", response_model=FlushOut)
async def flush_webhooks(
    sandbox: Sandbox,
    include_scheduled: Annotated[
        bool, Query(description="Also send events still waiting out a retry backoff.")
    ] = False,
) -> FlushOut:
    """Try to deliver every due event now, each at most once; answers the counts.

    Tests call this instead of waiting for the delivery worker.
    """
    result = await sandbox.sender.deliver_due(include_scheduled=include_scheduled)
    return FlushOut(
        attempted=result.attempted,
        delivered=result.delivered,
        failed=result.failed,
        pending=await sandbox.sender.pending_count(),
    )
