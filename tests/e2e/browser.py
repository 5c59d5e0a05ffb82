"""Headless Chromium for page tests (Debian's package; Playwright cannot download one here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from tests.environment import missing

# Screenshots of what each browser test ends on, for a person to look at (not compared).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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


def shot(page: Page, name: str, *, full: bool = True) -> None:
    """Save a screenshot of ``page`` as ``tests/artifacts/<name>``."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)
