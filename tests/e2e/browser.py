"""Headless Chromium for page tests (Debian's package; Playwright cannot download one here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, sync_playwright

from tests.environment import missing

CHROMIUM = os.environ.get("GW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        missing(f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def fill_card(page: Page, number: str) -> None:
    """Type a card into the provider's form (checkout or card page), as a person would."""
    page.fill("input[name=cardNumber]", number)
    page.fill("input[name=expiry]", "12/34")
    page.fill("input[name=cvc]", "123")
    page.fill("input[name=name]", "Ada Lovelace")
