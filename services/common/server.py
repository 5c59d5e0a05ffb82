"""The HTTP server every service runs under: uvicorn with httptools, the head bounded.

uvicorn's parsers do not bound a request head on their own terms: with
httptools, eight 50 MB ``Authorization`` headers took a process past a
gigabyte before any route ran (the parser gathers each header in memory). So
``BoundedHttpToolsProtocol`` feeds the parser at most ``MAX_HEADER_BYTES`` of
an unfinished request head and answers anything longer ``431
REQUEST_HEADERS_TOO_LARGE`` in our coded JSON envelope (malformed HTTP: ``400
MALFORMED_REQUEST``) instead of uvicorn's plain text. The request frame
(``services/common/http.py``) also bounds the count and total size of headers
that reach an app, whatever server runs it.

httptools (llhttp, in C), not h11: h11 parses in Python, and on the hottest read
that cost about a tenth of the request's CPU (docs/payment_security_notes.md).
``BoundedH11Protocol`` stays for anyone who runs uvicorn with h11.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from services.common.error_codes import ErrorCode, spec_for
from services.common.request_context import new_request_id

# A JWT, a session cookie and the usual headers fit in a few kilobytes.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100
PROTOCOL = "services.common.server:BoundedHttpToolsProtocol"


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


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, the request head bounded, refusals coded JSON.

    While a request head is unfinished the parser gets at most ``MAX_HEADER_BYTES`` of
    it; a head that has not ended by then is answered 431 and the connection closed. (A
    pipelined head that starts in the same read as the previous request's end is counted
    from the next read on, so it can exceed the bound by one read, never grow without
    one; the request frame then refuses it by its headers' total size.)

    Measured on the subscription read: h11 cost 0.15-0.3 ms of server CPU per request
    more than this (1.3 ms against 1.5 ms on this 2-core machine).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # waiting for, or reading, a request head
        self._head_bytes = 0  # of it fed to the parser so far
        self._heads_read = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEADER_BYTES - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        heads_before = self._heads_read
        self._head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads_read == heads_before:  # the bound passed inside one head
            self._refuse(ErrorCode.REQUEST_HEADERS_TOO_LARGE, 431)
            return
        self.data_received(data[room:])  # the rest, bounded the same way

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_read += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this when httptools cannot parse the request.
        self._refuse(ErrorCode.MALFORMED_REQUEST, 400)

    def _refuse(self, code: ErrorCode, status: int) -> None:
        self._refused = True
        body = refusal_body(code)
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
