"""What every gw_stack HTTP app gets: request ids, access logs, a body limit,
security headers and the one error envelope for every failure."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.error_codes import REGISTRY, ErrorCode
from services.common.errors import (
    AppError,
    error_body,
    error_response,
    error_responses,
    preferred_locale,
)
from services.common.gc_tuning import frozen_after_startup
from services.common.request_context import bind_request_id, new_request_id, reset_request_id
from services.common.schemas import ErrorEnvelope
from services.common.server import MAX_HEADER_BYTES, MAX_HEADER_COUNT

log = structlog.get_logger("gw_stack.http")

# The request log's status for a request whose client left before sending it whole
# (nginx's convention); nothing is sent.
CLIENT_CLOSED_REQUEST = 499

_INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{8,64}")

# How an app words a refusal the frame makes before any route runs (a body or headers too
# large): a response, or None for the JSON envelope. A site's pages answer people.
Refusal = Callable[[Scope, ErrorCode, int], Response | None]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class RequestFrame:
    """Pure ASGI middleware: request id, body-size limit, security headers, access log.

    Pure ASGI (not BaseHTTPMiddleware) so large bodies stream through untouched and
    the limit is enforced while reading, not after buffering an unbounded body.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, service: str, refusal: Refusal | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.service = service
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope["headers"]
        if len(raw_headers) > MAX_HEADER_COUNT or (
            sum(len(name) + len(value) for name, value in raw_headers) > MAX_HEADER_BYTES
        ):
            # Our server protocol (services.common.server) bounds an unfinished request
            # head; this holds whatever server runs the app, and bounds the count too.
            await self._refuse(scope, send, ErrorCode.REQUEST_HEADERS_TOO_LARGE, 431)
            return
        headers = dict(raw_headers)
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _INCOMING_REQUEST_ID.fullmatch(incoming) else new_request_id()
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}
        try:
            declared = headers.get(b"content-length")
            if declared is not None and _too_large(declared, self.max_body_bytes):
                await self._refuse(scope, send, ErrorCode.PAYLOAD_TOO_LARGE, 413)
                status_holder["status"] = 413
                return

            received = 0
            too_large = False
            replaced = False

            async def limited_receive() -> Message:
                # Past the limit the app sees a disconnect; whatever it answers is then
                # replaced by our 413 below (frameworks turn read errors into a 400).
                nonlocal received, too_large
                if too_large:
                    return {"type": "http.disconnect"}
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        too_large = True
                        return {"type": "http.disconnect"}
                return message

            async def send_with_headers(message: Message) -> None:
                nonlocal replaced
                if too_large:
                    if not replaced:
                        replaced = True
                        status_holder["status"] = 413
                        await self._refuse(scope, send, ErrorCode.PAYLOAD_TOO_LARGE, 413)
                    return
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    status_holder["started"] = 1
                    extra = [(b"x-request-id", request_id.encode())]
                    extra.extend(SECURITY_HEADERS)
                    message["headers"] = list(message.get("headers", [])) + extra
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_headers)
            except ClientDisconnect:
                if too_large:
                    if not replaced:
                        await self._refuse(scope, send, ErrorCode.PAYLOAD_TOO_LARGE, 413)
                        status_holder["status"] = 413
                    return
                # The client went away before its request arrived whole (a load generator
                # stopping, a closed tab): nobody to answer, and not an error of ours.
                status_holder["status"] = CLIENT_CLOSED_REQUEST
                log.info("client disconnected", service=self.service, path=scope.get("path"))
            except Exception:
                # A bug. Answered here, inside the request-id context, so the 500 body
                # and the log line carry the same id; nothing internal reaches the client.
                if too_large:
                    if not replaced:
                        await self._refuse(scope, send, ErrorCode.PAYLOAD_TOO_LARGE, 413)
                        status_holder["status"] = 413
                    return
                log.exception("unhandled error", service=self.service, path=scope.get("path"))
                if status_holder.get("started"):
                    raise
                await JSONResponse(error_body(ErrorCode.INTERNAL_ERROR), status_code=500)(
                    scope, receive, send_with_headers
                )
        finally:
            log.info(
                "request",
                service=self.service,
                method=scope.get("method"),
                path=scope.get("path"),
                status=status_holder["status"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )
            reset_request_id(token)

    async def _refuse(self, scope: Scope, send: Send, code: ErrorCode, status: int) -> None:
        response = self.refusal(scope, code, status) if self.refusal is not None else None
        if response is None:
            response = JSONResponse(error_body(code), status_code=status)
        # The body was not read (or not all of it): this connection cannot carry another.
        response.headers["connection"] = "close"

        async def no_body() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, no_body, send)


def _too_large(declared: bytes, limit: int) -> bool:
    try:
        return int(declared) > limit
    except ValueError:
        return False


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    problems = []
    for err in exc.errors()[:50]:
        location = [str(part) for part in err.get("loc", ()) if part != "body"]
        problems.append({"field": ".".join(location), "problem": str(err.get("msg", ""))})
    return problems


# Every method a route of ours may serve (HEAD only where a route declares it).
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """The methods some route serves at this path, asked of the routes themselves.

    ``route.matches`` (Starlette's public routing API) is asked once per method, so
    routers that FastAPI includes lazily (without copying their routes onto the app)
    answer too; reading ``app.routes`` sees only the included routers, not their paths.
    """
    methods = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)


def install_common(
    app: FastAPI, *, service: str, max_body_bytes: int, refusal: Refusal | None = None
) -> None:
    """Attach middleware and exception handlers; call once from each app factory.
    ``refusal`` words the frame's own refusals (JSON unless it gives a response).
    Once the app's own start-up has run, its start-up heap is frozen out of the garbage
    collector's reach (``services/common/gc_tuning.py``) unless its settings say not to."""
    app.router.lifespan_context = frozen_after_startup(
        app.router.lifespan_context,
        enabled=lambda app: (
            getattr(app.state, "settings", None) is None
            or app.state.settings.gc_freeze_after_startup
        ),
    )

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(
            request,
            exc.code,
            message=exc.message,
            case=exc.case,
            details=exc.details,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            return error_response(request, ErrorCode.INVALID_JSON)
        return error_response(
            request, ErrorCode.VALIDATION_ERROR, details={"problems": _validation_details(exc)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: ErrorCode.UNAUTHENTICATED,
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            413: ErrorCode.PAYLOAD_TOO_LARGE,
            415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            422: ErrorCode.VALIDATION_ERROR,
            429: ErrorCode.RATE_LIMITED,
            503: ErrorCode.SERVICE_UNAVAILABLE,
        }.get(exc.status_code)
        if code is None:
            code = ErrorCode.VALIDATION_ERROR if exc.status_code < 500 else ErrorCode.INTERNAL_ERROR
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names only the first route on the path; list every method it has.
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        if REGISTRY[code].http_status != exc.status_code:
            # Keep the status the framework chose (e.g. 400 for a bad header).
            body = error_body(code, locale=preferred_locale(request))
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        return error_response(request, code, headers=headers)

    app.add_middleware(
        RequestFrame, max_body_bytes=max_body_bytes, service=service, refusal=refusal
    )
    _document_frame_answers(app)


_FASTAPI_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"


def _document_frame_answers(app: FastAPI) -> None:
    """Put the answers every route can give into the OpenAPI document: a JSON body
    that does not parse is ``400 INVALID_JSON``, refused headers ``431``, and the 422
    FastAPI documents as its own ``{"detail": [...]}`` is our ``VALIDATION_ERROR``
    envelope, as answered (the handler above)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorEnvelope" not in schemas:
            envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(envelope.pop("$defs", {}))
            schemas["ErrorEnvelope"] = envelope
        invalid_json = error_responses(ErrorCode.INVALID_JSON)[400]
        too_large = error_responses(ErrorCode.REQUEST_HEADERS_TOO_LARGE)[431]
        invalid = _as_openapi(error_responses(ErrorCode.VALIDATION_ERROR)[422])
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" in content and "400" not in responses:
                    responses["400"] = _as_openapi(invalid_json)
                responses.setdefault("431", _as_openapi(too_large))
                json_422 = responses.get("422", {}).get("content", {}).get("application/json")
                if json_422 == {"schema": {"$ref": _FASTAPI_VALIDATION_ERROR}}:
                    responses["422"] = invalid
        if _FASTAPI_VALIDATION_ERROR not in json.dumps(schema["paths"]):
            schemas.pop("HTTPValidationError", None)
            if "#/components/schemas/ValidationError" not in json.dumps(schema):
                schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _as_openapi(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
