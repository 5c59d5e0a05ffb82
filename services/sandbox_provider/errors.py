"""The sandbox's API errors, each a registered code from ``services.common``.

Exception tree::

    AppError (services.common.errors)
    ├── CheckoutSessionNotFound      404 NOT_FOUND
    ├── SubscriptionNotFound         404 NOT_FOUND
    └── SubscriptionNotCancelable    409 SUBSCRIPTION_NOT_CANCELABLE
"""

from __future__ import annotations

from services.common.error_codes import ErrorCode
from services.common.errors import AppError


class CheckoutSessionNotFound(AppError):
    """No checkout session has that id."""

    def __init__(self, *, session_id: str) -> None:
        super().__init__(
            ErrorCode.NOT_FOUND, "No such checkout session.", details={"id": session_id}
        )


class SubscriptionNotFound(AppError):
    """No subscription has that id."""

    def __init__(self, *, subscription_id: str) -> None:
        super().__init__(
            ErrorCode.NOT_FOUND, "No such subscription.", details={"id": subscription_id}
        )


class SubscriptionNotCancelable(AppError):
    """The change asked for does not apply to the subscription's status."""

    def __init__(self, *, subscription_id: str, status: str) -> None:
        super().__init__(
            ErrorCode.SUBSCRIPTION_NOT_CANCELABLE,
            f"A {status} subscription cannot be changed that way.",
            details={"id": subscription_id, "status": status},
        )
