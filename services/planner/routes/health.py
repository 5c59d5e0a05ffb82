"""Liveness for site-check and load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.health import VERSION

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, Any]:
    """The planner is up. Answers without touching billing or a database."""
    return {"status": "ok", "service": "planner", "version": VERSION}
