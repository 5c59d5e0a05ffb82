"""The provider's card page: how a customer replaces the card a subscription charges."""

from __future__ import annotations

from services.billing_api.checkout import check_redirect
from services.billing_api.context import BillingContext
from services.billing_api.provider_adapter import PortalRequest, ProviderUnavailable
from services.billing_api.subscriptions import current_subscription
from services.common.error_codes import ErrorCode
from services.common.errors import AppError


async def open_portal(
    context: BillingContext, account_id: str, *, return_url: str | None, locale: str | None
) -> str:
    """The provider's card page for the account's current subscription.

    Any subscription may open it (a past_due or unpaid one most of all: a new card
    is how it recovers). The return URL is held to the same allow-list as checkout's.
    """
    target = return_url or context.settings.landing_base_url.rstrip("/") + "/account"
    check_redirect(target, context.settings.allowed_redirect_origins, "returnUrl")
    async with context.sessions() as session:
        subscription = await current_subscription(session, account_id)
    if subscription is None:
        raise AppError(ErrorCode.SUBSCRIPTION_NOT_FOUND)
    try:
        portal = await context.provider.create_portal(
            PortalRequest(
                subscription_id=subscription.provider_subscription_id,
                account_id=account_id,
                return_url=target,
                locale=locale,
            )
        )
    except ProviderUnavailable as exc:
        raise AppError(ErrorCode.PROVIDER_UNAVAILABLE, headers={"Retry-After": "5"}) from exc
    return portal.url
