from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.sandbox_provider.context import Sandbox
from services.sandbox_provider.database import transaction
from services.sandbox_provider.schemas import HealthOut

router = APIRouter(tags=["health"])

VERSION = "0.1.0"


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A check failed (`status: degraded`)."}},
)
async def health(sandbox: Sandbox) -> JSONResponse:
    """200 with `status: ok` when the sandbox can serve; 503 `degraded` otherwise."""
    checks = {"database": "ok"}
    try:
        async with transaction(sandbox.sessions) as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        checks["database"] = "unreachable"
    ok = all(value == "ok" for value in checks.values())
    body = HealthOut(status="ok" if ok else "degraded", version=VERSION, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
