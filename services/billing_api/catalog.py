"""The plans catalog: a config file, read once at start-up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name: str  # in English
    names: dict[Literal["tr"], str] = {}  # the name in the site's other languages
    tier: Literal["free", "paid"]
    amount: int = Field(ge=0)  # minor units
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    interval: Literal["month", "year"] | None = None
    trial_days: int = Field(default=0, ge=0, le=730)
    stripe_price: str | None = None

    @model_validator(mode="after")
    def _paid_plans_recur(self) -> Plan:
        if self.tier == "paid" and (self.interval is None or self.amount == 0):
            raise ValueError(f"paid plan {self.id} needs an interval and a price")
        return self

    def name_in(self, locale: str | None) -> str:
        """The plan's name for a reader of ``locale``; English when it has none there."""
        return self.names.get("tr", self.name) if locale == "tr" else self.name

    @property
    def purchasable(self) -> bool:
        return self.tier == "paid"


@dataclass(frozen=True)
class Catalog:
    plans: tuple[Plan, ...]

    def get(self, plan_id: str) -> Plan | None:
        return next((plan for plan in self.plans if plan.id == plan_id), None)


def load_catalog(path: str | Path) -> Catalog:
    with Path(path).open("rb") as handle:
        raw = tomllib.load(handle)
    plans = tuple(Plan.model_validate(entry) for entry in raw.get("plans", []))
    ids = [plan.id for plan in plans]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate plan id in {path}")
    return Catalog(plans)
