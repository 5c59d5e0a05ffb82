"""The app as a whole: health, OpenAPI, the shared error envelope."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.sandbox_provider.app import create_app
from tests.sandbox_provider.support import SandboxClient, running, sandbox_config, sandbox_settings

# Input handling and the error envelope: the database cannot change these.
pytestmark = pytest.mark.backend_independent


async def test_health(sandbox: SandboxClient) -> None:
    response = await sandbox.http.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["service"], body["checks"]) == (
        "ok",
        "sandbox_provider",
        {"database": "ok"},
    )


async def test_openapi_lists_the_api(sandbox: SandboxClient) -> None:
    paths = (await sandbox.http.get("/openapi.json")).json()["paths"]

    assert {
        "/v1/checkout/sessions",
        "/v1/checkout/sessions/{session_id}",
        "/v1/checkout/sessions/{session_id}/expire",
        "/v1/subscriptions/{subscription_id}",
        "/v1/subscriptions/{subscription_id}/cancel",
        "/v1/subscriptions/{subscription_id}/resume",
        "/v1/test_clock",
        "/v1/test_clock/advance",
        "/v1/events",
        "/v1/webhooks/flush",
        "/checkout/{session_id}",
        "/checkout/{session_id}/pay",
    } <= set(paths)


async def test_unknown_route_answers_the_shared_envelope(sandbox: SandboxClient) -> None:
    response = await sandbox.http.get("/v2/nothing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["error"]["requestId"].startswith("req_")


async def test_starts_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'sandbox.db'}"
    app = create_app(sandbox_settings(url), config=sandbox_config())

    async with running(app) as sandbox:
        session = await sandbox.create_session()

    assert session["outcome"] == "open"
