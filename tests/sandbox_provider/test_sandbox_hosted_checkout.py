"""The hosted checkout page, driven through its own forms like a browser."""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox_provider.support import (
    CANCEL_URL,
    SUCCESS_URL,
    SandboxClient,
    form_with,
    parse_page,
    path_of,
)

DECLINES = [
    ("4000 0000 0000 0002", "CARD_DECLINED"),
    ("4000 0000 0000 9995", "INSUFFICIENT_FUNDS"),
    ("4000 0000 0000 0069", "EXPIRED_CARD"),
    ("4000 0000 0000 0127", "INCORRECT_CVC"),
    ("4000 0000 0000 0119", "PROCESSING_ERROR"),
]


class TestCheckoutPage:
    @pytest.mark.backend_independent
    async def test_shows_plan_price_form_cancel_link_and_test_cards(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session(locale="en")

        response = await sandbox.http.get(path_of(session["url"]))

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        html = response.text
        assert "Pro" in html
        assert "TRY 299.00" in html
        assert "per month" in html
        page = parse_page(html)
        form = form_with(page, "pay")
        assert form["action"] == f"/checkout/{session['id']}/pay"
        assert {"cardNumber", "expiry", "cvc", "name", "token"} <= set(form["fields"])
        assert page.links["cancel"].startswith(f"/checkout/{session['id']}/cancel?token=")
        assert "test-cards" in page.test_ids
        assert "4000 0027 6000 3184" in html

    @pytest.mark.backend_independent
    async def test_speaks_turkish_for_a_turkish_session(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session(locale="tr")

        html = (await sandbox.http.get(path_of(session["url"]))).text

        assert '<html lang="tr">' in html
        assert "₺299,00" in html
        assert "aylık" in html
        assert "Kart numarası" in html

    @pytest.mark.backend_independent
    async def test_follows_the_browser_language_without_a_session_locale(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session(locale=None)

        html = (
            await sandbox.http.get(path_of(session["url"]), headers={"Accept-Language": "tr-TR"})
        ).text

        assert "₺299,00" in html

    @pytest.mark.backend_independent
    async def test_announces_a_trial(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session(plan={"interval": "year", "trial_days": 14})

        page = parse_page((await sandbox.http.get(path_of(session["url"]))).text)

        assert "trial" in page.test_ids

    @pytest.mark.backend_independent
    async def test_unknown_session_is_a_404_page(self, sandbox: SandboxClient) -> None:
        response = await sandbox.http.get("/checkout/cs_missing")

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


class TestPay:
    async def test_success_creates_an_active_subscription_and_returns_to_success_url(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session()

        response = await sandbox.pay(session, "4242 4242 4242 4242")

        assert response.status_code == 303
        assert response.headers["location"] == SUCCESS_URL
        paid = await sandbox.session(session["id"])
        assert (paid["status"], paid["payment_status"], paid["outcome"]) == (
            "complete",
            "paid",
            "paid",
        )
        assert paid["error_code"] is None
        assert paid["updated"] > session["updated"]
        subscription = await sandbox.subscription(paid["subscription"])
        assert subscription["status"] == "active"
        assert subscription["object"] == "subscription"
        assert subscription["card_last4"] == "4242"
        assert subscription["card_brand"] == "visa"
        assert subscription["metadata"] == session["metadata"]
        assert subscription["plan"] == session["plan"]
        assert subscription["trial_end"] is None
        assert subscription["cancel_at_period_end"] is False
        assert subscription["canceled_at"] is None
        # One calendar month from now on the sandbox clock.
        length = subscription["current_period_end"] - subscription["current_period_start"]
        assert 28 * 86400 <= length <= 31 * 86400
        assert await sandbox.event_types() == [
            "customer.subscription.created",
            "invoice.paid",
            "checkout.session.completed",
        ]

    async def test_a_trial_plan_starts_trialing(self, sandbox: SandboxClient) -> None:
        subscription_id = await sandbox.paid_subscription(
            plan={"interval": "year", "trial_days": 14}
        )

        subscription = await sandbox.subscription(subscription_id)

        assert subscription["status"] == "trialing"
        assert subscription["trial_end"] == subscription["current_period_end"]
        assert subscription["trial_end"] - subscription["current_period_start"] == 14 * 86400
        invoice = (await sandbox.events("invoice.paid"))[0]["data"]["object"]
        assert invoice["amount_due"] == 0

    @pytest.mark.parametrize(("card", "error_code"), DECLINES)
    async def test_a_declined_card_ends_the_session_and_returns_to_cancel_url(
        self, sandbox: SandboxClient, card: str, error_code: str
    ) -> None:
        session = await sandbox.create_session()

        response = await sandbox.pay(session, card)

        assert response.status_code == 303
        assert response.headers["location"] == CANCEL_URL
        failed = await sandbox.session(session["id"])
        assert (failed["status"], failed["outcome"], failed["error_code"]) == (
            "expired",
            "failed",
            error_code,
        )
        assert failed["subscription"] is None
        [event] = await sandbox.events()
        assert event["type"] == "checkout.session.expired"
        assert event["data"]["object"]["error_code"] == error_code
        # The page now says so, with the way back.
        page = await sandbox.http.get(path_of(session["url"]))
        assert 'data-outcome="failed"' in page.text
        assert parse_page(page.text).links["continue"] == CANCEL_URL

    async def test_any_other_valid_number_succeeds(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session()

        response = await sandbox.pay(session, "5555-5555-5555-4444")

        assert response.headers["location"] == SUCCESS_URL
        paid = await sandbox.session(session["id"])
        subscription = await sandbox.subscription(paid["subscription"])
        assert (subscription["card_brand"], subscription["card_last4"]) == ("mastercard", "4444")

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"card": "4242 4242 4242 4241"}, "Enter a valid card number."),
            ({"card": "4242"}, "Enter a valid card number."),
            ({"expiry": "01/20"}, "This card&#39;s expiry date has passed."),
            ({"expiry": "13/30"}, "Enter the expiry date as MM/YY."),
            ({"cvc": "12"}, "Enter the 3 or 4 digit security code."),
            ({"cvc": "12a"}, "Enter the 3 or 4 digit security code."),
            ({"name": "   "}, "Enter the name on the card."),
        ],
    )
    @pytest.mark.backend_independent
    async def test_invalid_input_shows_the_form_again_and_keeps_the_session_open(
        self, sandbox: SandboxClient, fields: dict[str, str], message: str
    ) -> None:
        session = await sandbox.create_session()

        response = await sandbox.pay(session, **fields)

        assert response.status_code == 422
        assert message in response.text
        page = parse_page(response.text)
        assert "form-error" in page.test_ids
        # The card number and CVC are never sent back into the page.
        refilled = form_with(page, "pay")["fields"]
        assert (refilled["cardNumber"], refilled["cvc"]) == ("", "")
        assert (await sandbox.session(session["id"]))["outcome"] == "open"
        assert await sandbox.events() == []

    async def test_expiry_is_judged_by_the_sandbox_clock(self, sandbox: SandboxClient) -> None:
        await sandbox.advance(days=3660)  # ten years on: "12/30" is in the past now
        session = await sandbox.create_session()

        response = await sandbox.pay(session, expiry="12/30")

        assert response.status_code == 422
        assert "expiry date has passed" in response.text

    @pytest.mark.backend_independent
    async def test_a_post_without_the_session_token_is_refused(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session()
        fields = {"cardNumber": "4242424242424242", "expiry": "12/39", "cvc": "123", "name": "A"}

        for token in ({}, {"token": "forged"}):
            response = await sandbox.submit(f"/checkout/{session['id']}/pay", fields | token)

            assert response.status_code == 403
        assert (await sandbox.session(session["id"]))["outcome"] == "open"

    async def test_a_paid_session_cannot_be_paid_again(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session()
        form = form_with(await sandbox.page(session), "pay")
        fields = form["fields"] | {
            "cardNumber": "4242424242424242",
            "expiry": "12/39",
            "cvc": "123",
            "name": "Ada",
        }
        first = await sandbox.submit(form["action"], fields)
        paid = await sandbox.session(session["id"])

        second = await sandbox.submit(form["action"], fields)

        assert first.status_code == 303
        assert second.status_code == 200
        assert 'data-outcome="paid"' in second.text
        assert parse_page(second.text).links["continue"] == SUCCESS_URL
        assert await sandbox.session(session["id"]) == paid
        assert len(await sandbox.events("customer.subscription.created")) == 1

    async def test_concurrent_payments_charge_once(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session()
        form = form_with(await sandbox.page(session), "pay")
        fields = form["fields"] | {
            "cardNumber": "4242424242424242",
            "expiry": "12/39",
            "cvc": "123",
            "name": "Ada",
        }

        responses = await asyncio.gather(
            *(sandbox.submit(form["action"], fields) for _ in range(5))
        )

        assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 303]
        assert len(await sandbox.events("customer.subscription.created")) == 1
        assert len(await sandbox.events("checkout.session.completed")) == 1

    async def test_success_url_may_name_the_session(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session(
            success_url="http://landing.test/ok?session={CHECKOUT_SESSION_ID}"
        )

        response = await sandbox.pay(session)

        assert response.headers["location"] == f"http://landing.test/ok?session={session['id']}"


class TestThreeDSecure:
    async def _challenge(self, sandbox: SandboxClient) -> tuple[dict[str, object], object]:
        session = await sandbox.create_session()
        response = await sandbox.pay(session, "4000 0027 6000 3184")
        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{session['id']}/3ds"
        page = await sandbox.http.get(response.headers["location"])
        assert page.status_code == 200
        return session, parse_page(page.text)

    async def test_approve_pays(self, sandbox: SandboxClient) -> None:
        session, page = await self._challenge(sandbox)
        assert (await sandbox.session(str(session["id"])))["outcome"] == "open"
        form = form_with(page, "3ds-approve")  # type: ignore[arg-type]

        response = await sandbox.submit(form["action"], form["fields"])

        assert response.status_code == 303
        assert response.headers["location"] == SUCCESS_URL
        paid = await sandbox.session(str(session["id"]))
        assert paid["outcome"] == "paid"
        assert (await sandbox.subscription(paid["subscription"]))["card_last4"] == "3184"

    async def test_fail_ends_with_authentication_failed(self, sandbox: SandboxClient) -> None:
        session, page = await self._challenge(sandbox)
        form = form_with(page, "3ds-fail")  # type: ignore[arg-type]

        response = await sandbox.submit(form["action"], form["fields"])

        assert response.headers["location"] == CANCEL_URL
        failed = await sandbox.session(str(session["id"]))
        assert (failed["outcome"], failed["error_code"]) == ("failed", "AUTHENTICATION_FAILED")

    @pytest.mark.backend_independent
    async def test_the_challenge_page_needs_a_pending_challenge(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session()

        response = await sandbox.http.get(f"/checkout/{session['id']}/3ds")

        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{session['id']}"


class TestCancelLink:
    async def test_cancels_and_returns_to_cancel_url(self, sandbox: SandboxClient) -> None:
        session = await sandbox.create_session()
        link = (await sandbox.page(session)).links["cancel"]

        response = await sandbox.http.get(link)

        assert response.status_code == 303
        assert response.headers["location"] == CANCEL_URL
        canceled = await sandbox.session(session["id"])
        assert (canceled["status"], canceled["outcome"]) == ("expired", "canceled")
        [event] = await sandbox.events()
        assert event["type"] == "checkout.session.expired"
        assert event["data"]["object"]["outcome"] == "canceled"
        # A canceled session cannot be paid any more.
        assert (await sandbox.http.get(link)).status_code == 200

    @pytest.mark.backend_independent
    async def test_a_link_without_the_token_only_shows_the_page(
        self, sandbox: SandboxClient
    ) -> None:
        session = await sandbox.create_session()

        response = await sandbox.http.get(f"/checkout/{session['id']}/cancel")

        assert response.status_code == 303
        assert response.headers["location"] == f"/checkout/{session['id']}"
        assert (await sandbox.session(session["id"]))["outcome"] == "open"
