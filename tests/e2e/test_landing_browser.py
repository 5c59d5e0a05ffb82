"""A person in Chromium on the landing site, against the real stack: sign in, choose a
plan, pay on the sandbox's page, come back to the truth, manage the subscription.

One stack (landing, billing_api, planner, sandbox as processes on SQLite, like
`make run`) for the module; one browser for the session. Each test saves a
screenshot of the page it ends on to tests/artifacts/.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from services.landing.web import account_for_email
from tests.e2e.browser import ARTIFACTS, fill_card
from tests.e2e.shopper import Shopper, sandbox_call
from tests.e2e.stack import Stack

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# A card number nobody else in the suite types (a Luhn-valid generic card: it pays).
MARKER_CARD = "4000 0566 5566 5556"


@pytest.fixture(scope="module")
def site(full_stack: Stack) -> Stack:
    return full_stack


class Visitor:
    """One person's browser tab on the landing site."""

    def __init__(self, page: Page, stack: Stack, email: str) -> None:
        self.page, self.stack, self.email = page, stack, email
        self.landing = stack.env["LANDING_BASE_URL"]
        self.sandbox = stack.env["PAYMENT_PROVIDER_ENDPOINT"]

    @property
    def account(self) -> str:
        return account_for_email(self.email)

    def sign_in(self) -> None:
        self.page.goto(f"{self.landing}/signin")
        self.page.get_by_label(re.compile("E-posta|Email")).fill(self.email)
        self.page.get_by_test_id("signin-submit").click()
        self.page.wait_for_url(f"{self.landing}/")

    def choose(self, plan_id: str = "pro_monthly") -> None:
        self.page.goto(f"{self.landing}/")
        self.page.get_by_test_id(f"choose-plan-{plan_id}").click()
        self.page.wait_for_url(f"{self.sandbox}/checkout/*")

    def pay(self, card: str) -> None:
        fill_card(self.page, card)
        self.page.get_by_test_id("pay").click()

    def result(self, status: str) -> str:
        """Wait for the result page to settle on ``status``; its text."""
        result = self.page.get_by_test_id("checkout-result")
        expect(result).to_have_attribute("data-status", status, timeout=20_000)
        return result.inner_text()

    def account_status_becomes(
        self, words: str, *, path: str = "/account", timeout: float = 20
    ) -> None:
        """The account page reads billing_api's record, which webhooks update."""
        deadline = time.monotonic() + timeout
        while True:
            self.page.goto(f"{self.landing}{path}")
            status = self.page.get_by_test_id("account-status")
            if status.count() and status.inner_text() == words:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"account never showed {words!r}")
            self.page.wait_for_timeout(300)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"landing_{name}.png"), full_page=True)


@pytest.fixture
def visitor(browser: Browser, site: Stack, request: pytest.FixtureRequest) -> Iterator[Visitor]:
    marker = request.node.get_closest_marker("viewer")
    options = marker.kwargs if marker else {}
    context = browser.new_context(
        locale=options.get("locale", "en-US"), viewport=options.get("viewport", DESKTOP)
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    email = f"{request.node.name.split('[')[0][:40]}.{time.time_ns()}@example.com"
    yield Visitor(page, site, email.replace("_", "-"))
    context.close()


def attempts_of(stack: Stack, account: str) -> int:
    database = Path(stack.env["GW_TEST_WORKDIR"]) / "billing.db"
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM payment_attempts WHERE account_id = ?", (account,)
        ).fetchone()
    return int(count)


def test_scenario_1_pro_with_4242_is_active_and_the_account_shows_pro(visitor: Visitor) -> None:
    visitor.sign_in()
    visitor.choose("pro_monthly")
    visitor.pay("4242 4242 4242 4242")
    visitor.page.wait_for_url(f"{visitor.landing}/billing/success?paymentAttemptId=*")
    assert "Your Pro subscription: Active." in visitor.result("succeeded")
    visitor.screenshot("1_success_en")
    visitor.page.get_by_test_id("go-account").click()
    expect(visitor.page.get_by_test_id("account-plan")).to_have_text("Pro")
    expect(visitor.page.get_by_test_id("account-status")).to_have_text("Active")
    visitor.screenshot("1_account_en")


@pytest.mark.viewer(locale="tr-TR")
def test_scenario_2_a_declined_card_says_so_and_stays_free(visitor: Visitor) -> None:
    visitor.sign_in()
    visitor.choose("pro_monthly")
    visitor.pay("4000 0000 0000 0002")
    visitor.page.wait_for_url(f"{visitor.landing}/billing/cancel?paymentAttemptId=*")
    text = visitor.result("failed")
    assert "Kartınız reddedildi. Lütfen başka bir kart deneyin." in text
    assert visitor.page.locator("html").get_attribute("lang") == "tr"
    visitor.screenshot("2_declined_tr")
    visitor.page.goto(f"{visitor.landing}/account")
    expect(visitor.page.get_by_test_id("subscription")).to_have_attribute("data-status", "none")
    # "Try another card" is one click to a new payment page for the same plan.
    visitor.page.go_back()
    visitor.page.get_by_test_id("try-again").click()
    visitor.page.wait_for_url(f"{visitor.sandbox}/checkout/*")
    expect(visitor.page.get_by_test_id("plan-name")).to_have_text("Pro")
    assert attempts_of(visitor.stack, visitor.account) == 2


def test_cancel_on_the_provider_page(visitor: Visitor) -> None:
    visitor.sign_in()
    visitor.choose("pro_yearly")
    visitor.page.get_by_test_id("cancel").click()
    visitor.page.wait_for_url(f"{visitor.landing}/billing/cancel?paymentAttemptId=*")
    assert "You canceled the payment. You were not charged." in visitor.result("canceled")
    expect(visitor.page.get_by_test_id("try-again")).to_have_text("Try again")
    visitor.screenshot("cancel_en")


@pytest.mark.parametrize(
    ("decision", "status", "message"),
    [
        ("approve", "succeeded", "Your Pro subscription: Active."),
        ("fail", "failed", "Your bank could not verify the payment."),
    ],
)
def test_3d_secure(visitor: Visitor, decision: str, status: str, message: str) -> None:
    visitor.sign_in()
    visitor.choose("pro_monthly")
    visitor.pay("4000 0027 6000 3184")
    visitor.page.get_by_test_id(f"3ds-{decision}").click()
    visitor.page.wait_for_url(f"{visitor.landing}/billing/*")
    assert message in visitor.result(status)
    visitor.screenshot(f"3ds_{decision}_en")


def test_a_double_click_on_a_plan_makes_one_payment_attempt(visitor: Visitor) -> None:
    visitor.sign_in()
    visitor.page.goto(f"{visitor.landing}/")
    visitor.page.get_by_test_id("choose-plan-pro_monthly").dblclick()
    visitor.page.wait_for_url(f"{visitor.sandbox}/checkout/*")
    expect(visitor.page.get_by_test_id("pay")).to_be_visible()
    assert attempts_of(visitor.stack, visitor.account) == 1
    visitor.screenshot("double_click_provider_page")


@pytest.mark.viewer(locale="tr-TR")
def test_turkish_and_english_with_the_switch(visitor: Visitor) -> None:
    visitor.page.goto(f"{visitor.landing}/")
    page = visitor.page
    assert page.locator("html").get_attribute("lang") == "tr"
    # A keyboard user's first Tab reaches the skip link, the next ones the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "gw_stack Planlayıcı"
    expect(page.get_by_test_id("price-pro_monthly")).to_contain_text("₺299,00")
    expect(page.get_by_role("heading", level=1)).to_have_text("Paketler ve fiyatlar")
    expect(page.get_by_test_id("unlocks-pro_monthly")).to_contain_text("20.000")
    visitor.screenshot("pricing_tr")
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans and pricing")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_test_id("price-pro_monthly")).to_contain_text("TRY\u00a0299.00")
    visitor.screenshot("pricing_en")


@pytest.mark.viewer(locale="tr-TR", viewport=PHONE)
def test_a_phone_sized_viewport(visitor: Visitor) -> None:
    visitor.sign_in()
    page = visitor.page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visitor.screenshot("phone_pricing_tr")
    visitor.choose("pro_monthly")
    visitor.pay("4242 4242 4242 4242")
    visitor.page.wait_for_url(f"{visitor.landing}/billing/success?paymentAttemptId=*")
    assert "Etkin" in visitor.result("succeeded")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visitor.screenshot("phone_success_tr")
    page.goto(f"{visitor.landing}/account")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visitor.screenshot("phone_account_tr")


def test_a_card_typed_on_the_provider_page_never_reaches_landing_or_billing(
    visitor: Visitor,
) -> None:
    pages: list[str] = []

    def keep(response: Response) -> None:
        if response.url.startswith(visitor.landing) and response.status < 300:
            pages.append(response.text())

    visitor.page.on("response", keep)
    visitor.sign_in()
    visitor.choose("pro_monthly")
    visitor.pay(MARKER_CARD)
    visitor.page.wait_for_url(f"{visitor.landing}/billing/success?paymentAttemptId=*")
    visitor.result("succeeded")
    visitor.page.goto(f"{visitor.landing}/account")
    expect(visitor.page.get_by_test_id("account-status")).to_have_text("Active")

    workdir = Path(visitor.stack.env["GW_TEST_WORKDIR"])
    digits = MARKER_CARD.replace(" ", "")
    stored = b"".join(
        path.read_bytes() for path in workdir.iterdir() if path.name.startswith("billing.db")
    )
    logs = (workdir / "landing.log").read_text() + (workdir / "billing-api.log").read_text()
    assert len(pages) >= 4
    assert "checkout-result" in "".join(pages)
    assert "request" in logs  # the logs were written
    for typed in (digits, MARKER_CARD, digits[-8:] + digits[:4]):
        assert typed.encode() not in stored
        assert typed not in logs
        assert all(typed not in html for html in pages)


def test_a_past_due_account_updates_its_card_and_becomes_active(visitor: Visitor) -> None:
    """Last in the module: it moves the sandbox clock for every subscription."""
    visitor.sign_in()
    visitor.choose("pro_monthly")
    visitor.pay("4000 0000 0000 0341")
    visitor.result("succeeded")
    sandbox_call(visitor.sandbox, "POST", "/v1/test_clock/advance", json={"days": 31})
    customer = Shopper.for_stack(visitor.stack.env, visitor.account)
    customer.wait_for_subscription("past_due")
    visitor.account_status_becomes("Payment overdue: please update your card")
    visitor.screenshot("past_due_account_en")
    visitor.page.get_by_test_id("update-card").click()
    visitor.page.wait_for_url(f"{visitor.sandbox}/portal/*")
    expect(visitor.page.get_by_test_id("overdue")).to_be_visible()
    fill_card(visitor.page, "4242 4242 4242 4242")
    visitor.page.get_by_test_id("save-card").click()
    visitor.page.wait_for_url(f"{visitor.landing}/account?notice=portal")
    visitor.account_status_becomes("Active", path="/account?notice=portal")
    expect(visitor.page.get_by_test_id("account-notice")).to_be_visible()
    visitor.screenshot("recovered_account_en")
