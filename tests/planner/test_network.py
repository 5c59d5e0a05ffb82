"""The fast path refuses exactly the documents the full checks find fault with.

``build_network`` only answers yes or no; when it says no, ``find_problems``
must have something to report, and when it says yes, nothing. Documents here
are generated sound and then broken in the ways a client breaks them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.planner.engine import DEFAULT_HORIZON_DAYS, PlanDocument
from services.planner.engine.checks import find_problems
from services.planner.engine.document import ids_well_formed
from services.planner.engine.network import build_network
from services.planner.engine.problems import ProblemList

from .plans import document

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BREAKAGES = (
    "duplicate id",
    "unknown predecessor",
    "self link",
    "link to a later task",
    "unknown parent",
    "own parent",
    "missing duration",
    "milestone with a duration",
    "unknown resource",
    "unknown calendar",
    "unknown time zone",
    "leave ends before it starts",
    "malformed id",
    "malformed reference",
    "deadline beyond the horizon",
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 12))
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        t: dict[str, Any] = {"id": f"t{i}", "name": f"T{i}", "duration": draw(st.integers(0, 5))}
        if not t["duration"] and draw(st.booleans()):
            t["milestone"] = True  # and sometimes without its duration ("missing duration")
        if draw(st.booleans()):
            t["durationUnit"] = "ed"
        links = []
        for j in sorted(draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else ()):
            link = {"task": f"t{j}", "type": draw(st.sampled_from(["FS", "SS", "FF", "SF"]))}
            if draw(st.booleans()):
                link["lagUnit"] = "ed"
            links.append(link)
        t["predecessors"] = links
        if i and draw(st.integers(0, 3)) == 0:
            t["parent"] = f"t{draw(st.integers(0, i - 1))}"
        if draw(st.integers(0, 4)) == 0:
            t["assignments"] = [{"resource": "alice"}]
        if draw(st.integers(0, 5)) == 0:
            t["deadline"] = "2027-02-01"
        tasks.append(t)
    doc = document(tasks, resources=[{"id": "alice", "name": "Alice"}])
    for breakage in draw(st.lists(st.sampled_from(BREAKAGES), max_size=2)):
        _break(doc, breakage, draw(st.integers(0, max(0, n - 1))))
    return doc


def _break(doc: dict[str, Any], breakage: str, i: int) -> None:
    tasks = doc["tasks"]
    project = doc["project"]
    if not tasks:
        project["timeZone"] = "Mars/Olympus_Mons"
        return
    task = tasks[i]
    match breakage:
        case "duplicate id":
            task["id"] = tasks[0]["id"] if i else tasks[-1]["id"]
        case "unknown predecessor":
            task["predecessors"].append({"task": "ghost"})
        case "self link":
            task["predecessors"].append({"task": task["id"]})
        case "link to a later task":
            tasks[0]["predecessors"].append({"task": tasks[-1]["id"]})
        case "unknown parent":
            task["parent"] = "nobody"
        case "own parent":
            task["parent"] = task["id"]
        case "missing duration":
            task.pop("duration", None)
        case "milestone with a duration":
            task.update(milestone=True, duration=2)
        case "unknown resource":
            task["assignments"] = [{"resource": "carol"}]
        case "unknown calendar":
            project["calendar"] = "nope"
        case "unknown time zone":
            project["timeZone"] = "Mars/Olympus_Mons"
        case "leave ends before it starts":
            doc["resources"][0]["leaves"] = [{"start": "2027-02-02", "end": "2027-02-01"}]
        case "malformed id":
            task["id"] = "bad id!"
        case "malformed reference":
            task["predecessors"].append({"task": "t0\n"})
        case "deadline beyond the horizon":
            task["deadline"] = "2600-01-01"


def _every_id(doc: PlanDocument) -> list[str]:
    ids = [doc.project.id, doc.project.calendar, *(c.id for c in doc.calendars)]
    for r in doc.resources:
        ids += [r.id] if r.calendar is None else [r.id, r.calendar]
    for t in doc.tasks:
        ids += [t.id, *(link.task for link in t.predecessors)]
        ids += [a.resource for a in t.assignments]
        ids += [] if t.parent is None else [t.parent]
    return ids


class TestBuildNetwork:
    @SETTINGS
    @given(documents())
    def test_refuses_exactly_what_the_full_checks_report(self, raw: dict[str, Any]) -> None:
        doc = msgspec.json.decode(msgspec.json.encode(raw), type=PlanDocument)
        problems = ProblemList(limit=10_000)
        find_problems(
            doc.project,
            list(doc.calendars),
            list(doc.resources),
            list(doc.tasks),
            problems,
            DEFAULT_HORIZON_DAYS,
        )
        faulty = bool(problems) or not ids_well_formed(_every_id(doc))
        network = build_network(doc, DEFAULT_HORIZON_DAYS)
        assert (network is None) == faulty, [p.code for p in problems.items]
