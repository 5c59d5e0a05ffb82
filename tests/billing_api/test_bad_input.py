"""Anything a client can send gets a coded 4xx, never a 500."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from services.common.auth import mint_token
from services.common.settings import Settings
from tests.billing_api.support import START, attempt_count, checkout_body

# Input handling and the error envelope: the database cannot change these.
pytestmark = pytest.mark.backend_independent


async def test_malformed_json_is_coded(client: httpx.AsyncClient, auth: Any) -> None:
    response = await client.post(
        START, content=b'{"planId": ', headers=auth(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_JSON"


@pytest.mark.parametrize(
    "body",
    [
        checkout_body(planId=42),
        checkout_body(locale="de"),
        checkout_body(successUrl=None),
        {"planId": "pro_monthly"},
        [],
        "text",
        checkout_body(surprise=True),
    ],
    ids=["wrong-type", "bad-enum", "null", "missing", "array", "string", "unknown-field"],
)
async def test_wrong_shapes_are_validation_errors(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, body: Any
) -> None:
    response = await client.post(START, json=body, headers=auth())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["problems"]
    assert await attempt_count(app) == 0


async def test_oversized_body_is_413(client: httpx.AsyncClient, auth: Any) -> None:
    huge = checkout_body(planId="x" * (70 * 1024))
    response = await client.post(START, json=huge, headers=auth())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, auth: Any) -> None:
    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 1024

    response = await client.post(
        START, content=chunks(), headers=auth(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_unknown_route_and_wrong_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/billing/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = await client.delete("/api/billing/plans")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert wrong.headers["allow"] == "GET"


def token(settings: Settings, **claims: Any) -> str:
    now = int(time.time())
    base = {"sub": "acc_alice", "iss": settings.auth_jwt_issuer, "exp": now + 60}
    base.update(claims)
    key = claims.pop("_key", settings.auth_jwt_secret.get_secret_value())
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 3600},
        {"_key": "another-secret-that-is-long-enough-for-hs256"},
        {"iss": "someone-else"},
        {"sub": None},
        {"sub": "../../etc/passwd"},
        {"exp": None},
    ],
    ids=["expired", "bad-signature", "wrong-issuer", "no-subject", "odd-subject", "no-expiry"],
)
async def test_bad_tokens_are_unauthenticated(
    client: httpx.AsyncClient, settings: Settings, claims: dict[str, Any]
) -> None:
    bearer = token(settings, **claims)
    response = await client.get(
        "/api/billing/subscription", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_alg_none_is_refused(client: httpx.AsyncClient) -> None:
    unsigned = jwt.encode(
        {"sub": "acc_alice", "iss": "gw_stack", "exp": int(time.time()) + 60}, "", algorithm="none"
    )
    response = await client.get(
        "/api/billing/subscription", headers={"Authorization": f"Bearer {unsigned}"}
    )
    assert response.status_code == 401


async def test_a_bug_is_500_with_nothing_internal(
    app: FastAPI, client: httpx.AsyncClient, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.billing_api import checkout

    async def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(checkout, "start_checkout", explode)
    response = await client.post(START, json=checkout_body(), headers=auth())
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text
    assert response.headers["x-request-id"] == error["requestId"]


async def test_no_token_says_sign_in_and_a_refused_one_sign_in_again(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    none = await client.get("/api/billing/subscription")
    assert none.json()["error"]["message"] == "Please sign in."
    expired = mint_token("acc_alice", settings, ttl=-3600)
    answer = await client.get(
        "/api/billing/subscription",
        headers={"Authorization": f"Bearer {expired}", "Accept-Language": "tr"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == (
        "Oturumunuzun süresi doldu. Lütfen yeniden giriş yapın."
    )
    forged = await client.get(
        "/api/billing/subscription", headers={"Authorization": "Bearer not.a.token"}
    )
    assert forged.json()["error"]["message"].endswith("Please sign in again.")


async def test_swagger_ui_and_redoc_load_nothing_from_elsewhere(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        assert "cdn" not in html.lower()
        assert "googleapis" not in html
        for asset in re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', html):
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000
