"""The yardstick: the same schedule computed the textbook way with networkx.

Decode to plain JSON, build an ``nx.DiGraph`` with task and link attributes,
then a forward and a backward pass in ``nx.topological_sort`` order using the
planner's own calendar mapping (``WorkCalendar``), so the two produce the same
dates and any difference in time is the engine's design, not its semantics.
Plans with summary tasks are out of scope here (the benchmark has none).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import networkx as nx

from services.planner.engine.calendar import WorkCalendar, WorkingTime
from services.planner.engine.document import Calendar
from services.planner.engine.validate import DEFAULT_HORIZON_DAYS


def networkx_schedule(body: bytes) -> dict[str, tuple[int, int, int, int]]:
    """Task id -> (es, ef, ls, lf) in workday indices."""
    doc: dict[str, Any] = msgspec.json.decode(body)
    project = doc["project"]
    calendar = next(c for c in doc["calendars"] if c["id"] == project["calendar"])
    cal = WorkCalendar(
        WorkingTime.from_calendar(msgspec.convert(calendar, Calendar)),
        dt.date.fromisoformat(project["start"]),
        DEFAULT_HORIZON_DAYS,
    )
    ordinal, count_before = cal.ordinal, cal.count_before

    graph = nx.DiGraph()
    for task in doc["tasks"]:
        graph.add_node(
            task["id"],
            duration=task.get("duration", 0),  # a milestone may leave it out
            elapsed=task.get("durationUnit", "wd") == "ed",
        )
    for task in doc["tasks"]:
        for link in task.get("predecessors", ()):
            graph.add_edge(
                link["task"],
                task["id"],
                type=link.get("type", "FS"),
                lag=link.get("lag", 0),
                elapsed=link.get("lagUnit", "wd") == "ed",
            )
    order = list(nx.topological_sort(graph))

    def finish_of(start: int, attrs: dict[str, Any]) -> int:
        d: int = attrs["duration"]
        if attrs["elapsed"] and d:
            return count_before(ordinal(start) + d)
        return start + d

    def start_for_finish(finish: int, attrs: dict[str, Any]) -> int:
        d: int = attrs["duration"]
        if attrs["elapsed"] and d:
            return count_before(ordinal(finish - 1) - d + 1)
        return finish - d

    def latest_start(finish: int, attrs: dict[str, Any]) -> int:
        d: int = attrs["duration"]
        if attrs["elapsed"] and d:
            return count_before(ordinal(finish) - d + 1) - 1
        return finish - d

    def shifted(index: int, lag: int, elapsed: bool, from_finish: bool) -> int:
        if not elapsed:
            return index + lag
        if from_finish:
            return count_before(ordinal(index - 1) + 1 + lag)
        return count_before(ordinal(index) + lag)

    def unshifted(index: int, lag: int, elapsed: bool, from_finish: bool) -> int:
        if not elapsed:
            return index - lag
        if from_finish:
            return count_before(ordinal(index) - lag)
        return count_before(ordinal(index) - lag + 1) - 1

    nodes = graph.nodes
    for node in order:
        attrs = nodes[node]
        start = 0
        for pred, link in graph.pred[node].items():
            p = nodes[pred]
            kind = link["type"]
            source = p["ef"] if kind[0] == "F" else p["es"]
            value = shifted(source, link["lag"], link["elapsed"], kind[0] == "F")
            if kind[1] == "F":
                value = start_for_finish(value, attrs)
            start = max(start, value)
        attrs["es"] = start
        attrs["ef"] = finish_of(start, attrs)
    finish = max((nodes[n]["ef"] for n in order), default=0)

    for node in reversed(order):
        attrs = nodes[node]
        start_cap = None
        finish_cap = finish
        for succ, link in graph.succ[node].items():
            s = nodes[succ]
            kind = link["type"]
            target = s["lf"] if kind[1] == "F" else s["ls"]
            value = unshifted(target, link["lag"], link["elapsed"], kind[0] == "F")
            if kind[0] == "F":
                finish_cap = min(finish_cap, value)
            else:
                start_cap = value if start_cap is None else min(start_cap, value)
        late = latest_start(finish_cap, attrs)
        if start_cap is not None:
            late = min(late, start_cap)
        attrs["ls"] = late
        attrs["lf"] = finish_of(late, attrs)
    return {n: (a["es"], a["ef"], a["ls"], a["lf"]) for n, a in nodes.items()}
