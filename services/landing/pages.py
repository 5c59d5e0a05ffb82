"""Rendering: every page gets its language, texts, CSRF token and the signed-in user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.types import Scope

from services.common.error_codes import ErrorCode
from services.landing.messages import error_hint, error_message, texts
from services.landing.web import csrf_token, locale_of, settings_of, store_csrf, viewer_of

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.globals["error_message"] = error_message
templates.env.globals["error_hint"] = error_hint


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = locale_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context.update(
        locale=locale,
        other_locale="en" if locale == "tr" else "tr",
        t=texts(locale),
        csrf=csrf_token(request),
        viewer=viewer_of(request),
        here=here,
    )
    # Pages carry a CSRF token and account data: never cached, by anyone.
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={"cache-control": "no-store"}
    )
    store_csrf(request, response, settings_of(request))
    return response


def error_page(request: Request, code: str, *, status_code: int) -> HTMLResponse:
    """A registered error as a page: its message, what to do next, never internals."""
    return render(request, "error.html", status_code=status_code, code=code)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def refusal_page(scope: Scope, code: ErrorCode, status: int) -> HTMLResponse | None:
    """A body or headers too large, refused before any route ran: a page for a person's
    form post or page visit; ``None`` (the JSON envelope) for any other client."""
    request = Request(scope)
    content_type = request.headers.get("content-type", "").lower()
    wants_page = content_type.startswith(_FORMS) or "text/html" in request.headers.get("accept", "")
    return error_page(request, code, status_code=status) if wants_page else None
