"""What the planner's routes share, built once per app in its lifespan, and the
dependencies that hand it (and the account's access) to a route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import CurrentAccount, bearer_token
from services.common.settings import Settings
from services.planner.access_lookup import AccessAnswer, AccessLookup
from services.planner.billing_client import BillingClient
from services.planner.compile_slots import CompileSlots
from services.planner.gating import upgrade_url


@dataclass
class PlannerContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    billing: BillingClient
    access: AccessLookup
    slots: CompileSlots

    @property
    def upgrade_url(self) -> str:
        return upgrade_url(self.settings.landing_base_url)


# ``async def`` although they never await: FastAPI runs a plain ``def`` dependency in its
# thread pool, a thread hop per dependency per request.
async def planner_context(request: Request) -> PlannerContext:
    context: PlannerContext = request.app.state.planner
    return context


Planner = Annotated[PlannerContext, Depends(planner_context)]
BearerToken = Annotated[str, Depends(bearer_token)]


async def account_access(
    planner: Planner, account_id: CurrentAccount, token: BearerToken
) -> AccessAnswer:
    """The signed-in account's access for this request (never fails; see access_lookup)."""
    return await planner.access.resolve(account_id, token)


async def compile_slots(planner: Planner) -> CompileSlots:
    return planner.slots


AccountAccess = Annotated[AccessAnswer, Depends(account_access)]
Slots = Annotated[CompileSlots, Depends(compile_slots)]
