"""The access mapping table (DESIGN §7) and the one gating table built on it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import AppError
from services.planner.access import preview_for
from services.planner.gating import TIERS, Tier, feature_access, require, tiers_wire

# DESIGN §7, row by row: status -> (hasSubscription, accessLevel, reason, subscriptionStatus)
DESIGN_TABLE = {
    "active": (True, "full", "ok", "ACTIVE"),
    "trialing": (True, "full", "ok", "TRIALING"),
    "incomplete": (True, "limited", "incomplete", "INCOMPLETE"),
    "canceled": (True, "limited", "canceled", "CANCELED"),
    "past_due": (True, "limited", "past_due", "PAST_DUE"),
    "unpaid": (True, "limited", "unpaid", "UNPAID"),
    "paused": (True, "limited", "paused", "PAUSED"),
    "incomplete_expired": (False, "limited", "incomplete_expired", "INCOMPLETE_EXPIRED"),
    None: (False, "limited", "no_subscription", None),
    "something_new": (False, "limited", "unknown_status", "UNKNOWN"),
}


class TestMapping:
    @pytest.mark.parametrize(("status", "row"), DESIGN_TABLE.items())
    def test_every_row_of_the_table(self, status: str | None, row: tuple[object, ...]) -> None:
        preview = preview_for(status)
        wire = preview.to_wire()
        got = (
            wire["hasSubscription"],
            wire["accessLevel"],
            wire["reason"],
            wire["subscriptionStatus"],
        )
        assert got == row

    def test_case_does_not_matter(self) -> None:
        assert preview_for("ACTIVE") == preview_for("active")

    @given(st.text(max_size=30))
    def test_only_active_and_trialing_give_full_access(self, status: str) -> None:
        full = preview_for(status).access_level == "full"
        assert full == (status.upper() in ("ACTIVE", "TRIALING"))


class TestGating:
    def test_full_access_is_the_paid_tier(self) -> None:
        access = feature_access(preview_for("active"))
        assert access.to_wire() == {
            "tier": "paid",
            "canSavePlans": True,
            "canExport": True,
            "maxConcurrentPlans": 5,
            "maxTasksPerPlan": 20000,
        }

    @pytest.mark.parametrize("status", [s for s in DESIGN_TABLE if s not in ("active", "trialing")])
    def test_anything_else_is_the_free_tier(self, status: str | None) -> None:
        access = feature_access(preview_for(status))
        assert access.to_wire() == {
            "tier": "free",
            "canSavePlans": False,
            "canExport": False,
            "maxConcurrentPlans": 1,
            "maxTasksPerPlan": 200,
        }

    def test_the_published_table_is_the_gating_table(self) -> None:
        assert [row["tier"] for row in tiers_wire()] == ["free", "paid"]
        assert tiers_wire() == [TIERS[Tier.FREE].to_wire(), TIERS[Tier.PAID].to_wire()]

    def test_refusal_names_feature_tier_and_where_to_upgrade(self) -> None:
        with pytest.raises(AppError) as refused:
            require(TIERS[Tier.FREE], "canExport", upgrade_url="http://landing.test/")
        assert refused.value.status_code == 403
        assert refused.value.code == "FEATURE_NOT_AVAILABLE"
        assert refused.value.extra == {
            "feature": "canExport",
            "tier": "free",
            "upgradeUrl": "http://landing.test/",
        }
        require(TIERS[Tier.PAID], "canExport", upgrade_url="http://landing.test/")
