"""Milestones and elapsed durations as instants: the rules checked against TaskJuggler.

Each plan below is written out as a client sends it, on the minimal document
these rules were found with (Mon-Fri, no holidays, starting Monday
2027-01-04), so each test reads as the example it checks.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.planner.engine import compile_plan


def minimal(tasks: list[dict[str, Any]]) -> bytes:
    return msgspec.json.encode(
        {
            "schemaVersion": "1.0",
            "project": {
                "id": "p",
                "name": "p",
                "start": "2027-01-04",
                "timeZone": "UTC",
                "calendar": "std",
            },
            "calendars": [
                {"id": "std", "workweek": ["mon", "tue", "wed", "thu", "fri"], "holidays": []}
            ],
            "tasks": tasks,
        }
    )


def starts(tasks: list[dict[str, Any]]) -> dict[str, str]:
    return {t.id: t.early_start for t in compile_plan(minimal(tasks)).tasks}


class TestMilestoneDuration:
    def test_a_milestone_may_omit_its_duration(self) -> None:
        plan = compile_plan(minimal([{"id": "m", "name": "M", "milestone": True}]))
        (m,) = plan.tasks
        assert (m.es, m.ef, m.early_start, m.early_finish) == (0, 0, "2027-01-04", "2027-01-04")
        assert plan.project.critical_path == ["m"]


class TestMilestoneInstant:
    def test_fs_and_ss_links_from_a_milestone_agree(self) -> None:
        # a works Mon 4 - Fri 8; m is the instant a finishes, the end of Friday;
        # one calendar day later is the end of Saturday, so both start Monday 11.
        tasks = [
            {"id": "a", "name": "A", "duration": 5},
            {"id": "m", "name": "M", "milestone": True, "predecessors": [{"task": "a"}]},
            {
                "id": "fs",
                "name": "FS",
                "duration": 1,
                "predecessors": [{"task": "m", "type": "FS", "lag": 1, "lagUnit": "ed"}],
            },
            {
                "id": "ss",
                "name": "SS",
                "duration": 1,
                "predecessors": [{"task": "m", "type": "SS", "lag": 1, "lagUnit": "ed"}],
            },
        ]
        assert starts(tasks) == {
            "a": "2027-01-04",
            "m": "2027-01-08",
            "fs": "2027-01-11",
            "ss": "2027-01-11",
        }

    def test_a_milestone_with_no_predecessors_sits_at_the_project_start(self) -> None:
        # m is Monday 00:00; one calendar day later is Tuesday 00:00.
        tasks = [
            {"id": "m", "name": "M", "duration": 0},
            {
                "id": "f",
                "name": "F",
                "duration": 1,
                "predecessors": [{"task": "m", "type": "FS", "lag": 1, "lagUnit": "ed"}],
            },
        ]
        assert starts(tasks) == {"m": "2027-01-04", "f": "2027-01-05"}


class TestElapsedFinish:
    def test_an_elapsed_task_ends_when_its_elapsed_time_ends(self) -> None:
        # e runs 6 calendar days from Monday 00:00, to Sunday 00:00; two days
        # later is Tuesday 00:00.
        tasks = [
            {"id": "e", "name": "E", "duration": 6, "durationUnit": "ed"},
            {
                "id": "f",
                "name": "F",
                "duration": 1,
                "predecessors": [{"task": "e", "type": "FS", "lag": 2, "lagUnit": "ed"}],
            },
        ]
        plan = compile_plan(minimal(tasks))
        e, f = plan.tasks
        # e's last working day is Friday 8; it still ends on Sunday.
        assert (e.early_start, e.early_finish, e.ef) == ("2027-01-04", "2027-01-08", 5)
        assert f.early_start == "2027-01-12"


class TestChains:
    def test_an_elapsed_lag_into_a_milestone_places_it_at_that_instant(self) -> None:
        # a ends Friday 8 (Saturday 00:00); m is one day later, Sunday 00:00, inside
        # the weekend; two days after m is Tuesday 00:00.
        tasks = [
            {"id": "a", "name": "A", "duration": 5},
            {
                "id": "m",
                "name": "M",
                "milestone": True,
                "predecessors": [{"task": "a", "lag": 1, "lagUnit": "ed"}],
            },
            {
                "id": "x",
                "name": "X",
                "duration": 1,
                "predecessors": [{"task": "m", "type": "SS", "lag": 2, "lagUnit": "ed"}],
            },
        ]
        plan = compile_plan(minimal(tasks))
        rows = {t.id: t for t in plan.tasks}
        assert (rows["m"].es, rows["m"].early_start) == (5, "2027-01-08")
        assert rows["x"].early_start == "2027-01-12"
        assert plan.project.critical_path == ["a", "m", "x"]

    def test_links_to_and_from_a_summary_use_its_leaves_instants(self) -> None:
        # From a summary: its latest leaf finish, e's Sunday 00:00, so FS +2ed is
        # Tuesday 12 as it is from e. Into a summary: each leaf, so the milestone
        # m inside it is exactly one day after a's finish (Sunday 00:00) and
        # SS +2ed after m is again Tuesday 12.
        tasks: list[dict[str, Any]] = [
            {"id": "phase", "name": "Phase"},
            {"id": "e", "name": "E", "duration": 6, "durationUnit": "ed", "parent": "phase"},
            {"id": "w", "name": "W", "duration": 2, "parent": "phase"},
            {
                "id": "f",
                "name": "F",
                "duration": 1,
                "predecessors": [{"task": "phase", "lag": 2, "lagUnit": "ed"}],
            },
            {"id": "a", "name": "A", "duration": 5},
            {
                "id": "later",
                "name": "Later",
                "predecessors": [{"task": "a", "lag": 1, "lagUnit": "ed"}],
            },
            {"id": "m", "name": "M", "milestone": True, "parent": "later"},
            {
                "id": "x",
                "name": "X",
                "duration": 1,
                "predecessors": [{"task": "m", "type": "SS", "lag": 2, "lagUnit": "ed"}],
            },
        ]
        plan = compile_plan(minimal(tasks))
        rows = {t.id: t for t in plan.tasks}
        assert (rows["phase"].early_start, rows["phase"].early_finish) == (
            "2027-01-04",
            "2027-01-08",
        )
        assert rows["f"].early_start == "2027-01-12"
        assert (rows["m"].es, rows["x"].early_start) == (5, "2027-01-12")
        assert plan.project.critical_path == ["e", "f"]  # f and x tie; f has the smaller id
        # Late dates keep every link: e may not slip, f is the last task.
        assert (rows["e"].total_float, rows["f"].total_float) == (0, 0)
