"""What every landing page needs from the request: who is signed in, which language,
the CSRF token, safe return paths, and signed links.

The session is the user token itself (a JWT), kept in an HttpOnly, SameSite=Lax
cookie and sent to billing_api as ``Authorization: Bearer``. CSRF uses a random
per-browser token in its own HttpOnly cookie, repeated in every form and compared
in constant time; SameSite=Lax alone would still let a same-site page post.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from services.common.auth import verify_token
from services.common.error_codes import ErrorCode
from services.common.errors import AppError, preferred_locale
from services.common.settings import Settings

SESSION_COOKIE = "gw_session"
CSRF_COOKIE = "gw_csrf"
LANG_COOKIE = "gw_lang"
SESSION_TTL_SECONDS = 8 * 3600
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}$")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


LandingSettings = Annotated[Settings, Depends(settings_of)]


def locale_of(request: Request) -> str:
    """The switch's cookie first, then Accept-Language."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("tr", "en"):
        return chosen
    return preferred_locale(request)


def safe_next(value: str | None) -> str:
    """Only our own relative paths: never another origin, so no open redirect."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 33 or ord(ch) == 127 for ch in value)
        or len(value) > 512
    ):
        return "/"
    return value


def account_for_email(email: str) -> str:
    """A stable account id per email (the development sign-in has no user table)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"acc_{digest[:24]}"


def valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.match(email.strip()) is not None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user: the account and the token to act for it."""

    account_id: str
    token: str


def viewer_of(request: Request) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 4096:
        return None
    try:
        account_id = verify_token(token, settings_of(request))
    except AppError:
        return None
    return Viewer(account_id, token)


def secure_cookies(settings: Settings) -> bool:
    return settings.gw_env == "production"


def set_session(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path="/",
    )


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=secure_cookies(settings), path="/"
    )


# -- CSRF ---------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """This browser's token; a new one (set on the response by ``render``) if it has none."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", existing):
        return existing
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return fresh


def store_csrf(request: Request, response: Response, settings: Settings) -> None:
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE,
            fresh,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(settings),
            path="/",
        )


async def require_csrf(request: Request, csrf: Annotated[str, Form(max_length=128)] = "") -> None:
    """Every form post carries the browser's CSRF token."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise AppError(ErrorCode.FORM_EXPIRED)


CsrfChecked = Depends(require_csrf)


# -- signed links ---------------------------------------------------------------


def sign(settings: Settings, *parts: str) -> str:
    key = settings.landing_secret_key.get_secret_value().encode()
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_ok(settings: Settings, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(sign(settings, *parts).encode(), signature.encode())
