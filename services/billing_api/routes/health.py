"""``GET /health``: billing_api's liveness, database and provider."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.billing_api.context import Billing
from services.billing_api.schemas import HealthOut
from services.common.health import VERSION, database_check

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A check failed (`status: degraded`)."}},
)
async def health(billing: Billing) -> JSONResponse:
    """Liveness and readiness for the release gate.

    200 with `status: ok` and `service: billing_api` when billing_api can serve;
    503 with `status: degraded` and the failing check otherwise.
    """
    checks = {"database": await database_check(billing.reads)}
    ok = all(value == "ok" for value in checks.values())
    body = HealthOut(
        status="ok" if ok else "degraded",
        service="billing_api",
        version=VERSION,
        provider=billing.settings.payment_provider,
        checks=checks,
    )
    return JSONResponse(body.model_dump(by_alias=True), status_code=200 if ok else 503)
