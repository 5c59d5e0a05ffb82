"""Hand-checked schedules: every number below was worked out on a calendar."""

from __future__ import annotations

from typing import Any

import pytest

from .plans import by_id, compile_doc, document, task

# Mon-Fri with Dec 25 and Jan 1 off. Workday indices from Thu 2026-12-24:
# 0 Dec24, 1 Dec28, 2 Dec29, 3 Dec30, 4 Dec31, 5 Jan4, 6 Jan5, 7 Jan6, 8 Jan7, 9 Jan8
YEAR_END: dict[str, Any] = {"start": "2026-12-24", "holidays": ["2026-12-25", "2027-01-01"]}


class TestDesignExample:
    def test_matches_the_design_document(self) -> None:
        plan = compile_doc(
            document(
                [
                    task("design", 7),
                    task("build", 10, "design"),
                    task("launch", 0, "build", milestone=True),
                ]
            )
        )
        assert plan.project.start == "2027-01-04"
        assert plan.project.finish == "2027-01-26"
        assert plan.project.duration_workdays == 17
        assert plan.project.critical_path == ["design", "build", "launch"]
        build = by_id(plan)["build"]
        assert (build.early_start, build.early_finish) == ("2027-01-13", "2027-01-26")
        assert (build.es, build.ef, build.ls, build.lf) == (7, 17, 7, 17)
        assert build.critical
        assert build.total_float == 0


class TestYearBoundary:
    @pytest.fixture
    def plan(self):  # type: ignore[no-untyped-def]
        return compile_doc(
            document(
                [
                    task("a", 3),
                    task("b", 4, "a"),
                    task("c", 2, ("b", "SS", -1)),
                    task("m", 0, "b", milestone=True),
                    task("d", 3, "m"),
                ],
                **YEAR_END,
            )
        )

    def test_holidays_and_weekends_are_skipped(self, plan) -> None:  # type: ignore[no-untyped-def]
        tasks = by_id(plan)
        assert (tasks["a"].early_start, tasks["a"].early_finish) == ("2026-12-24", "2026-12-29")
        assert (tasks["b"].early_start, tasks["b"].early_finish) == ("2026-12-30", "2027-01-05")
        assert (tasks["d"].early_start, tasks["d"].early_finish) == ("2027-01-06", "2027-01-08")
        assert plan.project.finish == "2027-01-08"
        assert plan.project.duration_workdays == 10

    def test_negative_lag_starts_before_the_predecessor(self, plan) -> None:  # type: ignore[no-untyped-def]
        c = by_id(plan)["c"]
        assert (c.es, c.ef) == (2, 4)
        assert (c.early_start, c.early_finish) == ("2026-12-29", "2026-12-30")
        assert (c.ls, c.lf, c.total_float, c.free_float) == (8, 10, 6, 6)

    def test_milestone_shows_the_day_its_predecessor_finishes(self, plan) -> None:  # type: ignore[no-untyped-def]
        m = by_id(plan)["m"]
        assert m.es == m.ef == 7
        assert m.early_start == m.early_finish == "2027-01-05"

    def test_critical_path(self, plan) -> None:  # type: ignore[no-untyped-def]
        assert plan.project.critical_path == ["a", "b", "m", "d"]
        assert not by_id(plan)["c"].critical


class TestLinkTypes:
    def test_ff_and_sf(self) -> None:
        plan = compile_doc(
            document([task("a", 3), task("x", 1, ("a", "FF", 0)), task("y", 1, ("a", "SF", 2))])
        )
        tasks = by_id(plan)
        assert (tasks["x"].es, tasks["x"].ef) == (2, 3)
        assert (tasks["y"].es, tasks["y"].ef) == (1, 2)

    def test_negative_lag_cannot_start_before_the_project(self) -> None:
        plan = compile_doc(document([task("a", 2), task("b", 5, ("a", "FF", -10))]))
        b = by_id(plan)["b"]
        assert (b.es, b.ef) == (0, 5)

    def test_elapsed_duration_spans_calendar_days(self) -> None:
        # Thu Dec 24 + 5 calendar days ends Mon Dec 28 (24, 25, 26, 27, 28).
        plan = compile_doc(document([task("e", 5, durationUnit="ed")], **YEAR_END))
        e = by_id(plan)["e"]
        assert (e.es, e.ef, e.early_finish) == (0, 2, "2026-12-28")

    def test_elapsed_lag_runs_over_non_working_days(self) -> None:
        # Pour finishes Thu Dec 31; curing takes Jan 1 and 2; work resumes Mon Jan 4.
        plan = compile_doc(
            document([task("pour", 5), task("frame", 1, ("pour", "FS", 2, "ed"))], **YEAR_END)
        )
        tasks = by_id(plan)
        assert tasks["pour"].early_finish == "2026-12-31"
        assert tasks["frame"].early_start == "2027-01-04"

    def test_elapsed_ss_lag_is_counted_from_the_start_of_day(self) -> None:
        # a starts Mon Jan 4; +3 calendar days is Thu Jan 7.
        plan = compile_doc(document([task("a", 5), task("b", 1, ("a", "SS", 3, "ed"))]))
        assert by_id(plan)["b"].early_start == "2027-01-07"


class TestSummaries:
    def test_summary_spans_children_and_links_apply_to_each_child(self) -> None:
        plan = compile_doc(
            document(
                [
                    task("prep", 2),
                    task("phase", None, "prep"),
                    task("p1", 3, parent="phase"),
                    task("p2", 1, "p1", parent="phase"),
                    task("p3", 2, parent="phase"),
                    task("after", 1, "phase"),
                ]
            )
        )
        tasks = by_id(plan)
        assert (tasks["p1"].es, tasks["p3"].es) == (2, 2)  # both wait for prep
        assert (tasks["phase"].es, tasks["phase"].ef) == (2, 6)
        assert tasks["after"].es == 6
        assert plan.project.critical_path == ["prep", "p1", "p2", "after"]
        assert tasks["phase"].total_float == 0
        assert tasks["p3"].total_float == 2

    def test_summary_deadline_binds_children(self) -> None:
        plan = compile_doc(
            document([task("phase", None, deadline="2027-01-05"), task("c", 3, parent="phase")])
        )
        c = by_id(plan)["c"]
        assert (c.lf, c.total_float) == (2, -1)
        codes = [w.code for w in plan.warnings]
        assert codes == ["SCHED_DEADLINE_MISSED", "SCHED_NEGATIVE_FLOAT"]


class TestDeadlinesAndWarnings:
    def test_missed_task_deadline(self) -> None:
        plan = compile_doc(document([task("a", 5, deadline="2027-01-06")]))
        (missed, negative) = plan.warnings
        assert missed.code == "SCHED_DEADLINE_MISSED"
        assert missed.task == "a"
        assert missed.details == {
            "deadline": "2027-01-06",
            "finish": "2027-01-08",
            "lateByWorkdays": 2,
        }
        assert negative.code == "SCHED_NEGATIVE_FLOAT"
        assert by_id(plan)["a"].total_float == -2

    def test_every_warning_has_a_message_in_english_and_turkish(self) -> None:
        doc = document(
            [
                task("a", 5, deadline="2027-01-06", assignments=[{"resource": "r"}]),
                task("b", 2, assignments=[{"resource": "r"}]),
            ],
            start="2027-01-02",
            deadline="2027-01-07",
            resources=[{"id": "r", "name": "R"}],
        )
        english = [(w.code, w.message) for w in compile_doc(doc).warnings]
        turkish = [(w.code, w.message) for w in compile_doc(doc, locale="tr").warnings]
        assert english == [
            (
                "SCHED_START_MOVED_TO_WORKDAY",
                "The project start 2027-01-02 is not a working day; "
                "the schedule starts on 2027-01-04.",
            ),
            (
                "SCHED_DEADLINE_MISSED",
                "The project finishes on 2027-01-08, "
                "1 working day after its deadline of 2027-01-07.",
            ),
            (
                "SCHED_DEADLINE_MISSED",
                "Task 'a' finishes on 2027-01-08, 2 working days after its deadline of 2027-01-06.",
            ),
            (
                "SCHED_NEGATIVE_FLOAT",
                "1 task has negative total float (down to -2 working days): "
                "not every deadline can be met.",
            ),
            (
                "SCHED_RESOURCE_OVERALLOCATED",
                "Resource 'r' is over-allocated in 1 period from 2027-01-04: "
                "up to 2 units against a capacity of 1.",
            ),
        ]
        assert turkish == [
            (
                "SCHED_START_MOVED_TO_WORKDAY",
                "Proje başlangıcı 2027-01-02 bir çalışma günü değil; "
                "takvim 2027-01-04 tarihinde başlıyor.",
            ),
            (
                "SCHED_DEADLINE_MISSED",
                "Proje 2027-01-08 tarihinde bitiyor: "
                "son tarih olan 2027-01-07 tarihinden 1 iş günü sonra.",
            ),
            (
                "SCHED_DEADLINE_MISSED",
                "'a' görevi 2027-01-08 tarihinde bitiyor: "
                "son tarih olan 2027-01-06 tarihinden 2 iş günü sonra.",
            ),
            (
                "SCHED_NEGATIVE_FLOAT",
                "1 görevin toplam bolluğu negatif (en düşük -2 iş günü): "
                "son tarihlerin hepsine yetişilemiyor.",
            ),
            (
                "SCHED_RESOURCE_OVERALLOCATED",
                "'r' kaynağı 2027-01-04 tarihinden başlayarak 1 dönemde kapasitesinin üstünde: "
                "1 birim kapasiteye en çok 2 birim iş.",
            ),
        ]

    def test_project_deadline(self) -> None:
        plan = compile_doc(document([task("a", 5), task("b", 2)], deadline="2027-01-07"))
        assert plan.warnings[0].code == "SCHED_DEADLINE_MISSED"
        assert plan.warnings[0].task is None
        assert plan.warnings[0].details["lateByWorkdays"] == 1
        assert by_id(plan)["b"].total_float == 2  # 4 workdays allowed, 2 used

    def test_start_on_a_weekend_moves_to_monday(self) -> None:
        plan = compile_doc(document([task("a", 1)], start="2027-01-02"))
        assert plan.project.start == "2027-01-04"
        assert plan.warnings[0].code == "SCHED_START_MOVED_TO_WORKDAY"
        assert plan.warnings[0].details == {"requested": "2027-01-02", "start": "2027-01-04"}

    def test_empty_plan(self) -> None:
        plan = compile_doc(document([]))
        assert plan.project.finish == plan.project.start == "2027-01-04"
        assert plan.project.duration_workdays == 0


class TestResources:
    def test_overallocation_with_leave_and_part_time_calendar(self) -> None:
        doc = document(
            [
                task("a", 3, assignments=[{"resource": "alice"}]),
                task("b", 2, assignments=[{"resource": "alice", "units": 0.5}]),
                task("c", 5, assignments=[{"resource": "bob"}]),
            ],
            resources=[
                {"id": "alice", "name": "Alice"},
                {
                    "id": "bob",
                    "name": "Bob",
                    "calendar": "mwf",
                    "leaves": [{"start": "2027-01-04", "end": "2027-01-04"}],
                },
            ],
            calendars=[{"id": "mwf", "workweek": ["mon", "wed", "fri"]}],
        )
        plan = compile_doc(doc)
        alice, bob = plan.resources
        assert [(o.start, o.end, o.units, o.capacity, o.tasks) for o in alice.overallocations] == [
            ("2027-01-04", "2027-01-05", 1.5, 1.0, ["a", "b"])
        ]
        # Bob: leave on Monday, and Tuesday and Thursday are not his days.
        assert [(o.start, o.end, o.capacity) for o in bob.overallocations] == [
            ("2027-01-04", "2027-01-05", 0.0),
            ("2027-01-07", "2027-01-07", 0.0),
        ]
        codes = [w.code for w in plan.warnings]
        assert codes == ["SCHED_RESOURCE_OVERALLOCATED", "SCHED_RESOURCE_OVERALLOCATED"]
