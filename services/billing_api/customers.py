"""Which provider customer belongs to which account: created once, then reused.

A provider that keeps customers (Stripe) asks here before creating one, and
records the one it created. Two first checkouts of one account racing each
other both create with the same provider idempotency key, so they get the same
customer; the insert below keeps the first record and both read it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.billing_api.models import ProviderCustomer
from services.common.types import utcnow


@dataclass(frozen=True)
class CustomerDirectory:
    provider: str
    sessions: async_sessionmaker[AsyncSession]

    async def find(self, account_id: str) -> str | None:
        async with self.sessions() as session:
            found: str | None = await session.scalar(
                select(ProviderCustomer.customer_id).where(
                    ProviderCustomer.provider == self.provider,
                    ProviderCustomer.account_id == account_id,
                )
            )
        return found

    async def remember(self, account_id: str, customer_id: str) -> str:
        """Record the customer unless one is already recorded; answers the recorded one."""
        async with self.sessions() as session, session.begin():
            dialect = (await session.connection()).dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            await session.execute(
                insert(ProviderCustomer)
                .values(
                    provider=self.provider,
                    account_id=account_id,
                    customer_id=customer_id,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["provider", "account_id"])
            )
        recorded = await self.find(account_id)
        assert recorded is not None
        return recorded
