"""``POST /v1/plan/from_csv``: a spreadsheet's task list in, a plan document out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.common.auth import AppSettings
from services.common.error_codes import ErrorCode
from services.common.errors import error_body, error_responses, preferred_locale
from services.planner.context import AccountAccess
from services.planner.csv_import import (
    CsvInvalid,
    CsvProblem,
    CsvTooLarge,
    Imported,
    ProjectFields,
    locate,
    read_csv,
)
from services.planner.engine import PlanInvalid, read_document
from services.planner.gating import task_limit
from services.planner.wire_schema import PLAN_DOCUMENT_REF, PROBLEM_REF

router = APIRouter(tags=["plans"])

_PROBLEMS_BODY = {
    "type": "object",
    "required": ["ok", "error", "errors"],
    "properties": {
        "ok": {"const": False},
        "error": {"$ref": "#/components/schemas/ErrorDetail"},
        "errors": {"type": "array", "items": PROBLEM_REF, "maxItems": 100},
    },
}
_IMPORTED_BODY = {
    "type": "object",
    "required": ["ok", "document", "stats"],
    "properties": {
        "ok": {"const": True},
        "document": PLAN_DOCUMENT_REF,
        "stats": {
            "type": "object",
            "required": ["tasks", "dependencies"],
            "properties": {"tasks": {"type": "integer"}, "dependencies": {"type": "integer"}},
        },
    },
}
_CSV_BODY = {"type": "string", "description": "The CSV file, UTF-8."}


def _problems(
    request: Request,
    code: ErrorCode,
    status: int,
    problems: list[CsvProblem],
    *,
    truncated: bool = False,
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, **error_body(code, locale=preferred_locale(request))}
    if truncated:
        body["error"]["details"] = {"truncated": True}
    body["errors"] = msgspec.to_builtins(problems)
    return JSONResponse(body, status_code=status)


def _import(data: bytes, project: ProjectFields, max_tasks: int) -> Imported:
    """Read the CSV, then let the compiler's checks find what is wrong with the plan."""
    imported = read_csv(data, project, max_tasks=max_tasks)
    try:
        read_document(msgspec.json.encode(imported.document), max_tasks=max_tasks)
    except PlanInvalid as exc:
        located = []
        for p in exc.problems:
            row, column = locate(imported, p.path)
            located.append(
                CsvProblem(p.code, p.message, p.path, {**p.details, "row": row, "column": column})
            )
        raise CsvInvalid(located, truncated=exc.truncated) from exc
    return imported


@router.post(
    "/v1/plan/from_csv",
    summary="Turn a CSV of tasks into a plan document",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": _CSV_BODY}, "text/plain": {"schema": _CSV_BODY}},
        }
    },
    responses={
        200: {
            "description": "The plan document, ready to compile or save.",
            "content": {"application/json": {"schema": _IMPORTED_BODY}},
        },
        **error_responses(
            ErrorCode.UNAUTHENTICATED, ErrorCode.PLAN_TOO_LARGE, ErrorCode.PAYLOAD_TOO_LARGE
        ),
        422: {
            "description": "`PLAN_INVALID`: every problem found (at most 100) is in `errors`, "
            "each with `details.row` (1 is the header) and `details.column` of the file, and "
            "a JSON Pointer `path` into the document the file would make. "
            "`VALIDATION_ERROR`: a query parameter is missing or malformed.",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [_PROBLEMS_BODY, {"$ref": "#/components/schemas/ErrorEnvelope"}]
                    }
                }
            },
        },
    },
)
async def plan_from_csv(
    request: Request,
    access: AccountAccess,
    settings: AppSettings,
    start: Annotated[dt.date, Query(description="The project's first day, YYYY-MM-DD.")],
    project_name: Annotated[
        str, Query(alias="projectName", min_length=1, max_length=200)
    ] = "Imported plan",
    time_zone: Annotated[
        str, Query(alias="timeZone", min_length=1, max_length=64, description="An IANA zone.")
    ] = "UTC",
) -> Response:
    """Read a CSV of tasks, one a row, into a plan document (schema 1.0).

    The header names the columns: `id` and `name` are required; `duration`
    (`5`, `5wd`, `3ed`), `predecessors` (`design; build SS+2; qa FS-1ed`),
    `durationUnit`, `milestone`, `parent` and `deadline` are optional; the
    planner's own export columns are ignored, so an export imports again.
    Delimiter `,`, `;` or tab; UTF-8 with or without a byte-order mark. The
    project gets a Monday-to-Friday calendar. Every problem is reported at once,
    each with the file's row and column; the format is in `docs/planner_app.md`.
    Nothing is stored: compile or save the returned document. More task rows
    than your tier's `maxTasksPerPlan` is `413 PLAN_TOO_LARGE`, as compiling it
    would be.
    """
    body = await request.body()  # the request frame has bounded its size
    project = ProjectFields(id="imported", name=project_name, start=start, time_zone=time_zone)
    try:
        # Off the event loop: a file of many thousand rows takes a while to check.
        imported = await run_in_threadpool(
            _import, body, project, task_limit(access.feature_access, settings.planner_max_tasks)
        )
    except CsvTooLarge as exc:
        return _problems(request, ErrorCode.PLAN_TOO_LARGE, 413, [exc.problem])
    except CsvInvalid as exc:
        return _problems(
            request, ErrorCode.PLAN_INVALID, 422, exc.problems, truncated=exc.truncated
        )
    tasks = imported.document["tasks"]
    stats = {
        "tasks": len(tasks),
        "dependencies": sum(len(t.get("predecessors", ())) for t in tasks),
    }
    return Response(
        msgspec.json.encode({"ok": True, "document": imported.document, "stats": stats}),
        media_type="application/json",
    )
