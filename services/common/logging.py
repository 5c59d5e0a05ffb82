"""JSON logs with request ids, and redaction of anything secret.

Secrets, tokens and card-like numbers must never reach a log line, whoever
wrote the line: redaction runs as the last processor on every event, on keys
and on values.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from services.common.request_context import _request_id

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|authorization|api[_-]?key|cookie|card|cvc|cvv|pan|signature)",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(whsec_[A-Za-z0-9+/=]+"
    r"|(sk|rk|pk)_(test|live)_[A-Za-z0-9]+"
    r"|Bearer\s+[A-Za-z0-9._~+/=-]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"
)
_CARD_LIKE = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return REDACTED if _luhn_ok(digits) else match.group(0)


# Every alternative of _SECRET_VALUE contains one of these, so text without any of them
# cannot match and skips that search.
_SECRET_VALUE_MARKERS = ("whsec_", "_test_", "_live_", "Bearer", "eyJ")


def redact_text(text: str) -> str:
    if any(marker in text for marker in _SECRET_VALUE_MARKERS):
        text = _SECRET_VALUE.sub(REDACTED, text)
    return _CARD_LIKE.sub(_mask_card, text)


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    # Log lines reuse a handful of keys, and this case-insensitive search over a dozen
    # words, run on every key of every line, was most of what an access log line cost.
    return _SECRET_KEY.search(key) is not None


def redact(value: Any, key: str = "") -> Any:
    if key and _is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _redact_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event):
        if key in ("event", "exception"):
            event[key] = redact(event[key])
        else:
            event[key] = redact(event[key], key)
    return event


def _add_request_id(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = _request_id.get()
    if request_id and "request_id" not in event:
        event["request_id"] = request_id
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging (uvicorn, SQLAlchemy) through one JSON renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)
    # Our RequestFrame writes the access log (with the request id); uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
