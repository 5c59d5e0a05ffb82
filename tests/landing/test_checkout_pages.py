"""Choosing a plan, the interstitial, and the success / cancel pages for every outcome."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from services.billing_api.provider_adapter import CheckoutOutcome
from tests.landing.support import LANDING, Site

EN = {"Accept-Language": "en"}
ANOTHER_CARD = "Başka bir kart dene"


def attempt_of(site: Site) -> tuple[str, str]:
    """The newest attempt: its id and the provider session it opened."""
    session_id, session = list(site.provider.sessions.items())[-1]
    return session.request.payment_attempt_id, session_id


async def start(site: Site, plan_id: str = "pro_monthly") -> str:
    response = await site.choose(plan_id)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


class TestChoosePlan:
    async def test_signed_out_is_sent_to_sign_in(self, site: Site) -> None:
        response = await site.choose()
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")
        assert site.provider.create_calls == 0

    async def test_starts_a_checkout_returning_to_our_pages(self, site: Site) -> None:
        await site.sign_in()
        location = await start(site)
        assert location.startswith("/checkout/redirect?")
        sent = next(iter(site.provider.sessions.values())).request
        assert sent.plan.id == "pro_monthly"
        assert sent.success_url.startswith(f"{LANDING}/billing/success?paymentAttemptId=pa_")
        assert sent.cancel_url.startswith(f"{LANDING}/billing/cancel?paymentAttemptId=pa_")

    async def test_the_interstitial_forwards_to_the_provider_with_a_link(self, site: Site) -> None:
        await site.sign_in()
        page = await site.page(await start(site), headers={"Accept-Language": "tr"})
        target = next(iter(site.provider.sessions))
        assert page.status_code == 200
        assert "Ödeme sayfasına yönlendiriliyorsunuz" in page.text
        assert f'content="1;url=https://pay.example/{target}"' in page.text
        assert f'href="https://pay.example/{target}" data-testid="redirect-link"' in page.text

    async def test_a_double_click_or_resubmit_makes_one_attempt(self, site: Site) -> None:
        await site.sign_in()
        html = (await site.page("/")).text
        form_id = re.findall(r'name="formId" value="([0-9a-f]{32})"', html)[0]
        first = await site.post_plan("pro_monthly", form_id)
        second = await site.post_plan("pro_monthly", form_id)
        assert first.headers["location"] == second.headers["location"]
        assert site.provider.create_calls == 1

    async def test_a_tampered_interstitial_link_forwards_nowhere(self, site: Site) -> None:
        await site.sign_in()
        location = await start(site)
        query = parse_qs(urlsplit(location).query)
        forged = await site.page(
            "/checkout/redirect",
            params={"kind": "checkout", "to": "https://evil.example/", "sig": query["sig"][0]},
        )
        assert forged.status_code == 404
        assert 'href="https://evil.example' not in forged.text
        assert "http-equiv" not in forged.text

    async def test_already_subscribed_goes_to_the_account_page(self, site: Site) -> None:
        await site.sign_in()
        await start(site)
        _, session_id = attempt_of(site)
        site.provider.pay(session_id)
        attempt_id, _ = attempt_of(site)
        await site.page(f"/billing/success?paymentAttemptId={attempt_id}")  # records it
        response = await site.choose("pro_yearly")
        assert response.status_code == 303
        assert response.headers["location"] == "/account?notice=ALREADY_SUBSCRIBED"

    async def test_provider_down_says_try_again_and_nothing_is_lost(self, site: Site) -> None:
        await site.sign_in()
        site.provider.down = True
        response = await site.choose()
        assert response.status_code == 503
        assert "The payment service is not reachable right now." in response.text
        assert "Nothing was charged and nothing was lost." in response.text
        assert 'data-testid="choose-plan-pro_monthly"' in response.text

    async def test_billing_api_down_is_a_page_not_a_crash(self, site: Site) -> None:
        await site.sign_in()
        site.billing_down = True
        page = await site.page("/", headers=EN)
        assert page.status_code == 503
        assert "The service is temporarily unavailable." in page.text

    @pytest.mark.parametrize(
        "data",
        [
            {"planId": "pro_monthly", "formId": "not-hex"},
            {"planId": "pro_monthly"},
            {"planId": "x" * 65, "formId": "0" * 32},
            {"planId": "pro_monthly", "formId": "0" * 32, "locale": "de"},
            {"planId": "nope", "formId": "0" * 32},
        ],
    )
    async def test_hostile_forms_get_a_coded_page(self, site: Site, data: dict[str, str]) -> None:
        await site.sign_in()
        response = await site.client.post(
            "/checkout/start", data={"csrf": await site.csrf(), **data}, headers=EN
        )
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text


class TestResultPages:
    async def paid_attempt(self, site: Site, outcome: CheckoutOutcome, code: str | None) -> str:
        await site.sign_in()
        await start(site)
        attempt_id, session_id = attempt_of(site)
        if outcome is CheckoutOutcome.PAID:
            site.provider.pay(session_id)
        elif outcome is not CheckoutOutcome.OPEN:
            site.provider.settle(session_id, outcome, code)
        return attempt_id

    async def test_pending_polls_without_javascript(self, site: Site) -> None:
        attempt_id = await self.paid_attempt(site, CheckoutOutcome.OPEN, None)
        page = await site.page(f"/billing/success?paymentAttemptId={attempt_id}", headers=EN)
        assert 'data-status="pending"' in page.text
        assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
        assert "data-poll=" in page.text

    async def test_succeeded_says_the_subscription_is_active(self, site: Site) -> None:
        attempt_id = await self.paid_attempt(site, CheckoutOutcome.PAID, None)
        page = await site.page(f"/billing/success?paymentAttemptId={attempt_id}", headers=EN)
        assert 'data-status="succeeded"' in page.text
        assert "Your Pro subscription: Active." in page.text
        assert "refresh" not in page.text

    @pytest.mark.parametrize(
        ("outcome", "code", "message", "button"),
        [
            (CheckoutOutcome.FAILED, "CARD_DECLINED", "Kartınız reddedildi.", ANOTHER_CARD),
            (CheckoutOutcome.FAILED, "INSUFFICIENT_FUNDS", "bakiyesi yetersiz", ANOTHER_CARD),
            (CheckoutOutcome.FAILED, "AUTHENTICATION_FAILED", "doğrulayamadı", ANOTHER_CARD),
            (CheckoutOutcome.CANCELED, "CHECKOUT_CANCELED", "iptal ettiniz", "Tekrar dene"),
            (CheckoutOutcome.EXPIRED, "CHECKOUT_EXPIRED", "süresi doldu", "Tekrar dene"),
        ],
    )  # fmt: skip
    async def test_every_ending_shows_its_registry_message(
        self, site: Site, outcome: CheckoutOutcome, code: str, message: str, button: str
    ) -> None:
        attempt_id = await self.paid_attempt(site, outcome, code)
        page = await site.page(
            f"/billing/cancel?paymentAttemptId={attempt_id}", headers={"Accept-Language": "tr"}
        )
        assert f'data-status="{outcome.value.replace("paid", "succeeded")}"' in page.text
        assert f'data-code="{code}"' in page.text
        assert message in page.text
        assert button in page.text

    async def test_try_another_card_starts_a_new_checkout_for_the_same_plan(
        self, site: Site
    ) -> None:
        attempt_id = await self.paid_attempt(site, CheckoutOutcome.FAILED, "CARD_DECLINED")
        page = await site.page(f"/billing/cancel?paymentAttemptId={attempt_id}")
        form_id = re.findall(r'name="formId" value="([0-9a-f]{32})"', page.text)[0]
        response = await site.post_plan("pro_monthly", form_id)
        assert response.headers["location"].startswith("/checkout/redirect?")
        assert site.provider.create_calls == 2

    @pytest.mark.parametrize("attempt", ["pa_someone_else", "not-an-id", "pa_" + "x" * 70])
    async def test_unknown_attempts_say_so(self, site: Site, attempt: str) -> None:
        await site.sign_in()
        page = await site.page("/billing/success", params={"paymentAttemptId": attempt}, headers=EN)
        assert page.status_code in (200, 422)
        if page.status_code == 200:
            assert 'data-status="error"' in page.text
            assert "We could not find that payment." in page.text

    async def test_another_accounts_attempt_is_not_shown(self, site: Site) -> None:
        attempt_id = await self.paid_attempt(site, CheckoutOutcome.PAID, None)
        await site.sign_in("mallory@example.com")
        page = await site.page(f"/billing/success?paymentAttemptId={attempt_id}", headers=EN)
        assert 'data-code="PAYMENT_ATTEMPT_NOT_FOUND"' in page.text

    async def test_signed_out_result_page_asks_to_sign_in_and_comes_back(self, site: Site) -> None:
        page = await site.page("/billing/success?paymentAttemptId=pa_1")
        assert page.status_code == 303
        assert (
            page.headers["location"]
            == "/signin?next=%2Fbilling%2Fsuccess%3FpaymentAttemptId%3Dpa_1"
        )

    async def test_the_poll_endpoint_answers_only_the_status(self, site: Site) -> None:
        attempt_id = await self.paid_attempt(site, CheckoutOutcome.OPEN, None)
        answer = await site.client.get(f"/billing/attempt-status?paymentAttemptId={attempt_id}")
        assert answer.json() == {"status": "pending"}


async def test_the_poll_endpoint_answers_coded_errors(site: Site) -> None:
    signed_out = await site.client.get("/billing/attempt-status?paymentAttemptId=pa_1")
    assert signed_out.status_code == 401
    assert signed_out.json() == {"status": "error", "code": "UNAUTHENTICATED"}
    await site.sign_in()
    malformed = await site.client.get("/billing/attempt-status?paymentAttemptId=x")
    assert malformed.json() == {"status": "error", "code": "PAYMENT_ATTEMPT_NOT_FOUND"}
