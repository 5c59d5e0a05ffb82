from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

from services.common.settings import Settings


def gwstack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gwstack", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GW_ENV_FILE": os.devnull, **(env or {})},
    )


def test_token_is_a_valid_user_token() -> None:
    result = gwstack("token", "acc_demo", "--ttl", "120")
    assert result.returncode == 0, result.stderr
    settings = Settings(_env_file=None)
    claims = jwt.decode(
        result.stdout.strip(),
        settings.auth_jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        issuer="gw_stack",
    )
    assert claims["sub"] == "acc_demo"
    assert claims["exp"] - claims["iat"] == 120


def test_token_refuses_a_malformed_account() -> None:
    result = gwstack("token", "alice")
    assert result.returncode != 0
    assert "acc_" in result.stderr


def test_production_with_placeholders_refuses_naming_the_keys(tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text("GW_ENV=production\nAUTH_JWT_SECRET=change-me\n")
    result = gwstack("db", "upgrade", env={"GW_ENV_FILE": str(env_file)})
    assert result.returncode == 2
    assert "AUTH_JWT_SECRET" in result.stderr
    assert "BILLING_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_service_whose_package_is_absent_is_not_available() -> None:
    from gwstack.cli import SERVICES, _available

    assert all(_available(factory) for factory, _ in SERVICES.values())
    assert not _available("services.not_built_yet.app:create_app")


def test_up_starts_the_sandbox_only_when_it_is_the_provider() -> None:
    from gwstack.cli import services_to_start
    from services.common.settings import Settings

    stub = services_to_start(Settings(_env_file=None))
    stripe = services_to_start(Settings(_env_file=None, payment_provider="stripe"))
    assert "sandbox" in stub
    assert "sandbox" not in stripe
    assert "billing-api" in stripe
