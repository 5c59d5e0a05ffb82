"""The error envelope every service answers with.

Exception tree::

    AppError                        an answer we mean to give: a registered code, its status
    ├── CheckoutSessionNotFound     sandbox_provider/errors.py (404 NOT_FOUND)
    ├── SubscriptionNotFound        sandbox_provider/errors.py (404 NOT_FOUND)
    └── SubscriptionNotCancelable   sandbox_provider/errors.py (409)

billing_api and the planner raise ``AppError(ErrorCode.X, details=...)`` directly.

Anything else that escapes a route is a bug and becomes ``500 INTERNAL_ERROR``
with a message that says nothing internal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from services.common.error_codes import ErrorCode, spec_for
from services.common.request_context import current_request_id
from services.common.schemas import ErrorEnvelope


class AppError(Exception):
    """An error answer with a registered code."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        case: str | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """``message`` overrides the registry's text (English only); ``case`` picks one of
        the code's registered variants, answered in the request's language."""
        self.spec = spec_for(code)
        if self.spec.http_status is None:
            raise ValueError(f"{code} is not an HTTP error code")
        self.code = code
        self.status_code: int = self.spec.http_status
        self.message = message
        self.case = case
        self.details = dict(details) if details else None
        self.headers = dict(headers) if headers else None
        self.extra = dict(extra) if extra else None
        super().__init__(message or self.spec.message("en", case))


def preferred_locale(request: Request) -> str:
    """``tr`` when the client prefers Turkish, else ``en`` (a coarse Accept-Language read)."""
    header = request.headers.get("accept-language", "")
    first = header.split(",", 1)[0].strip().lower()
    return "tr" if first.startswith("tr") else "en"


def error_body(
    code: ErrorCode,
    *,
    locale: str = "en",
    message: str | None = None,
    case: str | None = None,
    details: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message or spec_for(code).message(locale, case),
        "requestId": current_request_id(),
    }
    if details:
        error["details"] = dict(details)
    if extra:
        error.update(extra)
    return {"error": error}


def error_response(
    request: Request,
    code: ErrorCode,
    *,
    message: str | None = None,
    case: str | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    status = spec_for(code).http_status
    assert status is not None, code
    body = error_body(
        code,
        locale=preferred_locale(request),
        message=message,
        case=case,
        details=details,
        extra=extra,
    )
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def error_responses(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: each status with the codes it may carry."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        status = spec_for(code).http_status
        assert status is not None, code
        by_status.setdefault(status, []).append(code)
    return {
        status: {
            "description": "Error codes: " + ", ".join(f"`{c}`" for c in sorted(group)),
            "model": ErrorEnvelope,
        }
        for status, group in sorted(by_status.items())
    }
