"""Small builders for plan documents in tests, and a strategy for sound ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from hypothesis import strategies as st

from services.planner.engine import CompiledPlan, compile_plan

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
LINK_TYPES = ["FS", "SS", "FF", "SF"]


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


@st.composite
def plans(
    draw: st.DrawFn,
    *,
    elapsed: bool = True,
    summaries: bool = False,
    deadlines: bool = False,
    resources: bool = False,
) -> dict[str, Any]:
    """Plan documents with no reference problem (summaries may still close a cycle)."""
    n = draw(st.integers(1, 18))
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        duration = draw(st.integers(0, 6))
        t: dict[str, Any] = {"id": f"t{i}", "name": f"T{i}", "duration": duration}
        if duration == 0:
            t["milestone"] = True
            if draw(st.booleans()):
                del t["duration"]  # a milestone may leave it out
        elif elapsed and draw(st.booleans()):
            t["durationUnit"] = "ed"
        links = []
        for j in sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else ()):
            link = {
                "task": f"t{j}",
                "type": draw(st.sampled_from(LINK_TYPES)),
                "lag": draw(st.integers(-4, 6)),
            }
            if elapsed and draw(st.booleans()):
                link["lagUnit"] = "ed"
            links.append(link)
        t["predecessors"] = links
        if summaries and i and draw(st.integers(0, 3)) == 0:
            t["parent"] = f"t{draw(st.integers(0, i - 1))}"
        if deadlines and draw(st.integers(0, 4)) == 0:
            t["deadline"] = "2027-01-1" + str(draw(st.integers(0, 9)))
        if resources and draw(st.booleans()):
            units = draw(st.sampled_from([0.5, 1.0, 2.0]))
            t["assignments"] = [{"resource": draw(st.sampled_from(["ann", "bo"])), "units": units}]
        tasks.append(t)
    holidays = draw(st.sets(st.integers(0, 60), max_size=6))
    start = dt.date(2026, 12, 20) + dt.timedelta(days=draw(st.integers(0, 14)))
    people: list[dict[str, Any]] = [
        {"id": "ann", "name": "Ann"},
        {
            "id": "bo",
            "name": "Bo",
            "capacity": 0.5,
            "calendar": "mwf",
            "leaves": [{"start": start.isoformat(), "end": start.isoformat()}],
        },
    ]
    return document(
        tasks,
        start=start.isoformat(),
        holidays=[(start + dt.timedelta(days=d)).isoformat() for d in sorted(holidays)],
        resources=people if resources else None,
        calendars=[{"id": "mwf", "workweek": ["mon", "wed", "fri"]}] if resources else None,
    )
