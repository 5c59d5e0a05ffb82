"""User identity: a signed JWT whose ``sub`` is the account id.

billing_api and the planner take the account only from a verified token, never
from a parameter, so one account cannot name another's data.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.common.error_codes import ErrorCode
from services.common.errors import AppError
from services.common.settings import Settings

# Always used with fullmatch: "$" would also match before a trailing newline ("acc_x\n").
ACCOUNT_ID = re.compile(r"acc_[A-Za-z0-9_-]{1,60}")
_LEEWAY_SECONDS = 30


def _algorithm(settings: Settings) -> str:
    return "RS256" if settings.auth_jwt_public_key else "HS256"


def mint_token(account_id: str, settings: Settings, *, ttl: int = 3600) -> str:
    """A development token (HS256 with AUTH_JWT_SECRET); production tokens come from the IdP."""
    if not ACCOUNT_ID.fullmatch(account_id):
        raise ValueError("account id must look like acc_<letters, digits, _ or ->")
    now = int(time.time())
    claims = {"sub": account_id, "iss": settings.auth_jwt_issuer, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.auth_jwt_secret.get_secret_value(), algorithm="HS256")


def verify_token(token: str, settings: Settings) -> str:
    """The account id of a valid token; ``UNAUTHENTICATED`` for anything else."""
    key = settings.auth_jwt_public_key or settings.auth_jwt_secret.get_secret_value()
    try:
        subject, expires = _verified(token, key, _algorithm(settings), settings.auth_jwt_issuer)
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated(case="expired") from exc
    except jwt.PyJWTError as exc:
        raise unauthenticated(case="rejected") from exc
    # A token verified earlier is not re-verified, but its expiry is checked on every use.
    if time.time() > expires + _LEEWAY_SECONDS:
        raise unauthenticated(case="expired")
    return subject


# A browser or the planner sends the same token on every request until it expires, and
# checking its signature (base64, JSON, HMAC or RSA) was a few percent of a read's CPU.
# Keyed by the token *and* the key, algorithm and issuer, so a token is only ever taken on
# the strength of the very check it passed; failures are never cached (they raise).
@functools.lru_cache(maxsize=4096)
def _verified(token: str, key: str, algorithm: str, issuer: str) -> tuple[str, float]:
    """(account id, expiry as a Unix time) of a token whose signature and claims check out."""
    claims = jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        issuer=issuer,
        leeway=_LEEWAY_SECONDS,
        options={"require": ["sub", "exp", "iss"]},
    )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not ACCOUNT_ID.fullmatch(subject):
        raise jwt.InvalidTokenError("the subject is not an account id")
    return subject, float(claims["exp"])


def unauthenticated(message: str | None = None, *, case: str | None = None) -> AppError:
    """No token: "sign in"; a token we refuse (``case`` expired or rejected): "sign in again"."""
    return AppError(
        ErrorCode.UNAUTHENTICATED, message, case=case, headers={"WWW-Authenticate": "Bearer"}
    )


_bearer = HTTPBearer(auto_error=False, description="A gw_stack user token (JWT).")

# The dependencies below are ``async def`` although they never await: FastAPI runs a plain
# ``def`` dependency in its thread pool, a thread hop per dependency per request.


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated()
    return credentials.credentials


async def current_account(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    request: Request,
) -> str:
    # The bearer check and the settings inline rather than as the dependencies above:
    # FastAPI resolves every dependency layer on every request, and this one is on all.
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated()
    settings: Settings = request.app.state.settings
    return verify_token(credentials.credentials, settings)


CurrentAccount = Annotated[str, Depends(current_account)]
