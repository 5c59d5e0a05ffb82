"""The planner's JSON wire models for access and saved plans (camelCase).

The plan document and compiled plan are msgspec structs (``wire_schema``); these
are the small bodies around them, so OpenAPI shows them and schemathesis can
check every answer against them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from services.common.schemas import CamelModel

FailureKindName = Literal[
    "timeout", "connection_error", "http_error", "invalid_response", "unauthorized", "circuit_open"
]


class PreviewOut(CamelModel):
    has_subscription: bool
    access_level: Literal["full", "limited"]
    reason: str = Field(examples=["ok", "past_due", "no_subscription"])
    subscription_status: str | None = Field(
        description="billing_api's status in upper case; UNKNOWN when unrecognised; "
        "null without a subscription."
    )


class FeatureAccessOut(CamelModel):
    tier: Literal["free", "paid"]
    can_save_plans: bool
    can_export: bool
    max_concurrent_plans: int
    max_tasks_per_plan: int


class AccessPreviewOut(CamelModel):
    ok: Literal[True]
    preview: PreviewOut
    feature_access: FeatureAccessOut
    source: Literal["live", "cache", "stale", "fallback"] = Field(
        description="live: billing_api was read now; cache: the last known access is recent; "
        "stale: billing failed and the last known access is used; fallback: billing failed "
        "and nothing usable is known, so the free tier."
    )


class TiersOut(CamelModel):
    tiers: list[FeatureAccessOut]


class ProbeSubscription(CamelModel):
    model_config = CamelModel.model_config | {"extra": "allow"}
    id: str
    account_id: str
    plan_id: str
    status: str
    updated_at: datetime


class ProbeOk(CamelModel):
    ok: Literal[True]
    subscription: ProbeSubscription | None


class BillingFailed(CamelModel):
    ok: Literal[False]
    kind: FailureKindName


class SavedPlanOut(CamelModel):
    id: str
    name: str
    task_count: int
    created_at: datetime
    updated_at: datetime


class SavedPlanEnvelope(CamelModel):
    plan: SavedPlanOut


class SavedPlanWithDocument(SavedPlanOut):
    document: dict[str, Any]


class SavedPlanDocumentEnvelope(CamelModel):
    plan: SavedPlanWithDocument


class SavedPlansOut(CamelModel):
    plans: list[SavedPlanOut]


class EventReceiptOut(CamelModel):
    received: Literal[True]
    webhook_id: str
    duplicate: bool
