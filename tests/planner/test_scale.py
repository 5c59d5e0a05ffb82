"""Nothing in the compiler may recurse per task: deep plans must compile."""

from __future__ import annotations

import msgspec

from services.planner.engine import compile_plan

from .plans import document


def test_a_100k_task_chain_compiles() -> None:
    n = 100_000
    tasks = [{"id": "t0", "name": "t0", "duration": 1}]
    tasks += [
        {"id": f"t{i}", "name": f"t{i}", "duration": 1, "predecessors": [{"task": f"t{i - 1}"}]}
        for i in range(1, n)
    ]
    # Nest the chain under a deep summary ladder too, for the roll-up.
    tasks.insert(0, {"id": "s0", "name": "s0"})
    for k in range(1, 200):
        tasks.insert(k, {"id": f"s{k}", "name": f"s{k}", "parent": f"s{k - 1}"})
    tasks[200]["parent"] = "s199"
    doc = document(tasks, workweek=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    plan = compile_plan(msgspec.json.encode(doc))
    assert plan.project.duration_workdays == n
    assert len(plan.project.critical_path) == n
    assert plan.tasks[0].ef == 1  # s0 spans only t0, its one descendant


def test_a_100k_cycle_is_reported_not_recursed() -> None:
    n = 100_000
    tasks = [
        {"id": f"t{i}", "name": "", "duration": 1, "predecessors": [{"task": f"t{(i - 1) % n}"}]}
        for i in range(n)
    ]
    doc = document(tasks)
    try:
        compile_plan(msgspec.json.encode(doc))
    except Exception as exc:
        problems = exc.problems  # type: ignore[attr-defined]
        assert problems[0].code == "PLAN_CYCLE"
        assert len(problems[0].details["cycle"]) == n + 1
    else:  # pragma: no cover
        raise AssertionError("a cycle compiled")
