"""What the sandbox's routes and workers share, built once per app."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.auth import unauthenticated
from services.common.settings import Settings
from services.sandbox_provider.config import SandboxConfig
from services.sandbox_provider.delivery import WebhookSender


@dataclass
class SandboxContext:
    settings: Settings
    config: SandboxConfig
    sessions: async_sessionmaker[AsyncSession]
    sender: WebhookSender

    @property
    def public_base_url(self) -> str:
        """Where browsers reach the sandbox (its hosted pages)."""
        return self.settings.payment_provider_endpoint.rstrip("/")


def sandbox_context(request: Request) -> SandboxContext:
    context: SandboxContext = request.app.state.sandbox
    return context


Sandbox = Annotated[SandboxContext, Depends(sandbox_context)]

_api_key = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer <PAYMENT_PROVIDER_API_KEY>`",
)


def require_api_key(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_key)],
    context: Sandbox,
) -> None:
    """The provider API's one credential, compared in constant time."""
    expected = context.settings.payment_provider_api_key.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials else b""
    if not (credentials and expected and hmac.compare_digest(given, expected)):
        raise unauthenticated("Invalid API key.")
