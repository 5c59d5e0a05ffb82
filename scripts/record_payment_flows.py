"""Run the five payment scenarios against a running stack (`make run`) and print them as
Markdown: every call with its real answer. Regenerates docs/payment_flow_happy_path.md:

    .venv/bin/python scripts/record_payment_flows.py > docs/payment_flow_happy_path.md
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx

from services.common.auth import mint_token
from services.common.settings import get_settings

SETTINGS = get_settings()
BILLING = SETTINGS.billing_api_base_url
LANDING = SETTINGS.landing_base_url
SANDBOX = SETTINGS.payment_provider_endpoint
SANDBOX_KEY = SETTINGS.payment_provider_api_key.get_secret_value()
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CANCEL = re.compile(r'href="([^"]+)" data-testid="cancel"')
IDS = re.compile(r"\b(pa|sub|cs|evt|req|in)_[0-9a-zA-Z]+")

out: list[str] = []


def say(text: str = "") -> None:
    out.append(text)


def shown(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return IDS.sub(lambda m: f"{m.group(1)}_…", text)


def call(method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.request(method, url, headers=headers, timeout=30, **kwargs)
    shown_url = IDS.sub(lambda m: f"{m.group(1)}_…", url)
    say(f"```http\n{method} {shown_url}" + ("\nAuthorization: Bearer <token>" if token else ""))
    if "Idempotency-Key" in headers:
        say("Idempotency-Key: <a fresh uuid>")
    if "json" in kwargs:
        say("\n" + shown(kwargs["json"]))
    say("```")
    say(f"→ `{response.status_code}`")
    if response.headers.get("content-type", "").startswith("application/json"):
        say("```json\n" + shown(response.json()) + "\n```")
    return response


def start(token: str, plan: str = "pro_monthly") -> dict[str, Any]:
    body = {
        "planId": plan,
        "successUrl": f"{LANDING}/billing/success",
        "cancelUrl": f"{LANDING}/billing/cancel",
        "locale": "en",
    }
    response = call(
        "POST", f"{BILLING}/api/billing/checkout/start", token,
        json=body, headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    result: dict[str, Any] = response.json()
    return result


def pay(checkout_url: str, card: str, three_ds: str | None = None) -> None:
    with httpx.Client(timeout=30) as browser:
        page = browser.get(checkout_url)
        action, body = FORM.findall(page.text)[0]
        fields = dict(HIDDEN.findall(body))
        answer = browser.post(
            urljoin(checkout_url, action),
            data={**fields, "cardNumber": card, "expiry": "12/34", "cvc": "123", "name": "Ada"},
        )
        location = answer.headers.get("location", "")
        say(f"In the browser: the hosted page at the `checkoutUrl`, card **{card}**, "
            f"expiry 12/34, CVC 123, **Pay** → `{answer.status_code}` to "
            f"`{IDS.sub(lambda m: f'{m.group(1)}_…', location)}`")  # fmt: skip
        if three_ds:
            challenge_url = urljoin(checkout_url, location)
            challenge = browser.get(challenge_url)
            for form_action, form_body in FORM.findall(challenge.text):
                form = dict(HIDDEN.findall(form_body))
                if form.get("decision") == three_ds:
                    decided = browser.post(urljoin(challenge_url, form_action), data=form)
                    where = IDS.sub(lambda m: f"{m.group(1)}_…", decided.headers["location"])
                    say(f"\nOn the 3-D Secure page, **{three_ds}** → "
                        f"`{decided.status_code}` to `{where}`")  # fmt: skip
    say()


def wait_for(token: str, status: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = httpx.get(f"{BILLING}/api/billing/subscription",
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        if response.status_code == 200 and response.json()["subscription"]["status"] == status:
            return
        time.sleep(0.2)
    raise SystemExit(f"subscription never became {status}")


def advance(days: int) -> None:
    say(f"Move the sandbox's clock (`gwstack sandbox advance --days {days}`):")
    response = httpx.post(
        f"{SANDBOX}/v1/test_clock/advance",
        json={"days": days},
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    say()


def account(name: str) -> str:
    return mint_token(f"acc_{name}_{uuid.uuid4().hex[:8]}", SETTINGS)


def status(token: str, attempt: dict[str, Any]) -> None:
    call("GET", f"{BILLING}/api/billing/checkout/status?paymentAttemptId="
         f"{attempt['paymentAttemptId']}", token)  # fmt: skip


def main() -> None:
    httpx.get(f"{BILLING}/health").raise_for_status()
    say("# Payment flows, step by step\n")
    say("<!-- Recorded from a real run of `make run` by scripts/record_payment_flows.py. -->\n")
    say("Each scenario below is one real run against the stack that `make run` starts "
        "(billing_api on 19100, the sandbox provider on 19300). Ids are shortened to "
        "`pa_…`, `sub_…`; everything else is exactly what the services answered. Get a "
        "token with `.venv/bin/gwstack token acc_demo`.\n")  # fmt: skip

    say("## Scenario 1 — 4242 4242 4242 4242 → active\n")
    token = account("s1")
    call("GET", f"{BILLING}/api/billing/plans")
    attempt = start(token)
    pay(attempt["checkoutUrl"], "4242 4242 4242 4242")
    wait_for(token, "active")
    status(token, attempt)
    call("GET", f"{BILLING}/api/billing/subscription", token)

    say("\n## Scenario 2 — declined card → `CARD_DECLINED`, nothing active\n")
    token = account("s2")
    attempt = start(token)
    pay(attempt["checkoutUrl"], "4000 0000 0000 0002")
    status(token, attempt)
    call("GET", f"{BILLING}/api/billing/subscription", token)

    say("\n## Scenario 3 — cancel on the checkout page\n")
    token = account("s3")
    attempt = start(token)
    with httpx.Client(timeout=30) as browser:
        page = browser.get(attempt["checkoutUrl"])
        link = CANCEL.search(page.text)
        assert link is not None
        answer = browser.get(urljoin(attempt["checkoutUrl"], link.group(1).replace("&amp;", "&")))
        where = IDS.sub(lambda m: f"{m.group(1)}_…", answer.headers["location"])
        say(f"In the browser: **Cancel and go back** → `{answer.status_code}` to `{where}`\n")
    status(token, attempt)

    say("\n## Scenario 4 — 3-D Secure (4000 0027 6000 3184), approve and fail\n")
    say("### Approve\n")
    token = account("s4a")
    attempt = start(token)
    pay(attempt["checkoutUrl"], "4000 0027 6000 3184", three_ds="approve")
    status(token, attempt)
    say("\n### Fail\n")
    token = account("s4f")
    attempt = start(token)
    pay(attempt["checkoutUrl"], "4000 0027 6000 3184", three_ds="fail")
    status(token, attempt)

    say("\n## Scenario 5 — renewals fail (4000 0000 0000 0341) → past_due → canceled\n")
    token = account("s5")
    attempt = start(token)
    pay(attempt["checkoutUrl"], "4000 0000 0000 0341")
    wait_for(token, "active")
    call("GET", f"{BILLING}/api/billing/subscription", token)
    advance(31)
    wait_for(token, "past_due")
    say("The renewal failed (`invoice.payment_failed`, `customer.subscription.updated`):\n")
    call("GET", f"{BILLING}/api/billing/subscription", token)
    advance(9)
    wait_for(token, "canceled")
    say("The retries after 3 and 5 more days failed too; with the default "
        "`SANDBOX_DUNNING_FINAL_STATUS=canceled` the subscription ends:\n")  # fmt: skip
    call("GET", f"{BILLING}/api/billing/subscription", token)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
