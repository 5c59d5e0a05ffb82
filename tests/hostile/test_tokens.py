"""User tokens: only a well-formed account id from a valid signature gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.auth import verify_token
from services.common.errors import AppError
from services.common.settings import Settings


def claims(sub: Any, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "iss": "gw_stack", "iat": now, "exp": now + 300, **extra}


@pytest.mark.parametrize(
    "sub",
    ["acc_x\n", "acc_x\r\n", "\nacc_x", "acc_x ", "acc_", "acc_x\x00", "acc_" + "a" * 61, 7, None],
)
async def test_malformed_subjects_are_401(
    client: httpx.AsyncClient, settings: Settings, sub: Any
) -> None:
    token = jwt.encode(claims(sub), settings.auth_jwt_secret.get_secret_value(), algorithm="HS256")
    response = await client.get(
        "/api/billing/subscription", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_tokens_from_an_identity_provider_verify(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    settings = Settings(_env_file=None, auth_jwt_public_key=public)
    token = jwt.encode(claims("acc_idp"), private, algorithm="RS256")
    assert verify_token(token, settings) == "acc_idp"


def _hs256_by_hand(payload: dict[str, Any], key: bytes) -> str:
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(json.dumps(payload).encode())
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + part(digest)


def test_rs256_mode_refuses_other_keys_and_hs256(rsa_keys: tuple[str, str]) -> None:
    _private, public = rsa_keys
    settings = Settings(_env_file=None, auth_jwt_public_key=public)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims("acc_idp"), stranger, algorithm="RS256")
    # The classic confusion: an HS256 token "signed" with the public key as the secret.
    # (PyJWT will not sign one, so it is built by hand.)
    confused = _hs256_by_hand(claims("acc_idp"), public.encode())
    for token in (forged, confused):
        with pytest.raises(AppError) as refused:
            verify_token(token, settings)
        assert refused.value.code == "UNAUTHENTICATED"


def test_a_token_verified_before_is_refused_once_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Verified tokens are remembered (services.common.auth._verified); expiry is not.
    now = time.time()
    token = jwt.encode(
        claims("acc_alice", exp=int(now) + 60), settings.auth_jwt_secret.get_secret_value()
    )
    assert verify_token(token, settings) == "acc_alice"
    assert verify_token(token, settings) == "acc_alice"
    monkeypatch.setattr("services.common.auth.time.time", lambda: now + 60 + 31)
    with pytest.raises(AppError) as refused:
        verify_token(token, settings)
    assert refused.value.code == "UNAUTHENTICATED"
    assert refused.value.case == "expired"


def test_a_token_verified_before_is_refused_under_another_key(settings: Settings) -> None:
    token = jwt.encode(claims("acc_alice"), settings.auth_jwt_secret.get_secret_value())
    assert verify_token(token, settings) == "acc_alice"
    rotated = Settings(_env_file=None, auth_jwt_secret="another-secret-of-enough-length-0123456789")
    with pytest.raises(AppError) as refused:
        verify_token(token, rotated)
    assert refused.value.code == "UNAUTHENTICATED"
