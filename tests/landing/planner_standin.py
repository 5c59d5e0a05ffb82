"""The planner as landing's /app sees it, for in-process page tests.

The real planner app answers what needs no database (``/v1/plan/from_csv``);
the gated endpoints are played here to DESIGN §7's contract, with the real
compiler and exports behind them, and knobs for what a page must survive:
the tier, billing trouble, a busy compile slot, a full compile queue.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from services.common.auth import CurrentAccount, verify_token
from services.common.errors import AppError
from services.common.settings import Settings
from services.planner import gating
from services.planner.app import create_app as create_planner
from services.planner.context import account_access
from services.planner.engine import (
    PlanInvalid,
    PlanJSONInvalid,
    compile_document,
    compile_plan,
    to_csv,
    to_ics,
)
from services.planner.gating import Tier

TIERS = {
    "free": {
        "tier": "free",
        "canSavePlans": False,
        "canExport": False,
        "maxConcurrentPlans": 1,
        "maxTasksPerPlan": 200,
    },
    "paid": {
        "tier": "paid",
        "canSavePlans": True,
        "canExport": True,
        "maxConcurrentPlans": 5,
        "maxTasksPerPlan": 20000,
    },
}


@dataclass(frozen=True)
class _TierOnly:
    """The part of the planner's access answer its CSV import reads."""

    feature_access: gating.FeatureAccess


@dataclass
class Saved:
    id: str
    account: str
    document: str
    created: str
    updated: str

    def summary(self) -> dict[str, Any]:
        doc = json.loads(self.document)
        return {
            "id": self.id,
            "name": doc["project"]["name"],
            "taskCount": len(doc["tasks"]),
            "createdAt": self.created,
            "updatedAt": self.updated,
        }


def _error(status: int, code: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code, **extra}})


@dataclass
class PlannerStandIn(httpx.AsyncBaseTransport):
    settings: Settings
    paid: set[str] = field(default_factory=set)  # accounts on the paid tier
    billing_ok: bool = True
    busy_seconds: int | None = None  # the account's compile slots: 429 with Retry-After
    queue_full_seconds: int | None = None  # the process's compile gate: 503 with Retry-After
    saved: dict[str, Saved] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        planner = create_planner(self.settings)
        # The CSV import applies the account's tier: this stand-in's, not billing_api's.
        planner.dependency_overrides[account_access] = self._access_of
        self._real = httpx.ASGITransport(app=planner)

    async def _access_of(self, account_id: CurrentAccount) -> _TierOnly:
        return _TierOnly(gating.TIERS[Tier.PAID if account_id in self.paid else Tier.FREE])

    def tier(self, account: str) -> dict[str, Any]:
        return TIERS["paid" if account in self.paid else "free"]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.calls.append(f"{method} {path}")
        if path == "/v1/access/tiers":
            return httpx.Response(200, json={"tiers": list(TIERS.values())})
        if path == "/v1/plan/from_csv":
            return await self._real.handle_async_request(request)
        try:
            account = verify_token(request.headers["authorization"].split()[-1], self.settings)
        except (AppError, KeyError):
            return _error(401, "UNAUTHENTICATED")
        body = await request.aread()
        access = self.tier(account)
        if path == "/v1/billing/access_preview":
            return httpx.Response(200, json={"ok": True, "featureAccess": access, "source": "live"})
        if path == "/v1/plan/compile_with_access_preview":
            return self._compile(body, access)
        if path == "/v1/plans":
            if method == "GET":
                mine = [s.summary() for s in self.saved.values() if s.account == account]
                return httpx.Response(200, json={"plans": mine[::-1]})
            return self._save(account, body, access, None)
        parts = path.split("/")  # ["", "v1", "plans", id, ("export")]
        found = self.saved.get(parts[3]) if len(parts) >= 4 else None
        if found is None or found.account != account:
            return _error(404, "SAVED_PLAN_NOT_FOUND")
        if len(parts) == 5 and parts[4] == "export":
            return self._export(found, request.url.params.get("format", ""), access)
        if method == "GET":
            return httpx.Response(
                200, json={"plan": {**found.summary(), "document": json.loads(found.document)}}
            )
        if method == "PUT":
            return self._save(account, body, access, found)
        if method == "DELETE":
            del self.saved[found.id]
            return httpx.Response(204)
        return _error(405, "METHOD_NOT_ALLOWED")

    def _refused(self, feature: str, access: dict[str, Any]) -> httpx.Response:
        return _error(
            403, "FEATURE_NOT_AVAILABLE", feature=feature, tier=access["tier"], upgradeUrl="/"
        )

    def _compile(self, body: bytes, access: dict[str, Any]) -> httpx.Response:
        if self.busy_seconds is not None:
            response = _error(429, "PLAN_CONCURRENCY_LIMIT")
            response.headers["Retry-After"] = str(self.busy_seconds)
            return response
        if self.queue_full_seconds is not None:
            response = _error(503, "SERVICE_UNAVAILABLE")
            response.headers["Retry-After"] = str(self.queue_full_seconds)
            return response
        try:
            plan = compile_plan(body, max_tasks=access["maxTasksPerPlan"])
        except PlanJSONInvalid:
            return httpx.Response(
                400, json={"ok": False, "error": {"code": "PLAN_INVALID_JSON"}, "errors": []}
            )
        except PlanInvalid as exc:
            code, status = ("PLAN_TOO_LARGE", 413) if exc.too_large else ("PLAN_INVALID", 422)
            errors = msgspec.to_builtins(exc.problems)
            return httpx.Response(
                status, json={"ok": False, "error": {"code": code}, "errors": errors}
            )
        billing = (
            {"ok": True, "preview": {}} if self.billing_ok else {"ok": False, "kind": "timeout"}
        )
        answer = {
            "ok": True,
            "plan": msgspec.to_builtins(plan),
            "billing": billing,
            "featureAccess": access,
            "source": "live" if self.billing_ok else "stale",
        }
        return httpx.Response(200, json=answer)

    def _save(
        self, account: str, body: bytes, access: dict[str, Any], existing: Saved | None
    ) -> httpx.Response:
        if not access["canSavePlans"]:
            return self._refused("canSavePlans", access)
        checked = self._compile(body, access)
        if checked.status_code != 200:
            return checked
        now = dt.datetime.now(dt.UTC).isoformat()
        if existing is None:
            existing = Saved("pln_" + secrets.token_hex(8), account, body.decode(), now, now)
            self.saved[existing.id] = existing
            return httpx.Response(201, json={"plan": existing.summary()})
        existing.document, existing.updated = body.decode(), now
        return httpx.Response(200, json={"plan": existing.summary()})

    def _export(self, saved: Saved, export_format: str, access: dict[str, Any]) -> httpx.Response:
        if not access["canExport"]:
            return self._refused("canExport", access)
        document, plan = compile_document(saved.document)
        if export_format == "ics":
            content = to_ics(document, plan, stamp=dt.datetime.now(dt.UTC))
            media = "text/calendar; charset=utf-8"
        else:
            content = to_csv(document, plan).encode()
            media = "text/csv; charset=utf-8"
        name = f"{document.project.id}.{export_format}"
        return httpx.Response(
            200,
            content=content,
            headers={
                "Content-Type": media,
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )
