"""The HTTP server every service runs under: uvicorn with h11, headers bounded.

uvicorn's default parser (httptools) puts no bound on request headers: eight
50 MB ``Authorization`` headers took a process past a gigabyte before any route
ran. h11 buffers at most ``MAX_HEADER_BYTES`` of an unfinished request head and
refuses the rest, so that is the parser we run, and this protocol answers its
refusals in our coded JSON envelope (431 ``REQUEST_HEADERS_TOO_LARGE``, 400
``MALFORMED_REQUEST``) instead of uvicorn's plain text. The request frame
(``services/common/http.py``) also bounds the count and total size of headers
that reach an app, whatever server runs it.

The cost: h11 is pure Python, so parsing a request costs more CPU than with
httptools' C parser (see docs/payment_security_notes.md for the figures).
"""

from __future__ import annotations

import json
import sys

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.common.error_codes import ErrorCode, spec_for
from services.common.request_context import new_request_id

# A JWT, a session cookie and the usual headers fit in a few kilobytes.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100
PROTOCOL = "services.common.server:BoundedH11Protocol"


def refusal_body(code: ErrorCode) -> bytes:
    spec = spec_for(code)
    error = {"code": str(code), "message": spec.en, "requestId": new_request_id()}
    return json.dumps({"error": error}).encode()


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, answering refused requests with a coded JSON error."""

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this from inside its `except h11.RemoteProtocolError`, so the
        # error is the one being handled; h11 hints 431 for an over-long request head.
        error = sys.exc_info()[1]
        status = getattr(error, "error_status_hint", 400) if error else 400
        code = ErrorCode.REQUEST_HEADERS_TOO_LARGE if status == 431 else ErrorCode.MALFORMED_REQUEST
        body = refusal_body(code)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers)))
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.write(self.conn.send(h11.EndOfMessage()))
        self.transport.close()
