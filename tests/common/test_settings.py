from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.settings import Settings
from services.sandbox_provider.config import SandboxConfig

SAFE_PRODUCTION: dict[str, Any] = {
    "gw_env": "production",
    "payment_provider_api_key": "sk_live_51HxRealLookingKey0000",
    "webhook_secret": "whsec_cHJvZHVjdGlvbi13ZWJob29rLXNlY3JldA==",
    "billing_events_secret": "whsec_cHJvZHVjdGlvbi1ldmVudHMtc2VjcmV0",
    "auth_jwt_secret": "a-long-random-production-jwt-secret-0123456789",
    "landing_secret_key": "a-long-random-production-landing-key-0123456789",
    "billing_database_url": "postgresql+asyncpg://billing@db/billing",
    "planner_database_url": "postgresql+asyncpg://planner@db/planner",
    "dev_signin_enabled": False,
    "payment_provider": "stripe",
}


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_development_defaults_start_with_nothing_configured() -> None:
    defaults = settings()
    assert defaults.gw_env == "development"
    assert defaults.billing_api_base_url == "http://127.0.0.1:19100"
    assert defaults.allowed_redirect_origins == ["http://127.0.0.1:19000"]


def test_a_safe_production_configuration_starts() -> None:
    assert settings(**SAFE_PRODUCTION).gw_env == "production"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"auth_jwt_secret": "change-me"}, "AUTH_JWT_SECRET"),
        ({"landing_secret_key": "change-me"}, "LANDING_SECRET_KEY"),
        ({"webhook_secret": "whsec_..."}, "WEBHOOK_SECRET"),
        ({"payment_provider_api_key": ""}, "PAYMENT_PROVIDER_API_KEY"),
        ({"billing_database_url": "sqlite+aiosqlite:///var/billing.db"}, "BILLING_DATABASE_URL"),
        ({"dev_signin_enabled": True}, "DEV_SIGNIN_ENABLED"),
        ({"payment_provider": "stub"}, "PAYMENT_PROVIDER"),
    ],
)
def test_production_refuses_unsafe_values_naming_the_key(
    override: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**(SAFE_PRODUCTION | override))
    assert named in str(caught.value)


@pytest.mark.parametrize("key", ["sk_test_51HxRealLookingKey0000", "rk_test_51HxRealLookingKey0"])
def test_production_refuses_a_stripe_test_key_by_name(key: str) -> None:
    with pytest.raises(ValidationError, match="PAYMENT_PROVIDER_API_KEY is a Stripe test key"):
        settings(**(SAFE_PRODUCTION | {"payment_provider_api_key": key}))


def test_production_refuses_something_that_is_not_a_stripe_key() -> None:
    with pytest.raises(ValidationError, match="PAYMENT_PROVIDER_API_KEY is not a Stripe key"):
        settings(**(SAFE_PRODUCTION | {"payment_provider_api_key": "a-long-random-value-0123"}))


def test_production_accepts_a_restricted_live_key() -> None:
    assert settings(**(SAFE_PRODUCTION | {"payment_provider_api_key": "rk_live_51Hx0000"}))


def test_production_refuses_a_webhook_secret_stripe_would_not_issue() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET is not a Stripe endpoint"):
        settings(**(SAFE_PRODUCTION | {"webhook_secret": "a-long-random-production-secret"}))


def test_production_refuses_a_stripe_stand_in() -> None:
    stand_in = {"payment_provider_endpoint": "http://127.0.0.1:8420"}
    with pytest.raises(ValidationError, match="PAYMENT_PROVIDER_ENDPOINT"):
        settings(**(SAFE_PRODUCTION | stand_in))


@pytest.mark.parametrize("env", ["development", "test"])
@pytest.mark.parametrize("key", ["sk_live_51HxRealLookingKey0000", "rk_live_51HxRealLooking"])
def test_live_keys_are_refused_outside_production(env: str, key: str) -> None:
    with pytest.raises(ValidationError, match="live Stripe key"):
        settings(gw_env=env, payment_provider="stripe", payment_provider_api_key=key)


def test_stripe_talks_to_stripe_unless_a_stand_in_is_named() -> None:
    assert settings(payment_provider="stripe").provider_api_base is None
    empty = settings(payment_provider="stripe", payment_provider_endpoint="")
    assert empty.provider_api_base is None
    named = settings(payment_provider="stripe", payment_provider_endpoint="http://127.0.0.1:8420/")
    assert named.provider_api_base == "http://127.0.0.1:8420"
    assert settings().provider_api_base == "http://127.0.0.1:19300"  # stub: the sandbox


def test_production_refuses_the_development_webhook_secret() -> None:
    development = settings()
    values = SAFE_PRODUCTION | {"webhook_secret": development.webhook_secret.get_secret_value()}
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        settings(**values)


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "gw.env"
    env.write_text(
        "BILLING_API_BASE_URL=http://billing.internal:8080\n"
        "REDIRECT_ALLOWED_ORIGINS=https://a.example, https://b.example\n"
    )
    loaded = Settings(_env_file=str(env))
    assert loaded.billing_api_base_url == "http://billing.internal:8080"
    assert loaded.allowed_redirect_origins == ["https://a.example", "https://b.example"]


def test_example_env_documents_every_key() -> None:
    example = Path("config/payment.example.env").read_text()
    keys = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    sandbox_keys = {f"SANDBOX_{name.upper()}" for name in SandboxConfig.model_fields}
    assert keys == {name.upper() for name in Settings.model_fields} | sandbox_keys
