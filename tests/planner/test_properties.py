"""Properties that must hold for every plan, checked on generated ones."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import msgspec
import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.compile.baseline import networkx_schedule
from services.planner.engine import PlanInvalid, compile_plan
from services.planner.engine.calendar import WorkCalendar, WorkingTime
from services.planner.engine.document import Calendar

from .plans import LINK_TYPES, plans

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compiled(doc: dict[str, Any]) -> Any:
    return msgspec.to_builtins(compile_plan(msgspec.json.encode(doc), clock=lambda: 0.0))


def calendar_of(doc: dict[str, Any]) -> WorkCalendar:
    cal = msgspec.convert(doc["calendars"][0], Calendar)
    return WorkCalendar(
        WorkingTime.from_calendar(cal), dt.date.fromisoformat(doc["project"]["start"]), 146_097
    )


def leaves_under(doc: dict[str, Any], tid: str) -> list[str]:
    kids: dict[str, list[str]] = {}
    for t in doc["tasks"]:
        if "parent" in t:
            kids.setdefault(t["parent"], []).append(t["id"])
    out, stack = [], [tid]
    while stack:
        x = stack.pop()
        if x in kids:
            stack.extend(kids[x])
        else:
            out.append(x)
    return out


def ancestors(doc: dict[str, Any], tid: str) -> list[str]:
    parent = {t["id"]: t.get("parent") for t in doc["tasks"]}
    out = []
    while parent.get(tid):
        tid = parent[tid]
        out.append(tid)
    return out


def expanded_links(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every link between leaf tasks, after applying summary links to their leaves."""
    links = []
    for t in doc["tasks"]:
        for link in t["predecessors"]:
            for p in leaves_under(doc, link["task"]):
                for q in leaves_under(doc, t["id"]):
                    links.append((p, q, link))
    return links


def instant(
    cal: WorkCalendar, task: dict[str, Any], row: dict[str, Any], from_finish: bool, early: bool
) -> int:
    """The instant (a midnight, as a day ordinal) an elapsed-day link leaves from.

    A milestone's own instant is not in the output; the end of the workday
    before its index is the earliest it can be (the project start at index
    0 in early dates), so links checked from there hold if they hold at all.
    """
    start, finish = (row["es"], row["ef"]) if early else (row["ls"], row["lf"])
    d = task.get("duration", 0)
    if not d:
        return cal.ordinal(0) if early and start == 0 else cal.ordinal(start - 1) + 1
    if not from_finish:
        return cal.ordinal(start)
    if task.get("durationUnit") == "ed":  # it ends when its calendar days end
        return int(cal.ordinal(start) + d)
    return cal.ordinal(finish - 1) + 1


def assert_links_hold(doc: dict[str, Any], plan: dict[str, Any], early: bool) -> None:
    cal = calendar_of(doc)
    rows = {t["id"]: t for t in plan["tasks"]}
    tasks = {t["id"]: t for t in doc["tasks"]}
    s_key, f_key = ("es", "ef") if early else ("ls", "lf")
    for p, q, link in expanded_links(doc):
        kind = link["type"]
        lag = link.get("lag", 0)
        target = rows[q][f_key] if kind[1] == "F" else rows[q][s_key]
        if link.get("lagUnit", "wd") == "wd":
            source = rows[p][f_key] if kind[0] == "F" else rows[p][s_key]
            assert target >= source + lag, (p, q, link)
            continue
        at = instant(cal, tasks[p], rows[p], kind[0] == "F", early) + lag
        if kind[1] == "F" and tasks[q].get("durationUnit") == "ed" and tasks[q].get("duration"):
            # an elapsed finish is an instant too, so the check is exact
            assert cal.ordinal(rows[q][s_key]) + tasks[q]["duration"] >= at, (p, q, link)
        else:
            assert target >= cal.count_before(at), (p, q, link)


class TestLinks:
    @SETTINGS
    @given(plans(summaries=True))
    def test_every_link_holds_in_early_and_late_dates(self, doc: dict[str, Any]) -> None:
        try:
            plan = compiled(doc)
        except PlanInvalid as exc:  # a link between a summary and its own child
            codes = {p.code for p in exc.problems}
            assert codes == {"PLAN_CYCLE"}
            return
        assert_links_hold(doc, plan, early=True)
        assert_links_hold(doc, plan, early=False)
        for row in plan["tasks"]:
            assert row["es"] >= 0
            assert row["ef"] <= plan["project"]["durationWorkdays"]


class TestFloat:
    @SETTINGS
    @given(plans())
    def test_total_float_is_never_negative_without_deadlines(self, doc: dict[str, Any]) -> None:
        plan = compiled(doc)
        for row in plan["tasks"]:
            assert 0 <= row["freeFloat"] <= row["totalFloat"]
            assert row["critical"] == (row["totalFloat"] == 0)

    @SETTINGS
    @given(plans(deadlines=True, summaries=True))
    def test_negative_float_is_reported(self, doc: dict[str, Any]) -> None:
        try:
            plan = compiled(doc)
        except PlanInvalid:
            return
        negative = any(row["totalFloat"] < 0 for row in plan["tasks"])
        codes = {w["code"] for w in plan["warnings"]}
        assert negative == ("SCHED_NEGATIVE_FLOAT" in codes)

    @SETTINGS
    @given(plans())
    def test_critical_path_is_a_driving_chain_from_start_to_finish(
        self, doc: dict[str, Any]
    ) -> None:
        plan = compiled(doc)
        rows = {t["id"]: t for t in plan["tasks"]}
        path = plan["project"]["criticalPath"]
        assert path
        assert rows[path[0]]["es"] == 0
        assert rows[path[-1]]["ef"] == plan["project"]["durationWorkdays"]
        preds = {t["id"]: {link["task"] for link in t["predecessors"]} for t in doc["tasks"]}
        for before, after in itertools.pairwise(path):
            assert before in preds[after]

    @SETTINGS
    @given(plans(elapsed=False))
    def test_in_working_days_the_critical_path_has_zero_float(self, doc: dict[str, Any]) -> None:
        # An elapsed lag over a weekend can drive a successor and still leave
        # its source some float, so this holds for working-day plans only.
        plan = compiled(doc)
        rows = {t["id"]: t for t in plan["tasks"]}
        assert all(rows[t]["totalFloat"] == 0 for t in plan["project"]["criticalPath"])


def with_probes(doc: dict[str, Any], probes: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(doc, tasks=[*doc["tasks"], *probes])


def probe(tid: str, source: str, kind: str, lag: int, unit: str = "ed") -> dict[str, Any]:
    link = {"task": source, "type": kind, "lag": lag, "lagUnit": unit}
    return {"id": tid, "name": tid, "duration": 1, "predecessors": [link]}


class TestInstants:
    """DESIGN §8: a milestone is one instant; an elapsed task ends when its days end."""

    @SETTINGS
    @given(plans(), st.integers(-4, 6), st.sampled_from(["wd", "ed"]))
    def test_every_link_from_a_milestone_counts_from_one_instant(
        self, doc: dict[str, Any], lag: int, unit: str
    ) -> None:
        milestones = [t["id"] for t in doc["tasks"] if not t.get("duration")]
        if not milestones:
            return
        m = milestones[-1]
        plan = compiled(
            with_probes(doc, [probe(f"p{kind}", m, kind, lag, unit) for kind in LINK_TYPES])
        )
        rows = {t["id"]: t for t in plan["tasks"]}
        # FS and SS agree, and so do FF and SF; a one-day probe finishes a day after it starts.
        assert rows["pFS"]["es"] == rows["pSS"]["es"]
        assert rows["pFF"]["es"] == rows["pSF"]["es"]

    @SETTINGS
    @given(plans(), st.integers(0, 9))
    def test_a_milestone_with_no_predecessors_is_the_project_start(
        self, doc: dict[str, Any], lag: int
    ) -> None:
        free = {"id": "free", "name": "Free", "milestone": True}
        plan = compiled(with_probes(doc, [free, probe("after", "free", "FS", lag)]))
        rows = {t["id"]: t for t in plan["tasks"]}
        cal = calendar_of(doc)
        assert (rows["free"]["es"], rows["free"]["ef"]) == (0, 0)
        assert rows["after"]["es"] == cal.count_before(cal.ordinal(0) + lag)

    @SETTINGS
    @given(plans(), st.integers(1, 9), st.integers(-3, 9))
    def test_an_elapsed_task_ends_when_its_days_end(
        self, doc: dict[str, Any], days: int, lag: int
    ) -> None:
        source = doc["tasks"][-1]["id"]
        elapsed = dict(probe("e", source, "FS", 0, "wd"), duration=days, durationUnit="ed")
        plan = compiled(with_probes(doc, [elapsed, probe("f", "e", "FS", lag)]))
        rows = {t["id"]: t for t in plan["tasks"]}
        cal = calendar_of(doc)
        ends = cal.ordinal(rows["e"]["es"]) + days
        assert rows["e"]["ef"] == cal.count_before(ends)
        assert rows["f"]["es"] == max(0, cal.count_before(ends + lag))


class TestWarnings:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(plans(deadlines=True, resources=True))
    def test_every_warning_has_a_message_in_each_language(self, doc: dict[str, Any]) -> None:
        body = msgspec.json.encode(doc)
        english = compile_plan(body, clock=lambda: 0.0).warnings
        turkish = compile_plan(body, clock=lambda: 0.0, locale="tr").warnings
        assert [(w.code, w.details) for w in english] == [(w.code, w.details) for w in turkish]
        for en, tr in zip(english, turkish, strict=True):
            assert en.message
            assert tr.message
            assert en.message != tr.message
            assert en.task is None or repr(en.task) in en.message


class TestDeterminism:
    @SETTINGS
    @given(plans(summaries=True, deadlines=True), st.randoms(use_true_random=False))
    def test_shuffling_tasks_changes_only_the_order(
        self, doc: dict[str, Any], rnd: random.Random
    ) -> None:
        try:
            plan = compiled(doc)
        except PlanInvalid:
            return
        shuffled = dict(doc, tasks=rnd.sample(doc["tasks"], len(doc["tasks"])))
        again = compiled(shuffled)
        assert sorted(plan["tasks"], key=lambda t: t["id"]) == sorted(
            again["tasks"], key=lambda t: t["id"]
        )
        assert plan["project"] == again["project"]
        assert plan["resources"] == again["resources"]
        key = msgspec.json.encode
        assert sorted(map(key, plan["warnings"])) == sorted(map(key, again["warnings"]))

    @SETTINGS
    @given(plans(summaries=True))
    def test_same_input_gives_identical_bytes(self, doc: dict[str, Any]) -> None:
        body = msgspec.json.encode(doc)
        try:
            first = compile_plan(body, clock=lambda: 0.0)
        except PlanInvalid:
            return
        assert msgspec.json.encode(first) == msgspec.json.encode(
            compile_plan(body, clock=lambda: 0.0)
        )


class TestAgainstNetworkx:
    @SETTINGS
    @given(plans(elapsed=False))
    def test_longest_paths_agree(self, doc: dict[str, Any]) -> None:
        """Early and late starts from Bellman-Ford over a start-to-start constraint graph."""
        plan = compiled(doc)
        d = {t["id"]: t.get("duration", 0) for t in doc["tasks"]}
        graph = nx.DiGraph()
        graph.add_node("source")
        graph.add_node("sink")
        for t in doc["tasks"]:
            graph.add_edge("source", t["id"], weight=0)
            graph.add_edge(t["id"], "sink", weight=-d[t["id"]])
        for t in doc["tasks"]:
            q = t["id"]
            for link in t["predecessors"]:
                p, kind, lag = link["task"], link["type"], link["lag"]
                # Every link as "start q >= start p + w", with weights negated
                # so that a shortest path is the longest one.
                w = lag + (d[p] if kind[0] == "F" else 0) - (d[q] if kind[1] == "F" else 0)
                if not graph.has_edge(p, q) or graph[p][q]["weight"] > -w:
                    graph.add_edge(p, q, weight=-w)
        early = nx.single_source_bellman_ford_path_length(graph, "source")
        finish = -early["sink"]
        tail = nx.single_source_bellman_ford_path_length(graph.reverse(), "sink")
        assert plan["project"]["durationWorkdays"] == finish
        for row in plan["tasks"]:
            assert row["es"] == -early[row["id"]]
            assert row["ls"] == finish + tail[row["id"]]

    @SETTINGS
    @given(plans())
    def test_the_benchmark_baseline_agrees(self, doc: dict[str, Any]) -> None:
        plan = compiled(doc)
        expected = networkx_schedule(msgspec.json.encode(doc))
        for row in plan["tasks"]:
            assert (row["es"], row["ef"], row["ls"], row["lf"]) == expected[row["id"]]
