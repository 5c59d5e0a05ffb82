"""Saved plans: one account's plan documents, kept as sent.

Every query names the account, so another account's plan is simply not found
(404, never 403: existence does not leak). Ids carry 96 random bits. Nothing
here checks the tier: the routes ask ``gating`` first, and a downgrade never
deletes or hides a plan, it only stops creating and changing them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.ids import new_id
from services.common.types import utcnow
from services.planner.engine import PlanDocument
from services.planner.models import SavedPlan

MAX_NAME = 200
MAX_ID = 40


def _name(doc: PlanDocument) -> str:
    return (doc.project.name.strip() or doc.project.id)[:MAX_NAME]


def create(session: AsyncSession, account_id: str, doc: PlanDocument, body: str) -> SavedPlan:
    now = utcnow()
    plan = SavedPlan(
        id=new_id("plan"),
        account_id=account_id,
        name=_name(doc),
        document=body,
        task_count=len(doc.tasks),
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    return plan


async def find(
    session: AsyncSession, account_id: str, plan_id: str, *, for_update: bool = False
) -> SavedPlan:
    """The account's plan ``plan_id``; ``SAVED_PLAN_NOT_FOUND`` when it is not theirs."""
    if len(plan_id) > MAX_ID:
        raise AppError(ErrorCode.SAVED_PLAN_NOT_FOUND)  # no id is that long: not worth a query
    query = select(SavedPlan).where(SavedPlan.id == plan_id, SavedPlan.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    plan = await session.scalar(query)
    if plan is None:
        raise AppError(ErrorCode.SAVED_PLAN_NOT_FOUND)
    return plan


async def newest(session: AsyncSession, account_id: str, limit: int) -> Sequence[SavedPlan]:
    query = (
        select(SavedPlan)
        .where(SavedPlan.account_id == account_id)
        .order_by(SavedPlan.updated_at.desc(), SavedPlan.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


def replace(plan: SavedPlan, doc: PlanDocument, body: str) -> None:
    plan.name = _name(doc)
    plan.document = body
    plan.task_count = len(doc.tasks)
    plan.updated_at = utcnow()
