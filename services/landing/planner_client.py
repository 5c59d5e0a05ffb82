"""landing's only way to the planner: HTTP with the signed-in user's token, on the
app's one ``httpx.AsyncClient``.

Every refusal or failure comes back as ``PlannerError`` with a registered code,
so a page can always say something true in the user's language; the wire's raw
JSON never reaches a page.

Exception tree::

    PlannerError        the planner answered a coded error, or could not be reached/read
    └── PlanRejected    the plan itself is the reason (400/413/422): ``problems`` lists why
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from services.common.error_codes import ErrorCode
from services.common.request_context import current_request_id

M = TypeVar("M", bound=BaseModel)

ExportFormat = Literal["ics", "csv"]
_FILE_NAME = re.compile(r'filename="?([A-Za-z0-9_.-]{1,120})"?')


class PlannerError(Exception):
    """The planner refused, failed or could not be reached; ``code`` is registered."""

    def __init__(
        self,
        code: str,
        *,
        status: int,
        retry_after: int | None = None,
        feature: str | None = None,
    ) -> None:
        self.code = ErrorCode(code) if code in ErrorCode.__members__ else ErrorCode.INTERNAL_ERROR
        self.status = status
        self.retry_after = retry_after
        self.feature = feature
        super().__init__(self.code)


class PlanRejected(PlannerError):
    """The document does not compile (or is over the tier's size); every reason found."""

    def __init__(self, code: str, *, status: int, problems: list[Problem]) -> None:
        super().__init__(code, status=status)
        self.problems = problems


class _Wire(BaseModel):
    # Tolerant of fields the planner adds later; strict about the ones we use.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Problem(_Wire):
    code: str
    message: str = ""
    path: str = ""
    details: dict[str, Any] = {}


class FeatureAccess(_Wire):
    tier: Literal["free", "paid"]
    can_save_plans: bool
    can_export: bool
    max_concurrent_plans: int
    max_tasks_per_plan: int


FREE_TIER = FeatureAccess(
    tier="free",
    can_save_plans=False,
    can_export=False,
    max_concurrent_plans=1,
    max_tasks_per_plan=200,
)


class _BillingState(_Wire):
    ok: bool
    kind: str | None = None


class Compiled(_Wire):
    """``compile_with_access_preview``: the schedule, and what the account may do with it."""

    plan: dict[str, Any]
    billing: _BillingState
    feature_access: FeatureAccess
    source: str = "live"

    @property
    def billing_ok(self) -> bool:
        return self.billing.ok


class SavedPlan(_Wire):
    id: str
    name: str
    task_count: int
    created_at: datetime
    updated_at: datetime


class SavedPlanWithDocument(SavedPlan):
    document: dict[str, Any]


class _Access(_Wire):
    feature_access: FeatureAccess
    source: str


class _SavedPlans(_Wire):
    plans: list[SavedPlan]


class _SavedPlanEnvelope(_Wire):
    plan: SavedPlan


class _SavedPlanDocumentEnvelope(_Wire):
    plan: SavedPlanWithDocument


class _Imported(_Wire):
    document: dict[str, Any]


class _Problems(_Wire):
    errors: list[Problem] = []


@dataclass(frozen=True, slots=True)
class ExportFile:
    content: bytes
    media_type: str
    file_name: str


class PlannerClient:
    def __init__(self, http: httpx.AsyncClient, *, planner_url: str) -> None:
        self._http = http
        self._planner = planner_url.rstrip("/")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        token: str,
        locale: str,
        content: bytes | None = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept-Language": locale,
            "X-Request-ID": current_request_id(),
        }
        if content is not None:
            headers["Content-Type"] = content_type
        try:
            response = await self._http.request(
                method, f"{self._planner}{path}", headers=headers, content=content, params=params
            )
        except httpx.HTTPError as exc:
            raise PlannerError(ErrorCode.SERVICE_UNAVAILABLE, status=503) from exc
        if response.status_code >= 400:
            raise _coded(response)
        return response

    async def _json(self, model: type[M], response: httpx.Response) -> M:
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise PlannerError(ErrorCode.SERVICE_UNAVAILABLE, status=503) from exc

    async def access(self, token: str, locale: str) -> tuple[FeatureAccess, str]:
        """The account's ``featureAccess`` and where the planner learnt it (live, stale, …)."""
        response = await self._send("GET", "/v1/billing/access_preview", token=token, locale=locale)
        answer = await self._json(_Access, response)
        return answer.feature_access, answer.source

    async def compile(self, token: str, document: bytes, locale: str) -> Compiled:
        response = await self._send(
            "POST",
            "/v1/plan/compile_with_access_preview",
            token=token,
            locale=locale,
            content=document,
        )
        return await self._json(Compiled, response)

    async def from_csv(
        self, token: str, data: bytes, *, start: date, name: str, time_zone: str, locale: str
    ) -> dict[str, Any]:
        response = await self._send(
            "POST",
            "/v1/plan/from_csv",
            token=token,
            locale=locale,
            content=data,
            content_type="text/csv",
            params={"start": start.isoformat(), "projectName": name, "timeZone": time_zone},
        )
        return (await self._json(_Imported, response)).document

    async def plans(self, token: str, locale: str) -> list[SavedPlan]:
        response = await self._send("GET", "/v1/plans", token=token, locale=locale)
        return (await self._json(_SavedPlans, response)).plans

    async def plan(self, token: str, plan_id: str, locale: str) -> SavedPlanWithDocument:
        response = await self._send("GET", _plan_path(plan_id), token=token, locale=locale)
        return (await self._json(_SavedPlanDocumentEnvelope, response)).plan

    async def save(self, token: str, document: bytes, locale: str) -> SavedPlan:
        response = await self._send(
            "POST", "/v1/plans", token=token, locale=locale, content=document
        )
        return (await self._json(_SavedPlanEnvelope, response)).plan

    async def replace(self, token: str, plan_id: str, document: bytes, locale: str) -> SavedPlan:
        response = await self._send(
            "PUT", _plan_path(plan_id), token=token, locale=locale, content=document
        )
        return (await self._json(_SavedPlanEnvelope, response)).plan

    async def delete(self, token: str, plan_id: str, locale: str) -> None:
        await self._send("DELETE", _plan_path(plan_id), token=token, locale=locale)

    async def export(
        self, token: str, plan_id: str, export_format: ExportFormat, locale: str
    ) -> ExportFile:
        response = await self._send(
            "GET",
            _plan_path(plan_id) + "/export",
            token=token,
            locale=locale,
            params={"format": export_format},
        )
        # The planner names the file; we keep only a plain name, never a path.
        found = _FILE_NAME.search(response.headers.get("content-disposition", ""))
        name = found.group(1) if found and ".." not in found.group(1) else f"plan.{export_format}"
        media = "text/calendar" if export_format == "ics" else "text/csv"
        return ExportFile(response.content, f"{media}; charset=utf-8", name)


def _plan_path(plan_id: str) -> str:
    # Quoted whole, so an id from a URL can never walk to another planner route.
    return "/v1/plans/" + quote(plan_id, safe="")


def _retry_after(response: httpx.Response) -> int | None:
    try:
        return max(1, min(3600, int(response.headers.get("retry-after", ""))))
    except ValueError:
        return None


def _coded(response: httpx.Response) -> PlannerError:
    try:
        body = response.json()
        error = body["error"]
        code = str(error["code"])
    except (ValueError, KeyError, TypeError):
        return PlannerError(ErrorCode.SERVICE_UNAVAILABLE, status=503)
    if response.status_code in (400, 413, 422) and code.startswith("PLAN_"):
        try:
            problems = _Problems.model_validate(body).errors
        except ValidationError:
            problems = []
        return PlanRejected(code, status=response.status_code, problems=problems)
    feature = error.get("feature") if isinstance(error, dict) else None
    return PlannerError(
        code,
        status=response.status_code,
        retry_after=_retry_after(response),
        feature=feature if isinstance(feature, str) else None,
    )
