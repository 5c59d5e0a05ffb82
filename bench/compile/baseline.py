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
    project_start = ordinal(0)

    def anchor(attrs: dict[str, Any], from_finish: bool, late: bool) -> int:
        """The instant an elapsed-day link leaves a task from (DESIGN §8)."""
        if attrs["duration"] == 0:  # a milestone is one instant
            return int(attrs["lat" if late else "at"])
        start = attrs["ls" if late else "es"]
        if not from_finish:
            return ordinal(start)
        if attrs["elapsed"]:  # an elapsed task ends when its calendar days end
            return ordinal(start) + int(attrs["duration"])
        return ordinal(attrs["lf" if late else "ef"] - 1) + 1

    nodes = graph.nodes
    for node in order:
        attrs = nodes[node]
        d = attrs["duration"]
        start, instant = 0, project_start
        for pred, link in graph.pred[node].items():
            p = nodes[pred]
            kind = link["type"]
            to_finish = kind[1] == "F"
            if link["elapsed"]:
                x = anchor(p, kind[0] == "F", late=False) + link["lag"]
                if d == 0:
                    instant = max(instant, x)
                    continue
                if to_finish:
                    value = count_before(x - d) if attrs["elapsed"] else count_before(x) - d
                else:
                    value = count_before(x)
            else:
                value = (p["ef"] if kind[0] == "F" else p["es"]) + link["lag"]
                if d == 0:
                    # a working-day requirement: the end of the workday before it
                    instant = max(instant, ordinal(value - 1) + 1 if value > 0 else project_start)
                    continue
                if to_finish:
                    if attrs["elapsed"]:
                        value = count_before(ordinal(value - 1) + 1 - d)
                    else:
                        value -= d
            start = max(start, value)
        if d == 0:
            attrs["at"] = instant
            attrs["es"] = attrs["ef"] = count_before(instant)
            continue
        attrs["es"] = start
        attrs["ef"] = count_before(ordinal(start) + d) if attrs["elapsed"] else start + d
    finish = max((nodes[n]["ef"] for n in order), default=0)

    for node in reversed(order):
        attrs = nodes[node]
        d = attrs["duration"]
        # caps on the start and the finish, as indices and as instants
        start_cap, finish_cap = None, finish
        start_at, finish_at = None, None
        for succ, link in graph.succ[node].items():
            s = nodes[succ]
            kind = link["type"]
            from_finish = kind[0] == "F"
            if link["elapsed"]:
                if s["duration"] == 0:
                    target = s["lat"]
                elif kind[1] == "S":
                    target = ordinal(s["ls"])
                elif s["elapsed"]:
                    target = ordinal(s["ls"]) + s["duration"]
                else:
                    target = ordinal(s["lf"])
                cap = target - link["lag"]
                if from_finish:
                    finish_at = cap if finish_at is None else min(finish_at, cap)
                else:
                    start_at = cap if start_at is None else min(start_at, cap)
                continue
            value = (s["lf"] if kind[1] == "F" else s["ls"]) - link["lag"]
            if from_finish:
                finish_cap = min(finish_cap, value)
            else:
                start_cap = value if start_cap is None else min(start_cap, value)
        if d == 0:
            caps = [ordinal(finish_cap)]
            caps += [c for c in (start_at, finish_at) if c is not None]
            if start_cap is not None:
                caps.append(ordinal(start_cap))
            attrs["lat"] = min(caps)
            attrs["ls"] = attrs["lf"] = count_before(attrs["lat"])
            continue
        if attrs["elapsed"]:
            late = count_before(ordinal(finish_cap) - d + 1) - 1
            if finish_at is not None:
                late = min(late, count_before(finish_at - d + 1) - 1)
        else:
            late = finish_cap - d
            if finish_at is not None:
                late = min(late, count_before(finish_at) - d)
        if start_at is not None:
            late = min(late, count_before(start_at + 1) - 1)
        if start_cap is not None:
            late = min(late, start_cap)
        attrs["ls"] = late
        attrs["lf"] = count_before(ordinal(late) + d) if attrs["elapsed"] else late + d
    return {n: (a["es"], a["ef"], a["ls"], a["lf"]) for n, a in nodes.items()}
