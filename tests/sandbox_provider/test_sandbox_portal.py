"""The hosted card page: a new card for a subscription, paying an overdue renewal."""

from __future__ import annotations

import io
import sys
from typing import Any

import httpx
import pytest

from services.billing_api.provider_adapter import PortalRequest, ProviderUnavailable
from services.billing_api.providers.stub import StubProvider
from tests.sandbox_provider.support import (
    AppFactory,
    SandboxClient,
    database_text,
    form_with,
    parse_page,
    path_of,
    running,
)

RETURN_URL = "http://landing.test/account?notice=portal"
PORTAL = "/v1/billing_portal/sessions"


async def open_portal(sandbox: SandboxClient, subscription_id: str, **extra: Any) -> dict[str, Any]:
    body = {"subscription": subscription_id, "return_url": RETURN_URL, "locale": "en", **extra}
    response = await sandbox.http.post(PORTAL, json=body, headers=sandbox.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def save_card(sandbox: SandboxClient, portal: dict[str, Any], card: str) -> httpx.Response:
    page = await sandbox.http.get(path_of(portal["url"]))
    assert page.status_code == 200, page.text
    form = form_with(parse_page(page.text), "save-card")
    fields = {**form["fields"], "cardNumber": card, "expiry": "12/39", "cvc": "123", "name": "Ada"}
    return await sandbox.submit(form["action"], fields)


async def past_due_subscription(sandbox: SandboxClient) -> str:
    subscription_id = await sandbox.paid_subscription("4000000000000341")
    await sandbox.advance(days=31)
    assert (await sandbox.subscription(subscription_id))["status"] == "past_due"
    return subscription_id


class TestPortalApi:
    async def test_opens_a_hosted_page_for_the_subscription(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        portal = await open_portal(sandbox, subscription_id)
        assert portal["object"] == "billing_portal.session"
        assert portal["subscription"] == subscription_id
        assert portal["url"].startswith("http://sandbox.test/portal/bps_")
        page = await sandbox.http.get(path_of(portal["url"]))
        assert "VISA •••• 4242" in page.text
        assert 'data-testid="overdue"' not in page.text

    async def test_needs_the_api_key(self, sandbox: SandboxClient) -> None:
        response = await sandbox.http.post(
            PORTAL, json={"subscription": "sub_x", "return_url": RETURN_URL}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({"subscription": "sub_missing", "return_url": RETURN_URL}, 404),
            ({"subscription": "sub_x", "return_url": "javascript:alert(1)"}, 422),
            ({"subscription": "sub_x", "return_url": "/relative"}, 422),
            ({"subscription": "sub_x"}, 422),
            ({"subscription": "x" * 41, "return_url": RETURN_URL}, 422),
            ({"subscription": "sub_x", "return_url": RETURN_URL, "extra": 1}, 422),
        ],
    )
    async def test_hostile_bodies_are_coded(
        self, sandbox: SandboxClient, body: dict[str, Any], status: int
    ) -> None:
        response = await sandbox.http.post(PORTAL, json=body, headers=sandbox.auth)
        assert response.status_code == status
        assert response.json()["error"]["code"] in ("NOT_FOUND", "VALIDATION_ERROR")


class TestCardPage:
    async def test_a_new_card_pays_the_overdue_renewal_and_ends_dunning(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await past_due_subscription(sandbox)
        portal = await open_portal(sandbox, subscription_id)
        page = await sandbox.http.get(path_of(portal["url"]))
        assert "TRY 299.00 did not go through" in page.text
        answer = await save_card(sandbox, portal, "4242 4242 4242 4242")
        assert answer.status_code == 303
        assert answer.headers["location"] == RETURN_URL
        subscription = await sandbox.subscription(subscription_id)
        assert subscription["status"] == "active"
        assert (await sandbox.event_types(subscription_id))[-2:] == [
            "invoice.paid",
            "customer.subscription.updated",
        ]
        # The new card renews normally from now on.
        await sandbox.advance(days=31)
        assert (await sandbox.subscription(subscription_id))["status"] == "active"

    async def test_a_declined_card_is_not_saved(self, sandbox: SandboxClient) -> None:
        subscription_id = await past_due_subscription(sandbox)
        portal = await open_portal(sandbox, subscription_id)
        answer = await save_card(sandbox, portal, "4000 0000 0000 0002")
        assert answer.status_code == 422
        assert "This card was not saved: Your card was declined." in answer.text
        assert (await sandbox.subscription(subscription_id))["status"] == "past_due"
        assert "•••• 0341" in (await sandbox.http.get(path_of(portal["url"]))).text

    async def test_a_card_that_fails_again_is_saved_but_still_overdue(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await past_due_subscription(sandbox)
        portal = await open_portal(sandbox, subscription_id)
        answer = await save_card(sandbox, portal, "4000 0000 0000 0341")
        assert answer.status_code == 200
        assert "Card saved, payment still due" in answer.text
        assert (await sandbox.subscription(subscription_id))["status"] == "past_due"

    async def test_an_active_subscription_just_gets_the_new_card(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await sandbox.paid_subscription()
        portal = await open_portal(sandbox, subscription_id)
        answer = await save_card(sandbox, portal, "5555 5555 5555 4444")
        assert answer.status_code == 303
        page = await sandbox.http.get(path_of(portal["url"]))
        assert "MASTERCARD •••• 4444" in page.text

    async def test_an_invalid_card_shows_the_form_again(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        portal = await open_portal(sandbox, subscription_id)
        answer = await save_card(sandbox, portal, "1234 5678 9012 3456")
        assert answer.status_code == 422
        assert 'data-testid="form-error"' in answer.text

    async def test_a_post_without_the_pages_token_is_refused(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        portal = await open_portal(sandbox, subscription_id)
        fields = {"cardNumber": "5555555555554444", "expiry": "12/39", "cvc": "1", "name": "x"}
        answer = await sandbox.submit(path_of(portal["url"]) + "/card", fields)
        assert answer.status_code == 403
        assert "•••• 4242" in (await sandbox.http.get(path_of(portal["url"]))).text

    @pytest.mark.parametrize("portal_id", ["bps_missing", "x" * 300, "..%2F..%2Fetc"])
    async def test_unknown_pages_are_404(self, sandbox: SandboxClient, portal_id: str) -> None:
        for method in ("GET", "POST"):
            suffix = "/card" if method == "POST" else ""
            answer = await sandbox.http.request(method, f"/portal/{portal_id}{suffix}")
            assert answer.status_code == 404

    async def test_the_page_expires_after_an_hour(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription()
        portal = await open_portal(sandbox, subscription_id)
        await sandbox.advance(seconds=3601)
        assert (await sandbox.http.get(path_of(portal["url"]))).status_code == 404


async def test_no_card_number_from_the_portal_in_the_database_or_logs(
    make_app: AppFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = io.StringIO()
    monkeypatch.setattr(sys, "stderr", logs)
    async with running(make_app()) as sandbox:
        subscription_id = await past_due_subscription(sandbox)
        portal = await open_portal(sandbox, subscription_id)
        await save_card(sandbox, portal, "4000 0000 0000 0002")
        await save_card(sandbox, portal, "5555 5555 5555 4444")
        await sandbox.flush()
    stored = await database_text(database_url)
    logged = logs.getvalue()
    assert "portal card saved" in logged
    for typed in ("5555555555554444", "5555 5555 5555 4444", "4000000000000002"):
        assert typed.encode() not in stored
        assert typed not in logged


class TestStubAdapterContract:
    """billing_api's stub adapter against the real sandbox app: the Protocol's
    ``create_portal`` gives a page the customer can use."""

    def adapter(self, sandbox: SandboxClient) -> StubProvider:
        settings = sandbox.app.state.settings
        return StubProvider(settings, transport=httpx.ASGITransport(app=sandbox.app))

    async def test_create_portal_opens_the_subscriptions_card_page(
        self, sandbox: SandboxClient
    ) -> None:
        subscription_id = await past_due_subscription(sandbox)
        provider = self.adapter(sandbox)
        created = await provider.create_portal(
            PortalRequest(subscription_id, "acc_test", return_url=RETURN_URL, locale="tr")
        )
        await provider.aclose()
        page = await sandbox.http.get(path_of(created.url))
        assert page.status_code == 200
        assert "Kartınızı güncelleyin" in page.text
        assert 'data-testid="overdue"' in page.text

    async def test_an_unknown_subscription_is_provider_unavailable(
        self, sandbox: SandboxClient
    ) -> None:
        provider = self.adapter(sandbox)
        with pytest.raises(ProviderUnavailable):
            await provider.create_portal(
                PortalRequest("sub_missing", "acc_test", return_url=RETURN_URL, locale=None)
            )
        await provider.aclose()
