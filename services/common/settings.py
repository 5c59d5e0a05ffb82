"""One source of configuration for every service, the CLI and the tests.

Values come from the process environment first, then from the env file named by
``GW_ENV_FILE`` (default ``.env``), then from the development defaults below.
``config/payment.example.env`` documents every key.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Development defaults are deliberately recognisable so that production mode can
# refuse them by name.
DEV_SECRET_PREFIX = "dev-insecure-"  # noqa: S105 - a marker, not a secret
PLACEHOLDER_MARKERS = ("...", "change-me", "changeme", "replace-me", DEV_SECRET_PREFIX)
# Standard Webhooks secrets are base64 after "whsec_", so the prefix above cannot be seen in them.
DEV_WEBHOOK_SECRET = "whsec_ZGV2LWluc2VjdXJlLXdlYmhvb2stc2VjcmV0LTAx"  # noqa: S105 - refused in production
DEV_EVENTS_SECRET = "whsec_ZGV2LWluc2VjdXJlLWV2ZW50cy1zZWNyZXQtMDE="  # noqa: S105 - refused in production

# Stripe's key prefixes: secret and restricted keys, live and test mode.
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")

SECRET_KEYS = (
    "payment_provider_api_key",
    "webhook_secret",
    "billing_events_secret",
    "auth_jwt_secret",
    "landing_secret_key",
)


def _env_file() -> str:
    return os.environ.get("GW_ENV_FILE", ".env")


class Settings(BaseSettings):
    """Every key of ``config/payment.example.env``; field name = lower-case key."""

    model_config = SettingsConfigDict(
        env_file=_env_file(), env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    gw_env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    # Freeze the start-up heap out of the garbage collector's reach once a service has
    # started (services/common/gc_tuning.py); off only to measure what it buys.
    gc_freeze_after_startup: bool = True

    billing_api_base_url: str = "http://127.0.0.1:19100"
    planner_base_url: str = "http://127.0.0.1:19200"
    landing_base_url: str = "http://127.0.0.1:19000"

    payment_provider: Literal["stub", "stripe"] = "stub"
    payment_provider_endpoint: str = "http://127.0.0.1:19300"
    payment_provider_api_key: SecretStr = SecretStr(DEV_SECRET_PREFIX + "sandbox-api-key")
    payment_provider_timeout_seconds: float = 10.0
    # Retries of a failed provider call (connection error, 409, 5xx) by the provider's SDK,
    # with the same idempotency key; each try is bounded by the timeout above.
    payment_provider_max_network_retries: int = Field(default=2, ge=0, le=5)
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_tolerance_seconds: int = 300
    billing_events_secret: SecretStr = SecretStr(DEV_EVENTS_SECRET)
    billing_events_subscribers: Annotated[list[str], NoDecode] = []

    auth_jwt_secret: SecretStr = SecretStr(DEV_SECRET_PREFIX + "jwt-secret-for-local-development")
    auth_jwt_public_key: str | None = None
    auth_jwt_issuer: str = "gw_stack"
    dev_signin_enabled: bool = True
    # Signs landing's CSRF tokens and its redirect links; not a user-token key.
    landing_secret_key: SecretStr = SecretStr(DEV_SECRET_PREFIX + "landing-form-signing-key")

    billing_database_url: str = "sqlite+aiosqlite:///var/billing.db"
    planner_database_url: str = "sqlite+aiosqlite:///var/planner.db"
    sandbox_database_url: str = "sqlite+aiosqlite:///var/sandbox.db"
    # Connections each database pool of a process keeps, none opened beyond them
    # (billing_api has a read and a write pool, the planner a write pool and its compile
    # slots' pool of 5, the sandbox one). On PostgreSQL, size it so every process of every
    # service fits under the server's max_connections (100 by default). On SQLite it
    # sizes the read pool; the write pool is always one connection.
    database_pool_size: int = Field(default=15, ge=1, le=200)

    plans_catalog_path: str = "config/plans.toml"
    redirect_allowed_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 64 * 1024
    idempotency_key_ttl_hours: int = 24
    checkout_session_ttl_minutes: int = 30
    # The reconciliation pass (services/billing_api/reconcile.py): every replica runs it
    # this often, in seconds; 0 turns the periodic pass off (`gwstack billing reconcile`
    # still runs it by hand).
    reconcile_interval_seconds: float = Field(default=300.0, ge=0)
    # A session at the provider that billing_api has no attempt for is ended once it is
    # this old (seconds): younger, its checkout start may still be about to record it.
    reconcile_unrecorded_after_seconds: float = Field(default=120.0, ge=0)

    # Plan files uploaded to /app (JSON or CSV) and the drafts posted back with them.
    landing_max_upload_bytes: int = 4 * 1024 * 1024
    planner_max_body_bytes: int = 64 * 1024 * 1024
    planner_max_tasks: int = 200_000
    # Heavy compiles at once per planner process (about one per core), and how long
    # one more waits for a turn before it is answered 503 with Retry-After.
    planner_max_parallel_compiles: int = Field(default=2, ge=1)
    planner_compile_queue_seconds: float = Field(default=10.0, ge=0)
    # The planner's link to billing_api (docs/planner_gating.md).
    planner_billing_timeout_s: float = 1.0
    planner_billing_breaker_failures: int = 5
    planner_billing_breaker_cooldown_s: float = 10.0
    planner_access_cache_ttl_s: float = 0.5
    planner_access_refresh_s: float = 30.0
    planner_access_max_stale_s: float = 86_400.0
    planner_compile_lease_s: float = 120.0
    # Where compile slots are counted: empty, the planner's database; a redis:// URL,
    # that Redis (docs/planner_gating.md).
    planner_redis_url: str = ""

    @field_validator("billing_events_subscribers", "redirect_allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.gw_env != "production":
            if self.payment_provider_api_key.get_secret_value().startswith(LIVE_KEY_PREFIXES):
                # Real money must never move from a laptop or a test run.
                raise ValueError(
                    f"refusing to start in {self.gw_env}: PAYMENT_PROVIDER_API_KEY is a live "
                    "Stripe key (sk_live_/rk_live_); use a test key outside production"
                )
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def provider_api_base(self) -> str | None:
        """The provider API's base URL; ``None`` for Stripe itself.

        With ``stripe``, PAYMENT_PROVIDER_ENDPOINT counts only when it is set (to a
        stand-in such as localstripe): the sandbox default must never receive Stripe calls.
        """
        if self.payment_provider == "stripe":
            if "payment_provider_endpoint" not in self.model_fields_set:
                return None
            return self.payment_provider_endpoint.strip().rstrip("/") or None
        return self.payment_provider_endpoint

    @property
    def allowed_redirect_origins(self) -> list[str]:
        """Origins that checkout success/cancel URLs may point to (landing by default)."""
        return self.redirect_allowed_origins or [self.landing_base_url]

    @property
    def events_subscribers(self) -> list[str]:
        return self.billing_events_subscribers or [
            f"{self.planner_base_url}/internal/billing/events"
        ]


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    if secret in (DEV_WEBHOOK_SECRET, DEV_EVENTS_SECRET):
        return True
    return not secret or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def production_problems(settings: Settings) -> list[str]:
    """Every reason these settings are unsafe for production, naming the key."""
    problems: list[str] = []
    for key in SECRET_KEYS:
        value: SecretStr = getattr(settings, key)
        if key == "auth_jwt_secret" and settings.auth_jwt_public_key:
            continue
        if is_placeholder(value.get_secret_value()):
            problems.append(f"{key.upper()} is missing or a placeholder")
    for key in ("billing_database_url", "planner_database_url"):
        if str(getattr(settings, key)).startswith("sqlite"):
            problems.append(f"{key.upper()} must not be SQLite in production")
    if settings.dev_signin_enabled:
        problems.append("DEV_SIGNIN_ENABLED must be false in production")
    if settings.payment_provider == "stub":
        problems.append("PAYMENT_PROVIDER=stub is the offline sandbox; production needs a real one")
    if settings.payment_provider == "stripe":
        key = settings.payment_provider_api_key.get_secret_value()
        if key.startswith(TEST_KEY_PREFIXES):
            problems.append(
                "PAYMENT_PROVIDER_API_KEY is a Stripe test key; production needs a live one"
            )
        elif not key.startswith(LIVE_KEY_PREFIXES):
            problems.append("PAYMENT_PROVIDER_API_KEY is not a Stripe key (sk_live_/rk_live_)")
        if not settings.webhook_secret.get_secret_value().startswith("whsec_"):
            problems.append("WEBHOOK_SECRET is not a Stripe endpoint signing secret (whsec_…)")
        if settings.provider_api_base is not None:
            problems.append(
                "PAYMENT_PROVIDER_ENDPOINT must be empty in production (Stripe, not a stand-in)"
            )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(_env_file=_env_file())
