"""``/v1/test_clock``: read and advance the sandbox's test clock."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.common.error_codes import ErrorCode
from services.common.errors import error_responses
from services.sandbox_provider import scheduler
from services.sandbox_provider.clock import unix
from services.sandbox_provider.context import Sandbox, require_api_key
from services.sandbox_provider.schemas import AdvanceClockIn, ClockOut

router = APIRouter(
    prefix="/v1/test_clock",
    tags=["test clock"],
    dependencies=[Depends(require_api_key)],
    responses=error_responses(ErrorCode.UNAUTHENTICATED),
)


def _out(state: scheduler.ClockState) -> ClockOut:
    return ClockOut(
        now=unix(state.now), offsetSeconds=state.offset_seconds, processed=state.processed
    )


@router.get("", response_model=ClockOut, response_model_exclude_none=True)
async def get_test_clock(sandbox: Sandbox) -> ClockOut:
    """The sandbox's now (unix seconds) and how far it runs ahead of real time."""
    return _out(await scheduler.read_clock(sandbox.sessions))


@router.post(
    "/advance",
    response_model=ClockOut,
    response_model_exclude_none=True,
    responses=error_responses(ErrorCode.VALIDATION_ERROR),
)
async def advance_test_clock(body: AdvanceClockIn, sandbox: Sandbox) -> ClockOut:
    """Move the sandbox clock forward by `days` and/or `seconds`.

    Everything due in between runs first, in time order: session expiry, trial
    ends, renewals, dunning retries and cancels at period end, each with its
    webhooks. The clock never moves back.
    """
    state = await scheduler.advance(sandbox.sessions, sandbox.config, seconds=body.total_seconds)
    return _out(state)
