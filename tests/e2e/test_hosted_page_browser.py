"""A person in a real browser: the sandbox's hosted checkout page, card typed into its form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.e2e.browser import fill_card
from tests.e2e.shopper import Shopper
from tests.e2e.stack import Stack

# The page and its form; the database behind it is covered on both backends elsewhere.
pytestmark = [pytest.mark.browser, pytest.mark.backend_independent]


@pytest.fixture
def page(browser: Browser, payment_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(locale="tr-TR")
    opened = context.new_page()
    landing = payment_stack.env["LANDING_BASE_URL"]

    # The landing site is not part of this test: answer its return pages with a stub.
    def landing_page(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body="<h1>landed</h1>")

    opened.route(f"{landing}/**", landing_page)
    yield opened
    context.close()


def shopper(stack: Stack) -> Shopper:
    return Shopper.for_stack(stack.env, f"acc_browser_{time.time_ns()}")


def test_pay_with_4242_in_the_browser(page: Page, payment_stack: Stack, tmp_path: Path) -> None:
    customer = shopper(payment_stack)
    started = customer.start()
    page.goto(started["checkoutUrl"])
    assert page.get_by_test_id("plan-name").inner_text() == "Pro"
    assert "299" in page.get_by_test_id("amount").inner_text()
    fill_card(page, "4242 4242 4242 4242")
    page.screenshot(path=str(tmp_path / "checkout.png"))
    page.get_by_test_id("pay").click()
    page.wait_for_url(f"{customer.landing_url}/billing/success?paymentAttemptId=*")
    assert customer.status(started["paymentAttemptId"])["status"] == "succeeded"
    customer.wait_for_subscription("active")


def test_declined_card_returns_to_cancel_in_the_browser(page: Page, payment_stack: Stack) -> None:
    customer = shopper(payment_stack)
    started = customer.start()
    page.goto(started["checkoutUrl"])
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_test_id("pay").click()
    page.wait_for_url(f"{customer.landing_url}/billing/cancel?paymentAttemptId=*")
    status = customer.status(started["paymentAttemptId"])
    assert status["status"] == "failed"
    assert status["error"]["code"] == "CARD_DECLINED"


def test_3d_secure_approve_in_the_browser(page: Page, payment_stack: Stack) -> None:
    customer = shopper(payment_stack)
    started = customer.start()
    page.goto(started["checkoutUrl"])
    fill_card(page, "4000 0027 6000 3184")
    page.get_by_test_id("pay").click()
    page.get_by_test_id("3ds-approve").click()
    page.wait_for_url(f"{customer.landing_url}/billing/success?paymentAttemptId=*")
    assert customer.status(started["paymentAttemptId"])["status"] == "succeeded"


def test_cancel_link_in_the_browser(page: Page, payment_stack: Stack) -> None:
    customer = shopper(payment_stack)
    started = customer.start()
    page.goto(started["checkoutUrl"])
    page.get_by_test_id("cancel").click()
    page.wait_for_url(f"{customer.landing_url}/billing/cancel?paymentAttemptId=*")
    assert customer.status(started["paymentAttemptId"])["status"] == "canceled"


def test_invalid_card_number_stays_on_the_page_with_a_message(
    page: Page, payment_stack: Stack
) -> None:
    customer = shopper(payment_stack)
    started = customer.start()
    page.goto(started["checkoutUrl"])
    fill_card(page, "1234 5678 9012 3456")
    page.get_by_test_id("pay").click()
    assert page.get_by_test_id("form-error").is_visible()
    assert customer.status(started["paymentAttemptId"])["status"] == "pending"
