"""User identity: a signed JWT whose ``sub`` is the account id.

billing_api and the planner take the account only from a verified token, never
from a parameter, so one account cannot name another's data.
"""

from __future__ import annotations

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
        claims = jwt.decode(
            token,
            key,
            algorithms=[_algorithm(settings)],
            issuer=settings.auth_jwt_issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated(case="expired") from exc
    except jwt.PyJWTError as exc:
        raise unauthenticated(case="rejected") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not ACCOUNT_ID.fullmatch(subject):
        raise unauthenticated(case="rejected")
    return subject


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
    token: Annotated[str, Depends(bearer_token)], settings: AppSettings
) -> str:
    return verify_token(token, settings)


CurrentAccount = Annotated[str, Depends(current_account)]
