"""A plan's page: the schedule as a table and a Gantt chart, its problems, its exports.

A saved plan lives at ``/app/plans/{id}``; an unsaved one (the sample, an upload,
anything a free account opens) is a draft that carries its document in the
page's forms, so paging, zooming and saving post it back.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.common.error_codes import ErrorCode
from services.landing.billing_client import BillingClient
from services.landing.deps import Billing, MaybeViewer, Planner, see_other, to_signin
from services.landing.formatting import day
from services.landing.gantt import Zoom
from services.landing.pages import error_page, render
from services.landing.plan_page import compile_document, page_context, read_document
from services.landing.planner_client import PlannerClient, PlannerError, SavedPlan
from services.landing.web import CsrfChecked, Viewer, locale_of

router = APIRouter()

PLAN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTICES = frozenset({"saved"})


async def _paid_max_tasks(billing: BillingClient) -> int | None:
    """The paid tier's task limit, for "upgrade to plan up to N tasks"; None if unknown."""
    tiers = await billing.tiers()
    return next((tier.max_tasks_per_plan for tier in tiers or [] if tier.tier == "paid"), None)


async def _page(
    request: Request,
    planner: PlannerClient,
    billing: BillingClient,
    viewer: Viewer,
    body: bytes,
    *,
    saved: SavedPlan | None = None,
    page: int = 1,
    zoom: Zoom = Zoom.AUTO,
    notice: str | None = None,
) -> HTMLResponse:
    locale = locale_of(request)
    document = read_document(body)
    outcome = await compile_document(planner, viewer, document, body, locale)
    paid_max = await _paid_max_tasks(billing) if outcome.too_large else None
    context = page_context(
        document=document,
        body=body,
        outcome=outcome,
        locale=locale,
        saved=saved,
        page=page,
        zoom=zoom,
        paid_max_tasks=paid_max,
    )
    status, retry_after = 200, None
    if outcome.problems is not None:
        status = 422
    elif outcome.too_large is not None:
        status = 413
    elif outcome.busy_seconds is not None:
        status, retry_after = 429, outcome.busy_seconds
    elif outcome.planner_busy_seconds is not None:
        status, retry_after = 503, outcome.planner_busy_seconds
    elif outcome.failed is not None:
        status = 503
    updated = day(saved.updated_at, locale) if saved else None
    response = render(
        request,
        "app_plan.html",
        status_code=status,
        notice=notice if notice in NOTICES else None,
        updated=updated,
        **context,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def draft_page(
    request: Request, planner: PlannerClient, billing: BillingClient, viewer: Viewer, body: bytes
) -> HTMLResponse:
    """An unsaved plan's page (from the sample or an upload)."""
    return await _page(request, planner, billing, viewer, body)


@router.get("/app/plans/{plan_id}", response_class=HTMLResponse)
async def saved_plan_page(
    request: Request,
    planner: Planner,
    billing: Billing,
    viewer: MaybeViewer,
    plan_id: str,
    page: int = 1,
    zoom: Zoom = Zoom.AUTO,
    notice: str | None = None,
) -> Response:
    """A saved plan: compiled now, as the account's tier allows."""
    if viewer is None:
        return to_signin(request)
    if not PLAN_ID.match(plan_id):
        return error_page(request, ErrorCode.SAVED_PLAN_NOT_FOUND, status_code=404)
    locale = locale_of(request)
    try:
        saved = await planner.plan(viewer.token, plan_id, locale)
        body = json.dumps(saved.document).encode()
        return await _page(
            request,
            planner,
            billing,
            viewer,
            body,
            saved=saved,
            page=page,
            zoom=zoom,
            notice=notice,
        )
    except PlannerError as error:
        return error_page(request, error.code, status_code=error.status)


@router.post("/app/draft", dependencies=[CsrfChecked], response_class=HTMLResponse)
async def draft(
    request: Request,
    planner: Planner,
    billing: Billing,
    viewer: MaybeViewer,
    document: Annotated[str, Form()],
    page: Annotated[int, Form()] = 1,
    zoom: Annotated[Zoom, Form()] = Zoom.AUTO,
) -> Response:
    """An unsaved plan again: another page of its chart, another zoom, a retry."""
    if viewer is None:
        return to_signin(request)
    return await _page(request, planner, billing, viewer, document.encode(), page=page, zoom=zoom)


@router.post("/app/draft/save", dependencies=[CsrfChecked])
async def save_draft(
    request: Request,
    planner: Planner,
    billing: Billing,
    viewer: MaybeViewer,
    document: Annotated[str, Form()],
) -> Response:
    """Save an unsaved plan (needs `canSavePlans`; the planner refuses otherwise)."""
    if viewer is None:
        return to_signin(request)
    try:
        saved = await planner.save(viewer.token, document.encode(), locale_of(request))
    except PlannerError:
        # Refused, too large, invalid or busy: the page says which, with the plan still there.
        return await _page(request, planner, billing, viewer, document.encode())
    return see_other(f"/app/plans/{saved.id}?notice=saved")


@router.get("/app/plans/{plan_id}/export/{export_format}")
async def export_plan(
    request: Request,
    planner: Planner,
    viewer: MaybeViewer,
    plan_id: str,
    export_format: Literal["ics", "csv"],
) -> Response:
    """Download a saved plan as iCalendar or CSV (needs `canExport`; the planner decides)."""
    if viewer is None:
        return to_signin(request)
    if not PLAN_ID.match(plan_id):
        return error_page(request, ErrorCode.SAVED_PLAN_NOT_FOUND, status_code=404)
    try:
        exported = await planner.export(viewer.token, plan_id, export_format, locale_of(request))
    except PlannerError as error:
        return error_page(request, error.code, status_code=error.status)
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.file_name}"',
            "Cache-Control": "no-store",
        },
    )
