"""The sandbox's contract for what a stranger can send: documented, coded answers."""

from __future__ import annotations

import json

import pytest

from services.common.settings import Settings
from services.sandbox_provider.app import create_app

SETTINGS = Settings(_env_file=None)
API_KEY = {"Authorization": f"Bearer {SETTINGS.payment_provider_api_key.get_secret_value()}"}


@pytest.fixture(scope="module")
def openapi() -> dict:  # type: ignore[type-arg]
    return create_app(SETTINGS).openapi()


# Every answer a hosted page gives: 404 for an unknown session, 303 on to the next
# page, 403 for a form from another session, 422 for a card form that does not check out.
HOSTED_ANSWERS = {
    ("/checkout/{session_id}", "get"): {"404"},
    ("/checkout/{session_id}/pay", "post"): {"303", "403", "404", "422"},
    ("/checkout/{session_id}/cancel", "get"): {"303", "404"},
    ("/checkout/{session_id}/3ds", "get"): {"303", "404"},
    ("/checkout/{session_id}/3ds", "post"): {"303", "403", "404"},
    ("/portal/{portal_id}", "get"): {"404"},
    ("/portal/{portal_id}/card", "post"): {"303", "403", "404", "422"},
}


@pytest.mark.parametrize(
    ("path", "method"), HOSTED_ANSWERS, ids=[f"{m.upper()} {p}" for p, m in HOSTED_ANSWERS]
)
def test_every_answer_of_a_hosted_page_is_documented(
    openapi: dict,  # type: ignore[type-arg]
    path: str,
    method: str,
) -> None:
    responses = openapi["paths"][path][method]["responses"]
    assert HOSTED_ANSWERS[path, method] <= set(responses)
    for status in HOSTED_ANSWERS[path, method] - {"303"}:
        assert "text/html" in responses[status]["content"], status


def test_invalid_json_is_documented_on_json_bodies(openapi: dict) -> None:  # type: ignore[type-arg]
    for methods in openapi["paths"].values():
        for operation in methods.values():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert "400" in operation["responses"], operation["summary"]


@pytest.mark.parametrize(
    "body",
    [{"days": 0, "seconds": False}, {"days": True}, {"days": "1"}, {"seconds": 1.5}],
    ids=str,
)
def test_the_test_clock_refuses_wrong_types(body: dict) -> None:  # type: ignore[type-arg]
    from services.sandbox_provider.schemas import AdvanceClockIn

    with pytest.raises(ValueError, match="validation error"):
        AdvanceClockIn.model_validate_json(__import__("json").dumps(body))


def test_the_test_clock_still_takes_numbers() -> None:
    from services.sandbox_provider.schemas import AdvanceClockIn

    assert AdvanceClockIn.model_validate_json('{"days": 1, "seconds": 5}').total_seconds == 86405


def test_nul_in_a_redirect_url_is_422_not_500() -> None:
    from services.sandbox_provider.schemas import CheckoutSessionCreate

    body = {
        "plan": {"id": "p", "name": "P", "amount": 1, "currency": "TRY", "interval": "month"},
        "success_url": "http://127.0.0.1:1/ok",
        "cancel_url": "http://127.0.0.1:1/cancel\x00",
    }
    with pytest.raises(ValueError, match="control"):
        CheckoutSessionCreate.model_validate(body)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/checkout/cs_missing/3ds", "GET, POST"),
        ("DELETE", "/checkout/cs_missing/3ds", "GET, POST"),
        ("OPTIONS", "/checkout/cs_missing", "GET"),
        ("PUT", "/v1/checkout/sessions", "GET, POST"),
        ("DELETE", "/v1/checkout/sessions/cs_missing/expire", "POST"),
    ],
)
async def test_a_wrong_method_is_405_naming_the_methods_the_path_has(
    method: str, path: str, allowed: str
) -> None:
    import httpx

    transport = httpx.ASGITransport(app=create_app(SETTINGS))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        answer = await client.request(method, path, headers=API_KEY)
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert answer.headers["allow"] == allowed


def test_no_422_is_documented_as_fastapis_shape() -> None:
    """FastAPI documents its 422 as `{"detail": [...]}`; we answer the coded envelope."""
    from services.billing_api.app import create_app as billing
    from services.landing.app import create_app as landing
    from services.planner.app import create_app as planner

    for app in (billing(SETTINGS), planner(SETTINGS), create_app(SETTINGS), landing(SETTINGS)):
        document = app.openapi()
        assert "HTTPValidationError" not in json.dumps(document), app.title
        checkout = document["paths"].get("/v1/checkout/sessions", {}).get("post")
        if checkout is not None:
            body = checkout["responses"]["422"]["content"]["application/json"]
            assert body["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
