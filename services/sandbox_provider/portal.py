"""Portal sessions: a customer's visit to the hosted page that replaces a card.

Like Stripe's billing portal, reduced to the one thing gw_stack needs: a new card
for an existing subscription, which also pays an overdue renewal at once.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.ids import new_id
from services.sandbox_provider.models import PortalSession, Subscription
from services.sandbox_provider.schemas import PortalSessionCreate

LIFETIME = timedelta(hours=1)


def create_session(
    session: AsyncSession,
    subscription: Subscription,
    body: PortalSessionCreate,
    *,
    now: datetime,
    public_base_url: str,
) -> PortalSession:
    portal_id = new_id("bps")
    row = PortalSession(
        id=portal_id,
        subscription_id=subscription.id,
        url=f"{public_base_url.rstrip('/')}/portal/{portal_id}",
        return_url=body.return_url,
        locale=body.locale,
        form_token=secrets.token_urlsafe(24),
        expires_at=now + LIFETIME,
        created_at=now,
    )
    session.add(row)
    return row


async def find_open(
    session: AsyncSession, portal_id: str, *, now: datetime
) -> PortalSession | None:
    """The session if it exists and has not expired."""
    if len(portal_id) > 40:
        return None
    row = await session.get(PortalSession, portal_id)
    if row is None or row.expires_at <= now:
        return None
    return row


def token_matches(row: PortalSession, token: str) -> bool:
    return hmac.compare_digest(row.form_token.encode(), token.encode())
