"""Provider adapters, one module each; ``provider_for`` picks the one PAYMENT_PROVIDER names.

The adapters are imported when chosen, so a deployment on the sandbox never loads the
Stripe SDK, and ``provider_adapter`` (the Protocol every adapter imports) imports none
of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from services.billing_api.catalog import Catalog
    from services.billing_api.provider_adapter import PaymentProvider
    from services.common.settings import Settings

__all__ = ["provider_for"]


def provider_for(
    settings: Settings, *, catalog: Catalog, sessions: async_sessionmaker[AsyncSession]
) -> PaymentProvider:
    """The adapter named by PAYMENT_PROVIDER."""
    match settings.payment_provider:
        case "stub":
            from services.billing_api.providers.stub import StubProvider

            return StubProvider(settings)
        case "stripe":
            from services.billing_api.customers import CustomerDirectory
            from services.billing_api.providers.stripe import StripeProvider

            return StripeProvider(
                settings, catalog=catalog, customers=CustomerDirectory("stripe", sessions)
            )
