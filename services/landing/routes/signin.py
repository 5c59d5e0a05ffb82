"""Development sign-in (email only), sign-out and the language switch.

Production has no sign-in form here: the company's identity provider signs the
user in and hands landing the token (see docs/landing_billing_integration.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.auth import mint_token
from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.landing.deps import see_other
from services.landing.pages import render
from services.landing.web import (
    LANG_COOKIE,
    SESSION_TTL_SECONDS,
    CsrfChecked,
    LandingSettings,
    account_for_email,
    clear_session,
    safe_next,
    secure_cookies,
    set_session,
    valid_email,
)

router = APIRouter()


def _dev_signin_allowed(settings: LandingSettings) -> bool:
    return settings.dev_signin_enabled and settings.gw_env != "production"


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, settings: LandingSettings, next: str = "/") -> Response:
    """The email-only sign-in form (development), or a note that the IdP signs people in."""
    return render(
        request,
        "signin.html",
        next=safe_next(next),
        enabled=_dev_signin_allowed(settings),
        problem=None,
        email="",
    )


@router.post("/signin", dependencies=[CsrfChecked])
async def signin(
    request: Request,
    settings: LandingSettings,
    email: Annotated[str, Form(max_length=254)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
) -> Response:
    """Sign in as the account of this email and go back to ``next`` (our own paths only)."""
    if not _dev_signin_allowed(settings):
        raise AppError(ErrorCode.NOT_FOUND)
    if not valid_email(email):
        return render(
            request,
            "signin.html",
            status_code=422,
            next=safe_next(next),
            enabled=True,
            problem="signin_email_invalid",
            email=email,
        )
    token = mint_token(account_for_email(email), settings, ttl=SESSION_TTL_SECONDS)
    response = see_other(safe_next(next))
    set_session(response, token, settings)
    return response


@router.post("/signout", dependencies=[CsrfChecked])
async def signout(settings: LandingSettings) -> RedirectResponse:
    """Forget the session cookie."""
    response = see_other("/")
    clear_session(response, settings)
    return response


@router.get("/lang/{locale}")
async def switch_language(locale: str, settings: LandingSettings, next: str = "/") -> Response:
    """Remember the chosen language and go back to the page it was chosen on."""
    if locale not in ("tr", "en"):
        raise AppError(ErrorCode.NOT_FOUND)
    response = see_other(safe_next(next))
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=secure_cookies(settings),
        path="/",
    )
    return response
