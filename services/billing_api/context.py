"""What billing_api's routes and workers share, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.catalog import Catalog
from services.billing_api.provider_adapter import PaymentProvider
from services.common.settings import Settings


@dataclass
class BillingContext:
    settings: Settings
    catalog: Catalog
    provider: PaymentProvider
    sessions: async_sessionmaker[AsyncSession]


def billing_context(request: Request) -> BillingContext:
    context: BillingContext = request.app.state.billing
    return context


Billing = Annotated[BillingContext, Depends(billing_context)]
