"""Standard Webhooks signatures: the one signer and verifier every service uses.

The scheme is the spec's (HMAC-SHA256 over ``"{id}.{timestamp}.{body}"``, header
``webhook-signature: v1,<base64>``, secret ``whsec_<base64>``), so any Standard
Webhooks library can check what we send. We verify with our own few lines, on the
raw bytes, rather than ``standardwebhooks.Webhook.verify``: that one decodes the
body as UTF-8 and splits the header without guarding either (a hostile request
became a 500) and has a fixed five-minute tolerance that no setting changes.

Read like stripe-python's ``_webhook.py``: parse the headers, compute the HMAC,
compare in constant time, check the timestamp's tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# A Unix time in seconds has 10 digits until the year 2286; more is not a timestamp.
_MAX_TIMESTAMP_DIGITS = 12
# Several signatures may be sent while a secret rotates; more than this is not a rotation.
_MAX_SIGNATURES = 8


class SignatureInvalid(Exception):
    """Missing, malformed, wrong or stale signature headers."""


def secret_bytes(secret: str) -> bytes:
    """The key of a ``whsec_<base64>`` secret (unpadded base64 accepted, like the spec's SDKs)."""
    encoded = secret.removeprefix(_SECRET_PREFIX)
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    if not key:
        raise ValueError("webhook secret may not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secret: str, msg_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` now."""
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Return if ``body`` carries a valid, fresh signature; raise ``SignatureInvalid`` if not."""
    msg_id = headers.get("webhook-id", "")
    timestamp_text = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and timestamp_text and signatures):
        raise SignatureInvalid("missing signature headers")
    if not (timestamp_text.isascii() and timestamp_text.isdigit()) or (
        len(timestamp_text) > _MAX_TIMESTAMP_DIGITS
    ):
        raise SignatureInvalid("malformed timestamp")

    timestamp = int(timestamp_text)
    expected = base64.b64decode(sign(secret, msg_id, timestamp, body).removeprefix("v1,"))
    if not any(
        hmac.compare_digest(expected, candidate)
        for candidate in _v1_signatures(signatures.split(" ")[:_MAX_SIGNATURES])
    ):
        raise SignatureInvalid("no matching signature")

    # Checked after the HMAC, as the spec's libraries do, so a stale message and a
    # forged one are told apart only to whoever holds the secret.
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureInvalid("timestamp outside the tolerance")


def _v1_signatures(parts: list[str]) -> list[bytes]:
    """The decodable ``v1`` signatures of the header; anything else is skipped."""
    found = []
    for part in parts:
        version, _, encoded = part.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
