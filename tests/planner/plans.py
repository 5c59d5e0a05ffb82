"""Small builders for plan documents in tests."""

from __future__ import annotations

from typing import Any

import msgspec

from services.planner.engine import CompiledPlan, compile_plan

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def document(
    tasks: list[dict[str, Any]],
    *,
    start: str = "2027-01-04",
    holidays: list[str] = (),  # type: ignore[assignment]
    workweek: list[str] = WEEKDAYS,
    resources: list[dict[str, Any]] | None = None,
    calendars: list[dict[str, Any]] | None = None,
    **project: Any,
) -> dict[str, Any]:
    return {
        "schemaVersion": "1.0",
        "project": {
            "id": "demo",
            "name": "Demo",
            "start": start,
            "timeZone": "Europe/Istanbul",
            "calendar": "std",
            **project,
        },
        "calendars": [
            {
                "id": "std",
                "workweek": workweek,
                "holidays": [{"date": d, "name": "holiday"} for d in holidays],
            },
            *(calendars or []),
        ],
        "resources": resources or [],
        "tasks": tasks,
    }


def task(tid: str, duration: int | None = 1, *preds: Any, **fields: Any) -> dict[str, Any]:
    """``preds`` are ids or ``(id, type, lag[, unit])`` tuples."""
    links = []
    for p in preds:
        if isinstance(p, str):
            links.append({"task": p})
        else:
            link = {"task": p[0], "type": p[1], "lag": p[2]}
            if len(p) > 3:
                link["lagUnit"] = p[3]
            links.append(link)
    body: dict[str, Any] = {"id": tid, "name": tid.title(), "predecessors": links, **fields}
    if duration is not None:
        body["duration"] = duration
    return body


def compile_doc(doc: dict[str, Any], **options: Any) -> CompiledPlan:
    return compile_plan(msgspec.json.encode(doc), **options)


def by_id(plan: CompiledPlan) -> dict[str, Any]:
    return {t.id: t for t in plan.tasks}
