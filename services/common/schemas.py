"""Wire models shared by every service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """JSON in camelCase; unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    requestId: str
    details: dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    """``{"error": {"code", "message", "requestId"}}`` — the shape of every error."""

    error: ErrorDetail
