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

from .plans import plans

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


def shifted(cal: WorkCalendar, k: int, link: dict[str, Any], from_finish: bool) -> int:
    lag: int = link.get("lag", 0)
    if link.get("lagUnit", "wd") == "wd":
        return k + lag
    anchor = cal.ordinal(k - 1) + 1 if from_finish else cal.ordinal(k)
    return cal.count_before(anchor + lag)


def assert_links_hold(doc: dict[str, Any], plan: dict[str, Any], early: bool) -> None:
    cal = calendar_of(doc)
    rows = {t["id"]: t for t in plan["tasks"]}
    s_key, f_key = ("es", "ef") if early else ("ls", "lf")
    for p, q, link in expanded_links(doc):
        kind = link["type"]
        source = rows[p][f_key] if kind[0] == "F" else rows[p][s_key]
        target = rows[q][f_key] if kind[1] == "F" else rows[q][s_key]
        assert target >= shifted(cal, source, link, kind[0] == "F"), (p, q, link)


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
