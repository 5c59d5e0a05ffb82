"""The sandbox's own settings: the ``SANDBOX_*`` keys.

Shared keys (API key, webhook secret, URLs, database URL) come from
``services.common.settings.Settings``; these only shape the sandbox's behaviour.
They are read like Settings: the environment first, then the file named by
``GW_ENV_FILE`` (default ``.env``).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.common.settings import Settings


class SandboxConfig(BaseSettings):
    """``SANDBOX_<FIELD>`` for every field below."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore", frozen=True)

    # Where webhooks go; default is billing_api's stub endpoint.
    webhook_url: str | None = None
    # What a subscription becomes when dunning runs out of retries.
    dunning_final_status: Literal["canceled", "unpaid"] = "canceled"
    # Days between a failed renewal and each retry ("3,5": 3 days later, then 5 more).
    dunning_retry_days: Annotated[list[PositiveInt], NoDecode] = [3, 5]
    # Tests turn the background workers off and drive time and delivery themselves.
    background_workers: bool = True
    delivery_poll_seconds: float = Field(default=0.2, gt=0)
    clock_tick_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # 24 attempts with these delays (5 s doubling, capped at 6 h) span about 3 days.
    webhook_max_attempts: int = Field(default=24, ge=1)
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)

    @field_validator("dunning_retry_days", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def load_sandbox_config() -> SandboxConfig:
    return SandboxConfig(_env_file=os.environ.get("GW_ENV_FILE", ".env"))


def webhook_target(settings: Settings, config: SandboxConfig) -> str:
    if config.webhook_url:
        return config.webhook_url
    return settings.billing_api_base_url.rstrip("/") + "/api/billing/webhooks/stub"
