"""Helpers for the planner's tests: its settings against a test database, a user's
Authorization header, and the types of the ``planners`` and ``replicas`` fixtures."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from services.common.auth import mint_token
from services.common.settings import Settings
from services.planner.compile_slots import CompileSlots

LANDING = "http://landing.test"
Planners = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
# Two planner processes' compile slots on one store, each lease ``lease_s`` long.
Replicas = Callable[..., AbstractAsyncContextManager[tuple[CompileSlots, CompileSlots]]]


def planner_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "gw_env": "test",
        "planner_database_url": db_url,
        "billing_api_base_url": "http://billing.test",
        "landing_base_url": LANDING,
        "planner_billing_timeout_s": 0.3,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def auth(account: str = "acc_alice") -> dict[str, str]:
    settings = Settings(_env_file=None, gw_env="test")
    return {"Authorization": f"Bearer {mint_token(account, settings)}"}
