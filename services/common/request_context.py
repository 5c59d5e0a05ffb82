"""The id of the request being served, for logs and error bodies."""

from __future__ import annotations

import random
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    # A label for finding a request's log lines, not a secret: it is sent to the client and
    # logged. So not secrets.token_hex, whose os.urandom call was a few percent of a cheap
    # request; 96 random bits keep ids from colliding all the same (random reseeds on fork).
    return f"req_{random.getrandbits(96):024x}"


def current_request_id() -> str:
    return _request_id.get() or new_request_id()


def bind_request_id(request_id: str) -> object:
    return _request_id.set(request_id)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
