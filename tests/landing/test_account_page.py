"""/account: the subscription in words, cancel at period end and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.billing_api.lifecycle import apply_subscription_state
from services.billing_api.models import SubscriptionStatus
from services.billing_api.provider_adapter import SubscriptionState
from services.landing.messages import SUBSCRIPTION_STATUSES, status_words
from services.landing.web import account_for_email
from tests.landing.support import Site

EN = {"Accept-Language": "en"}
TR = {"Accept-Language": "tr"}


async def subscribe(site: Site, status: SubscriptionStatus, *, trial: bool = False) -> None:
    """Record a subscription for the signed-in test user as the provider reported it."""
    now = datetime.now(UTC)
    state = SubscriptionState(
        subscription_id="sub_fake_account",
        account_id=account_for_email("ada@example.com"),
        plan_id="pro_monthly",
        status=status,
        current_period_start=now,
        current_period_end=datetime(2027, 1, 5, 12, tzinfo=UTC),
        cancel_at_period_end=False,
        trial_end=now + timedelta(days=14) if trial else None,
        canceled_at=None,
        as_of=now,
    )
    site.provider.subscriptions[state.subscription_id] = state
    async with site.billing.state.billing.sessions() as session, session.begin():
        await apply_subscription_state(session, state, provider="stub", source="test")


def test_every_status_has_words_in_both_languages() -> None:
    for status in SUBSCRIPTION_STATUSES:
        assert status_words(status, "en") != status_words("nonsense", "en")
        assert status_words(status, "tr") != status_words(status, "en")


class TestAccount:
    async def test_without_a_subscription_it_says_free(self, site: Site) -> None:
        await site.sign_in()
        page = await site.page("/account", headers=EN)
        assert 'data-status="none"' in page.text
        assert "You are on the Free plan." in page.text

    @pytest.mark.parametrize("status", list(SubscriptionStatus))
    async def test_each_status_in_words(self, site: Site, status: SubscriptionStatus) -> None:
        await site.sign_in()
        await subscribe(site, status)
        page = await site.page("/account", headers=TR)
        assert f'data-status="{status.value}"' in page.text
        assert status_words(status.value, "tr") in page.text
        assert "Pro" in page.text
        assert "5 Ocak 2027" in page.text

    async def test_trial_end_is_shown_while_trialing(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.TRIALING, trial=True)
        page = await site.page("/account", headers=EN)
        assert 'data-testid="account-trial-end"' in page.text

    async def test_cancel_at_period_end_then_resume(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.ACTIVE)
        canceled = await site.client.post("/account/cancel", data={"csrf": await site.csrf()})
        assert canceled.headers["location"] == "/account?notice=canceled"
        page = await site.page("/account?notice=canceled", headers=EN)
        assert "Your subscription will end on January 5, 2027." in page.text
        assert 'data-testid="resume"' in page.text
        resumed = await site.client.post("/account/resume", data={"csrf": await site.csrf()})
        assert resumed.headers["location"] == "/account?notice=resumed"
        page = await site.page("/account", headers=EN)
        assert "Renews automatically" in page.text
        assert 'data-testid="cancel-subscription"' in page.text

    async def test_cancel_needs_the_csrf_token(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.ACTIVE)
        response = await site.client.post("/account/cancel", data={"csrf": "x"})
        assert response.status_code == 403
        assert not site.provider.subscriptions["sub_fake_account"].cancel_at_period_end

    async def test_provider_down_on_cancel_shows_its_message(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.ACTIVE)
        site.provider.down = True
        response = await site.client.post(
            "/account/cancel", data={"csrf": await site.csrf()}, headers=EN
        )
        assert response.status_code == 503
        assert "The payment service is not reachable right now." in response.text

    async def test_already_subscribed_notice(self, site: Site) -> None:
        await site.sign_in()
        page = await site.page("/account?notice=ALREADY_SUBSCRIBED", headers=EN)
        assert "You already have an active subscription." in page.text
        ignored = await site.page("/account?notice=<script>", headers=EN)
        assert "account-notice" not in ignored.text

    async def test_signed_out_goes_to_sign_in(self, site: Site) -> None:
        response = await site.page("/account")
        assert response.status_code == 303
        assert response.headers["location"] == "/signin?next=%2Faccount"


class TestUpdateCard:
    async def test_update_card_goes_to_the_providers_card_page(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.PAST_DUE)
        page = await site.page("/account", headers=EN)
        assert "Payment overdue: please update your card" in page.text
        response = await site.client.post("/account/card", data={"csrf": await site.csrf()})
        assert response.status_code == 303
        interstitial = await site.page(response.headers["location"], headers=EN)
        assert "Redirecting you to the secure card page" in interstitial.text
        assert 'href="https://pay.example/portal/sub_fake_account"' in interstitial.text
        sent = site.provider.portals[0]
        assert sent.return_url == "http://landing.test/account?notice=portal"
        assert sent.locale == "en"

    async def test_without_a_subscription_there_is_no_card_to_update(self, site: Site) -> None:
        await site.sign_in()
        response = await site.client.post(
            "/account/card", data={"csrf": await site.csrf()}, headers=EN
        )
        assert response.status_code == 404
        assert "You do not have a subscription yet." in response.text

    async def test_back_from_the_portal_says_the_status_follows(self, site: Site) -> None:
        await site.sign_in()
        await subscribe(site, SubscriptionStatus.ACTIVE)
        page = await site.page("/account?notice=portal", headers=EN)
        assert "the status below updates within a few seconds" in page.text
