"""``GET /health``: the sandbox's liveness and database."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.common.health import VERSION, database_check
from services.sandbox_provider.context import Sandbox
from services.sandbox_provider.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A check failed (`status: degraded`)."}},
)
async def health(sandbox: Sandbox) -> JSONResponse:
    """200 with `status: ok` when the sandbox can serve; 503 `degraded` otherwise."""
    checks = {"database": await database_check(sandbox.sessions)}
    ok = all(value == "ok" for value in checks.values())
    body = HealthOut(status="ok" if ok else "degraded", version=VERSION, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
