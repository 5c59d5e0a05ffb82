"""The stub adapter turns every way the sandbox can fail into ProviderUnavailable."""

from __future__ import annotations

import httpx
import pytest

from services.billing_api.provider_adapter import ProviderUnavailable
from services.billing_api.providers.stub import StubProvider
from services.common.settings import Settings


def adapter(handler: httpx.MockTransport) -> StubProvider:
    return StubProvider(Settings(_env_file=None), transport=handler)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize(
    "handler",
    [
        refuse,
        lambda request: httpx.Response(500, json={"error": "boom"}),
        lambda request: httpx.Response(200, content=b"<html>"),
        lambda request: httpx.Response(200, json=["not", "an", "object"]),
        lambda request: httpx.Response(200, json={"id": "sub_1", "status": "confused"}),
    ],
    ids=["unreachable", "5xx", "not-json", "not-an-object", "unexpected-shape"],
)
async def test_sandbox_failures_are_provider_unavailable(handler: object) -> None:
    provider = adapter(httpx.MockTransport(handler))  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable):
        await provider.get_subscription("sub_1")
    await provider.aclose()


async def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(404)

    provider = adapter(httpx.MockTransport(record))
    with pytest.raises(ProviderUnavailable):
        await provider.get_checkout("cs_1")
    await provider.aclose()
    key = Settings(_env_file=None).payment_provider_api_key.get_secret_value()
    assert seen == [f"Bearer {key}"]


async def test_a_portal_answer_without_a_usable_url_is_provider_unavailable() -> None:
    from services.billing_api.provider_adapter import PortalRequest

    provider = adapter(
        httpx.MockTransport(lambda request: httpx.Response(200, json={"url": "javascript:x"}))
    )
    with pytest.raises(ProviderUnavailable):
        await provider.create_portal(PortalRequest("sub_1", "acc_1", "http://x.test/", None))
    await provider.aclose()
