"""Swagger UI (``/docs``) and ReDoc (``/redoc``) of billing_api, the planner and the
sandbox in a real browser that may reach nothing but the service: every script, style
and font the pages need comes from the service itself, so the docs work offline."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.e2e.browser import shot
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# What each service's docs must list: a POST operation a reader comes for.
SERVICES = {
    "billing-api": ("/api/billing/checkout/start", "gw_stack billing_api"),
    "planner": ("/v1/plan/compile", "gw_stack planner"),
    "sandbox": ("/v1/checkout/sessions", "gw_stack sandbox_provider"),
}


class Offline:
    """A browser context whose requests to any host but the service's are aborted."""

    def __init__(self, browser: Browser, service_url: str) -> None:
        self.allowed = urlsplit(service_url).netloc
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._only_the_service)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _only_the_service(self, route: Route) -> None:
        if urlsplit(route.request.url).netloc == self.allowed:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline(browser: Browser, full_stack: Stack, request: pytest.FixtureRequest) -> Iterator[Page]:
    service: str = request.param
    browsing = Offline(browser, full_stack[service].url)
    yield browsing.page
    browsing.context.close()
    assert browsing.blocked == [], f"the docs asked for other hosts: {browsing.blocked}"
    assert browsing.errors == [], f"the docs' scripts failed: {browsing.errors}"


@pytest.mark.parametrize("offline", list(SERVICES), indirect=True)
def test_swagger_ui_lists_the_operations_offline(
    offline: Page, full_stack: Stack, request: pytest.FixtureRequest
) -> None:
    service = request.node.callspec.params["offline"]
    path, title = SERVICES[service]
    offline.goto(f"{full_stack[service].url}/docs")
    operation = offline.locator(f".opblock-post .opblock-summary-path[data-path='{path}']")
    operation.wait_for(timeout=20_000)
    assert title in offline.locator(".information-container .title").inner_text()
    assert offline.locator(".opblock").count() >= 3
    # An operation opens to its parameters and responses: the UI's script is running.
    operation.click()
    offline.locator(".opblock.is-open .responses-wrapper").wait_for()
    shot(offline, f"docs_swagger_{service}.png", full=False)


@pytest.mark.parametrize("offline", list(SERVICES), indirect=True)
def test_redoc_renders_the_reference_offline(
    offline: Page, full_stack: Stack, request: pytest.FixtureRequest
) -> None:
    service = request.node.callspec.params["offline"]
    path, title = SERVICES[service]
    offline.goto(f"{full_stack[service].url}/redoc")
    offline.locator("[data-section-id*='operation/']").first.wait_for(timeout=20_000)
    assert title in offline.locator("h1").first.inner_text()
    assert path in offline.locator(".api-content").inner_text()
    shot(offline, f"docs_redoc_{service}.png", full=False)
