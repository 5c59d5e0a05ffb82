"""What a subscription status means for access: the mapping table of DESIGN §7.

The seed's rows (ACTIVE, TRIALING, CANCELED, PAST_DUE, none) as written, the
rows DESIGN adds for every other status billing_api can return, and anything
unrecognised as ``UNKNOWN``. Nothing here decides features; ``gating`` does,
from the preview this module builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AccessLevel(StrEnum):
    FULL = "full"
    LIMITED = "limited"


@dataclass(frozen=True, slots=True)
class AccessPreview:
    """What the planner knows about an account's subscription, in access terms."""

    has_subscription: bool
    access_level: AccessLevel
    reason: str
    subscription_status: str | None  # upper case; None when there is no subscription

    def to_wire(self) -> dict[str, Any]:
        return {
            "hasSubscription": self.has_subscription,
            "accessLevel": self.access_level.value,
            "reason": self.reason,
            "subscriptionStatus": self.subscription_status,
        }


UNKNOWN = "UNKNOWN"

# status (upper case) -> (hasSubscription, accessLevel, reason)
_TABLE: dict[str, tuple[bool, AccessLevel, str]] = {
    "ACTIVE": (True, AccessLevel.FULL, "ok"),
    "TRIALING": (True, AccessLevel.FULL, "ok"),
    "INCOMPLETE": (True, AccessLevel.LIMITED, "incomplete"),
    "CANCELED": (True, AccessLevel.LIMITED, "canceled"),
    "PAST_DUE": (True, AccessLevel.LIMITED, "past_due"),
    "UNPAID": (True, AccessLevel.LIMITED, "unpaid"),
    "PAUSED": (True, AccessLevel.LIMITED, "paused"),
    # An expired first payment never became a subscription the account holds.
    "INCOMPLETE_EXPIRED": (False, AccessLevel.LIMITED, "incomplete_expired"),
}
_UNKNOWN_ROW = (False, AccessLevel.LIMITED, "unknown_status")

NO_SUBSCRIPTION = AccessPreview(
    has_subscription=False,
    access_level=AccessLevel.LIMITED,
    reason="no_subscription",
    subscription_status=None,
)


def preview_for(status: str | None) -> AccessPreview:
    """The preview for billing_api's status (``None``: ``SUBSCRIPTION_NOT_FOUND``)."""
    if status is None:
        return NO_SUBSCRIPTION
    upper = status.upper()
    if upper not in _TABLE:
        return AccessPreview(*_UNKNOWN_ROW, subscription_status=UNKNOWN)
    has_subscription, level, reason = _TABLE[upper]
    return AccessPreview(has_subscription, level, reason, upper)
