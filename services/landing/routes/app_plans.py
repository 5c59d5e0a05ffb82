"""``/app``: my plans — the list, and creating, renaming and deleting plans.

What an account may do is the planner's answer (``featureAccess``); these pages
only show it. A free account can still open the sample or upload a plan: it is
compiled and shown as an unsaved draft (``app_plan.draft_page``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import PurePath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from services.common.error_codes import ErrorCode
from services.landing.deps import Billing, MaybeViewer, Planner, see_other, to_signin
from services.landing.formatting import day
from services.landing.messages import texts
from services.landing.pages import error_page, render
from services.landing.plan_view import explain
from services.landing.planner_client import (
    FREE_TIER,
    FeatureAccess,
    PlannerClient,
    PlannerError,
    PlanRejected,
)
from services.landing.routes.app_plan import draft_page
from services.landing.sample_plan import next_monday, sample_document
from services.landing.web import CsrfChecked, LandingSettings, Viewer, locale_of

router = APIRouter()

PLAN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTICES = frozenset({"saved", "renamed", "deleted"})
_TIME_ZONES = ("Europe/Istanbul", "UTC")


async def _access(planner: PlannerClient, viewer: Viewer, locale: str) -> FeatureAccess:
    try:
        access, _ = await planner.access(viewer.token, locale)
    except PlannerError:
        return FREE_TIER
    return access


async def plans_page(
    request: Request,
    planner: PlannerClient,
    viewer: Viewer,
    *,
    notice: str | None = None,
    csv_problems: list[tuple[str, str | None]] | None = None,
    upload_problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = locale_of(request)
    down = False
    try:
        access, _ = await planner.access(viewer.token, locale)
        plans = await planner.plans(viewer.token, locale)
    except PlannerError:
        access, plans, down = FREE_TIER, [], True
    return render(
        request,
        "app_plans.html",
        status_code=status_code,
        access=access,
        plans=plans,
        updated={p.id: day(p.updated_at, locale) for p in plans},
        down=down,
        notice=notice if notice in NOTICES else None,
        csv_problems=csv_problems or [],
        upload_problem=upload_problem,
        next_monday=next_monday(dt.date.today()).isoformat(),
    )


@router.get("/app", response_class=HTMLResponse)
async def my_plans(
    request: Request, planner: Planner, viewer: MaybeViewer, notice: str | None = None
) -> Response:
    """The signed-in account's saved plans and the ways to start one."""
    if viewer is None:
        return to_signin(request)
    return await plans_page(request, planner, viewer, notice=notice)


async def create(
    request: Request, planner: PlannerClient, billing: Billing, viewer: Viewer, body: bytes
) -> Response:
    """Save the plan when the account may (and it compiles); else show it as a draft."""
    locale = locale_of(request)
    access = await _access(planner, viewer, locale)
    if access.can_save_plans:
        try:
            saved = await planner.save(viewer.token, body, locale)
        except PlannerError:
            pass  # the draft page compiles it again and shows why it was refused
        else:
            return see_other(f"/app/plans/{quote(saved.id, safe='')}?notice=saved")
    return await draft_page(request, planner, billing, viewer, body)


@router.post("/app/plans/sample", dependencies=[CsrfChecked])
async def create_from_sample(
    request: Request, planner: Planner, billing: Billing, viewer: MaybeViewer
) -> Response:
    """Start from the sample plan, in the reader's language."""
    if viewer is None:
        return to_signin(request)
    document = sample_document(dt.date.today(), locale_of(request))
    return await create(request, planner, billing, viewer, json.dumps(document).encode())


async def _read_upload(file: UploadFile, limit: int) -> bytes | None:
    data = await file.read(limit + 1)
    return None if len(data) > limit else data


@router.post("/app/plans/upload", dependencies=[CsrfChecked])
async def create_from_json(
    request: Request,
    planner: Planner,
    billing: Billing,
    viewer: MaybeViewer,
    settings: LandingSettings,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload a plan document (JSON) and open it."""
    if viewer is None:
        return to_signin(request)
    t = texts(locale_of(request))
    if file is None or not file.filename:
        return await plans_page(
            request, planner, viewer, upload_problem=t["app_no_file"], status_code=422
        )
    data = await _read_upload(file, settings.landing_max_upload_bytes)
    if data is None:
        problem = t["app_file_too_large"].format(kb=settings.landing_max_upload_bytes // 1024)
        return await plans_page(request, planner, viewer, upload_problem=problem, status_code=413)
    return await create(request, planner, billing, viewer, data)


@router.post("/app/plans/csv", dependencies=[CsrfChecked])
async def create_from_csv(
    request: Request,
    planner: Planner,
    billing: Billing,
    viewer: MaybeViewer,
    settings: LandingSettings,
    file: Annotated[UploadFile | None, File()] = None,
    project_name: Annotated[str, Form(alias="projectName", max_length=200)] = "",
    start: Annotated[dt.date | None, Form()] = None,
    time_zone: Annotated[str, Form(alias="timeZone", max_length=64)] = "Europe/Istanbul",
) -> Response:
    """Upload a CSV of tasks; the planner turns it into a plan document, then it opens."""
    if viewer is None:
        return to_signin(request)
    locale = locale_of(request)
    t = texts(locale)
    if file is None or not file.filename:
        return await plans_page(
            request, planner, viewer, upload_problem=t["app_no_file"], status_code=422
        )
    data = await _read_upload(file, settings.landing_max_upload_bytes)
    if data is None:
        problem = t["app_file_too_large"].format(kb=settings.landing_max_upload_bytes // 1024)
        return await plans_page(request, planner, viewer, upload_problem=problem, status_code=413)
    name = project_name.strip() or PurePath(file.filename).stem[:200] or "Plan"
    try:
        document = await planner.from_csv(
            viewer.token,
            data,
            start=start or next_monday(dt.date.today()),
            name=name,
            time_zone=time_zone if time_zone in _TIME_ZONES else "Europe/Istanbul",
            locale=locale,
        )
    except PlanRejected as rejected:
        problems = [explain(p.model_dump(), t, locale) for p in rejected.problems]
        return await plans_page(
            request,
            planner,
            viewer,
            csv_problems=problems or [explain({"code": rejected.code}, t, locale)],
            status_code=rejected.status,
        )
    except PlannerError as error:
        return error_page(request, error.code, status_code=error.status)
    return await create(request, planner, billing, viewer, json.dumps(document).encode())


@router.post("/app/plans/{plan_id}/rename", dependencies=[CsrfChecked])
async def rename_plan(
    request: Request,
    planner: Planner,
    viewer: MaybeViewer,
    plan_id: str,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """Rename a saved plan: its document's project name (needs `canSavePlans`)."""
    if viewer is None:
        return to_signin(request)
    if not PLAN_ID.match(plan_id):
        return error_page(request, ErrorCode.SAVED_PLAN_NOT_FOUND, status_code=404)
    locale = locale_of(request)
    try:
        saved = await planner.plan(viewer.token, plan_id, locale)
        document = saved.document
        if isinstance(document.get("project"), dict):
            document["project"]["name"] = name.strip() or saved.name
        await planner.replace(viewer.token, plan_id, json.dumps(document).encode(), locale)
    except PlannerError as error:
        return error_page(request, error.code, status_code=error.status)
    return see_other("/app?notice=renamed")


@router.post("/app/plans/{plan_id}/delete", dependencies=[CsrfChecked])
async def delete_plan(
    request: Request, planner: Planner, viewer: MaybeViewer, plan_id: str
) -> Response:
    """Delete a saved plan (any tier: a downgrade never traps a plan)."""
    if viewer is None:
        return to_signin(request)
    if not PLAN_ID.match(plan_id):
        return error_page(request, ErrorCode.SAVED_PLAN_NOT_FOUND, status_code=404)
    try:
        await planner.delete(viewer.token, plan_id, locale_of(request))
    except PlannerError as error:
        return error_page(request, error.code, status_code=error.status)
    return see_other("/app?notice=deleted")
