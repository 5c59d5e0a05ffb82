"""The one place that turns an access preview into ``featureAccess`` (DESIGN §7).

Every enforcement point asks this module, and only this module, what a tier may
do: the saved-plan routes, the exports, the task limit of compiling, saving and
importing, and the concurrency limit. The table below is the whole rule;
``GET /v1/access/tiers`` publishes it for the pricing page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.planner.access import AccessLevel, AccessPreview


class Tier(StrEnum):
    FREE = "free"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class FeatureAccess:
    tier: Tier
    can_save_plans: bool
    can_export: bool
    max_concurrent_plans: int
    max_tasks_per_plan: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "tier": self.tier.value,
            "canSavePlans": self.can_save_plans,
            "canExport": self.can_export,
            "maxConcurrentPlans": self.max_concurrent_plans,
            "maxTasksPerPlan": self.max_tasks_per_plan,
        }


# Listed free first, as a pricing page shows them.
TIERS: dict[Tier, FeatureAccess] = {
    Tier.FREE: FeatureAccess(Tier.FREE, False, False, 1, 200),
    Tier.PAID: FeatureAccess(Tier.PAID, True, True, 5, 20_000),
}

Feature = Literal["canSavePlans", "canExport"]


def feature_access(preview: AccessPreview) -> FeatureAccess:
    """Paid when access is full; the free tier otherwise."""
    return TIERS[Tier.PAID if preview.access_level is AccessLevel.FULL else Tier.FREE]


def tiers_wire() -> list[dict[str, Any]]:
    return [access.to_wire() for access in TIERS.values()]


def allows(access: FeatureAccess, feature: Feature) -> bool:
    return access.can_save_plans if feature == "canSavePlans" else access.can_export


def require(access: FeatureAccess, feature: Feature, *, upgrade_url: str) -> None:
    """Refuse with ``403 FEATURE_NOT_AVAILABLE`` when the tier lacks ``feature``."""
    if not allows(access, feature):
        raise AppError(
            ErrorCode.FEATURE_NOT_AVAILABLE,
            extra={"feature": feature, "tier": access.tier.value, "upgradeUrl": upgrade_url},
        )


def task_limit(access: FeatureAccess, ceiling: int) -> int:
    """The most tasks one plan may have for this tier: its maxTasksPerPlan, never above
    the planner's own ceiling (PLANNER_MAX_TASKS). Compiling, saving and importing a CSV
    all refuse a larger plan with ``413 PLAN_TOO_LARGE``."""
    return min(access.max_tasks_per_plan, ceiling)


def upgrade_url(landing_base_url: str) -> str:
    """The landing site's pricing page, where a free account can upgrade."""
    return landing_base_url.rstrip("/") + "/"
