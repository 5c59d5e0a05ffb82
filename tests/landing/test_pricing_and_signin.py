"""Pricing, the development sign-in, the language switch and the pages' headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.server import MAX_HEADER_BYTES
from services.common.settings import Settings
from services.landing.formatting import money
from services.landing.web import account_for_email, safe_next, set_session
from tests.landing.support import Site


class TestPricing:
    async def test_turkish_prices_are_formatted_for_turkish_readers(self, site: Site) -> None:
        page = await site.page("/", headers={"Accept-Language": "tr-TR,tr;q=0.9"})
        assert page.status_code == 200
        assert '<html lang="tr">' in page.text
        assert "₺299,00" in page.text
        assert "₺2.990,00" in page.text
        assert "14 gün ücretsiz deneme" in page.text

    async def test_turkish_readers_see_the_plans_turkish_names(self, site: Site) -> None:
        page = await site.page("/", headers={"Accept-Language": "tr-TR,tr;q=0.9"})
        names = re.findall(r'<h2 id="plan-[a-z_]+-name">([^<]+)</h2>', page.text)
        assert names == ["Ücretsiz", "Pro", "Pro (yıllık)"]
        assert "Free" not in page.text
        assert "(yearly)" not in page.text
        english = await site.page("/", headers={"Accept-Language": "en"})
        names = re.findall(r'<h2 id="plan-[a-z_]+-name">([^<]+)</h2>', english.text)
        assert names == ["Free", "Pro", "Pro (yearly)"]

    async def test_english_by_accept_language(self, site: Site) -> None:
        page = await site.page("/", headers={"Accept-Language": "en-GB"})
        assert '<html lang="en">' in page.text
        assert "TRY\u00a0299.00" in page.text
        assert "per month" in page.text

    async def test_one_choose_button_per_paid_plan(self, site: Site) -> None:
        html = (await site.page("/")).text
        assert 'data-testid="choose-plan-pro_monthly"' in html
        assert 'data-testid="choose-plan-pro_yearly"' in html
        assert 'data-testid="choose-plan-free"' not in html

    async def test_what_each_tier_unlocks_comes_from_the_planner(self, site: Site) -> None:
        html = (await site.page("/", headers={"Accept-Language": "en"})).text
        paid = html.split('data-testid="unlocks-pro_monthly"', 1)[1].split("</ul>", 1)[0]
        assert "Up to 20,000 tasks per plan" in paid
        assert "5 plan(s) compiling at once" in paid
        free = html.split('data-testid="unlocks-free"', 1)[1].split("</ul>", 1)[0]
        assert "Up to 200 tasks per plan" in free
        assert 'class="no"' in free

    async def test_pricing_still_renders_when_the_planner_is_down(self, site: Site) -> None:
        site.planner.up = False
        page = await site.page("/", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert 'data-testid="choose-plan-pro_monthly"' in page.text
        assert "unlocks-" not in page.text
        assert "Feature details are not available right now." in page.text

    def test_money_in_minor_units_for_zero_decimal_currencies(self) -> None:
        assert money(1500, "JPY", "tr") == "¥1.500"
        assert money(29900, "TRY", "tr") == "₺299,00"


class TestSignIn:
    async def test_sign_in_sets_an_httponly_lax_session_cookie(self, site: Site) -> None:
        csrf = await site.csrf()
        response = await site.client.post(
            "/signin", data={"email": "Ada@Example.com", "next": "/account", "csrf": csrf}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/account"
        cookie = next(v for k, v in response.headers.multi_items() if v.startswith("gw_session="))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Secure" not in cookie
        home = await site.page("/")
        assert 'data-testid="signout"' in home.text

    def test_the_cookie_is_secure_in_production(self) -> None:
        from fastapi.responses import Response

        response = Response()
        production = Settings.model_construct(gw_env="production")
        set_session(response, "token", production)
        assert "Secure" in response.headers["set-cookie"]

    def test_one_stable_account_per_email(self) -> None:
        assert account_for_email("Ada@Example.com ") == account_for_email("ada@example.com")
        assert account_for_email("ada@example.com") != account_for_email("bob@example.com")
        assert account_for_email("ada@example.com").startswith("acc_")

    async def test_an_invalid_email_is_asked_again(self, site: Site) -> None:
        csrf = await site.csrf()
        response = await site.client.post(
            "/signin",
            data={"email": "not-an-email", "csrf": csrf},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 422
        assert "Enter a valid email address." in response.text

    async def test_disabled_dev_signin_is_refused(self, site: Site) -> None:
        site.client._transport.app.state.settings = site.settings.model_copy(  # type: ignore[attr-defined]
            update={"dev_signin_enabled": False}
        )
        page = await site.page("/signin", headers={"Accept-Language": "en"})
        assert 'data-testid="signin-disabled"' in page.text
        csrf = await site.csrf()
        response = await site.client.post("/signin", data={"email": "a@b.co", "csrf": csrf})
        assert response.status_code == 404
        assert "gw_session" not in response.headers.get("set-cookie", "")

    async def test_a_post_without_the_csrf_token_is_refused_with_a_page(self, site: Site) -> None:
        await site.csrf()
        response = await site.client.post(
            "/signin", data={"email": "a@b.co", "csrf": "forged"}, headers={"Accept-Language": "en"}
        )
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "This form has expired" in response.text

    async def test_sign_out(self, site: Site) -> None:
        await site.sign_in()
        response = await site.client.post("/signout", data={"csrf": await site.csrf()})
        assert response.status_code == 303
        assert 'data-testid="nav-signin"' in (await site.page("/")).text

    async def test_sign_in_never_sends_the_user_to_another_site(self, site: Site) -> None:
        csrf = await site.csrf()
        for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
            response = await site.client.post(
                "/signin", data={"email": "a@b.co", "next": target, "csrf": csrf}
            )
            assert response.headers["location"] == "/"


@given(st.text(max_size=80))
def test_safe_next_only_answers_our_own_paths(value: str) -> None:
    chosen = safe_next(value)
    parts = urlsplit(chosen)
    assert chosen.startswith("/")
    assert not parts.scheme
    assert not parts.netloc
    assert not chosen.startswith("//")


class TestLanguageAndHeaders:
    async def test_the_switch_remembers_the_language(self, site: Site) -> None:
        response = await site.client.get("/lang/tr", params={"next": "/signin"})
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"
        page = await site.page("/signin", headers={"Accept-Language": "en"})
        assert '<html lang="tr">' in page.text
        assert "Giriş yap" in page.text

    async def test_security_headers(self, site: Site) -> None:
        page = await site.page("/")
        csp = page.headers["content-security-policy"]
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize("path", ["/nope", "/lang/de"])
    async def test_errors_are_pages_not_json(self, site: Site, path: str) -> None:
        await site.sign_in()
        page = await site.page(path)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert '{"error"' not in page.text
        assert "We could not find what you asked for." in page.text or "bulamadık" in page.text

    async def test_health(self, site: Site) -> None:
        body = (await site.client.get("/health")).json()
        assert body["status"] == "ok"
        assert body["service"] == "landing"


class TestOversizedRequests:
    """Refused before any route runs, yet a person still reads a page, in their language."""

    TOO_BIG = 5 * 1024 * 1024  # over LANDING_MAX_UPLOAD_BYTES, the largest body landing reads

    async def test_an_oversized_form_post_is_a_page(self, site: Site) -> None:
        response = await site.client.post(
            "/signin",
            data={"email": "x" * self.TOO_BIG, "csrf": await site.csrf()},
            headers={"Accept-Language": "tr-TR"},
        )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["connection"] == "close"
        assert 'data-testid="error" data-code="PAYLOAD_TOO_LARGE"' in response.text
        assert "İstek çok büyük." in response.text
        assert "Daha küçük bir dosya yükleyin" in response.text
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    async def test_an_upload_streamed_past_the_limit_is_a_page(self, site: Site) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n\r\n'
            for _ in range(self.TOO_BIG // 65536 + 1):
                yield b"x" * 65536

        response = await site.client.post(
            "/app/plans/upload",
            content=chunks(),  # no Content-Length: the limit holds while reading
            headers={"Content-Type": "multipart/form-data; boundary=b", "Accept-Language": "en"},
        )
        assert response.status_code == 413
        assert "The request is too large." in response.text
        assert "Upload a smaller file" in response.text

    async def test_an_api_client_gets_the_json_envelope(self, site: Site) -> None:
        response = await site.client.post(
            "/signin",
            content=b" " * self.TOO_BIG,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_oversized_headers_on_a_page_visit_are_a_page(self, site: Site) -> None:
        response = await site.client.get(
            "/", headers={"Accept": "text/html", "X-Padding": "x" * (MAX_HEADER_BYTES + 1)}
        )
        assert response.status_code == 431
        assert 'data-code="REQUEST_HEADERS_TOO_LARGE"' in response.text
