"""A customer without a browser: starts checkouts and fills in the hosted page's own form."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from services.common.auth import mint_token
from services.common.settings import Settings

_FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
_CANCEL = re.compile(r'href="([^"]+)" data-testid="cancel"')


def _forms(html: str) -> list[tuple[str, dict[str, str]]]:
    return [(action, dict(_HIDDEN.findall(body))) for action, body in _FORM.findall(html)]


@dataclass
class Shopper:
    billing_url: str
    landing_url: str
    sandbox_url: str
    account: str

    @classmethod
    def for_stack(cls, env: dict[str, str], account: str) -> Shopper:
        return cls(
            env["BILLING_API_BASE_URL"],
            env["LANDING_BASE_URL"],
            env["PAYMENT_PROVIDER_ENDPOINT"],
            account,
        )

    @property
    def headers(self) -> dict[str, str]:
        token = mint_token(self.account, Settings(_env_file=None))
        return {"Authorization": f"Bearer {token}"}

    def start(self, plan_id: str = "pro_monthly", key: str | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.billing_url}/api/billing/checkout/start",
            json={
                "planId": plan_id,
                "successUrl": f"{self.landing_url}/billing/success",
                "cancelUrl": f"{self.landing_url}/billing/cancel",
                "locale": "en",
            },
            headers={**self.headers, "Idempotency-Key": key or str(uuid.uuid4())},
            timeout=20,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def pay(self, checkout_url: str, card: str, *, three_ds: str | None = None) -> str:
        """Fill in and submit the hosted form; answers where the browser is sent at the end."""
        with httpx.Client(timeout=20) as browser:
            page = browser.get(checkout_url)
            assert page.status_code == 200, page.text
            action, hidden = _forms(page.text)[0]
            answer = browser.post(
                urljoin(checkout_url, action),
                data={**hidden, "cardNumber": card, "expiry": "12/34", "cvc": "123", "name": "Ada"},
            )
            assert answer.status_code == 303, answer.text
            location = urljoin(checkout_url, answer.headers["location"])
            if three_ds is None:
                return location
            challenge = browser.get(location)
            for form_action, fields in _forms(challenge.text):
                if fields.get("decision") == three_ds:
                    decided = browser.post(urljoin(location, form_action), data=fields)
                    assert decided.status_code == 303, decided.text
                    return urljoin(location, decided.headers["location"])
            raise AssertionError("no 3-D Secure form for " + three_ds)

    def cancel_on_page(self, checkout_url: str) -> str:
        with httpx.Client(timeout=20) as browser:
            page = browser.get(checkout_url)
            link = _CANCEL.search(page.text)
            assert link is not None
            answer = browser.get(urljoin(checkout_url, link.group(1).replace("&amp;", "&")))
            assert answer.status_code == 303, answer.text
            return urljoin(checkout_url, answer.headers["location"])

    def status(self, attempt_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.billing_url}/api/billing/checkout/status",
            params={"paymentAttemptId": attempt_id},
            headers=self.headers,
            timeout=20,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def subscription(self) -> dict[str, Any] | None:
        response = httpx.get(
            f"{self.billing_url}/api/billing/subscription", headers=self.headers, timeout=20
        )
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["subscription"]
        return body

    def wait_for_subscription(self, status: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.subscription()
            if seen is not None and seen["status"] == status:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"subscription never became {status}; last seen {seen}")


def attempt_id_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["paymentAttemptId"][0]


def sandbox_call(sandbox_url: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    key = settings.payment_provider_api_key.get_secret_value()
    response = httpx.request(
        method, f"{sandbox_url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=60,
        **kwargs,
    )  # fmt: skip
    assert response.status_code < 400, response.text
    body: dict[str, Any] = response.json()
    return body
