"""Liveness for site-check and load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.health import VERSION

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, Any]:
    """landing is up. Answers without calling billing_api: landing has no database of its
    own, and a billing outage shows on billing_api's own check."""
    return {"status": "ok", "service": "landing", "version": VERSION}
