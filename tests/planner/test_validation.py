"""Validation reports every problem at once, each with a JSON Pointer."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from services.planner.engine import PlanInvalid, PlanJSONInvalid, compile_plan

from .plans import document, task


def problems_of(doc: Any, **options: Any) -> list[tuple[str, str]]:
    with pytest.raises(PlanInvalid) as caught:
        compile_plan(msgspec.json.encode(doc), **options)
    return [(p.code, p.path) for p in caught.value.problems]


def details_of(doc: Any, code: str) -> dict[str, Any]:
    with pytest.raises(PlanInvalid) as caught:
        compile_plan(msgspec.json.encode(doc))
    return next(p.details for p in caught.value.problems if p.code == code)


def message_of(doc: Any, code: str) -> str:
    with pytest.raises(PlanInvalid) as caught:
        compile_plan(msgspec.json.encode(doc))
    return next(p.message for p in caught.value.problems if p.code == code)


class TestShape:
    def test_many_problems_in_one_answer(self) -> None:
        doc = document(
            [
                task("a", -1),
                {"id": "b", "name": "B", "duration": "3", "predecessors": [{"task": "zz"}]},
                task("c", 2, ("a", "XX", 0)),
                task("d", 1, ("a", "FS", 99999)),
                {"id": "bad id!", "name": "E", "duration": 1, "colour": "red"},
                task("f", 1, deadline="2027-02-30"),
            ],
            workweek=[],
        )
        doc["schemaVersion"] = "2.0"
        del doc["project"]["name"]
        assert problems_of(doc) == [
            ("PLAN_SCHEMA_VERSION_UNSUPPORTED", "/schemaVersion"),
            ("PLAN_FIELD_REQUIRED", "/project/name"),
            ("PLAN_NEGATIVE_DURATION", "/tasks/0/duration"),
            ("PLAN_FIELD_TYPE", "/tasks/1/duration"),
            ("PLAN_FIELD_TYPE", "/tasks/2/predecessors/0/type"),
            ("PLAN_LAG_OUT_OF_RANGE", "/tasks/3/predecessors/0/lag"),
            ("PLAN_FIELD_UNKNOWN", "/tasks/4/colour"),
            ("PLAN_FIELD_TYPE", "/tasks/4/id"),
            ("PLAN_INVALID_DATE", "/tasks/5/deadline"),
            ("PLAN_EMPTY_WORKWEEK", "/calendars/0/workweek"),
        ]

    def test_reference_problems_are_found_next_to_shape_problems(self) -> None:
        doc = document([task("a", "x"), task("b", 1, "ghost"), task("c", 1, "a")])  # type: ignore[arg-type]
        assert problems_of(doc) == [
            ("PLAN_FIELD_TYPE", "/tasks/0/duration"),
            ("PLAN_UNKNOWN_DEPENDENCY", "/tasks/1/predecessors/0/task"),
        ]

    def test_ids_are_matched_whole(self) -> None:
        # Python's "$" also matches before a final newline; JSON Schema's does not.
        doc = document([task("a\n", 1), task("b", 1, "b c")])
        assert problems_of(doc) == [
            ("PLAN_FIELD_TYPE", "/tasks/0/id"),
            ("PLAN_FIELD_TYPE", "/tasks/1/predecessors/0/task"),
        ]

    def test_a_malformed_reference_is_a_shape_problem_not_an_unknown_one(self) -> None:
        doc = document([task("a", 1, "a!"), task("b", 1, "ghost")])
        assert problems_of(doc) == [
            ("PLAN_FIELD_TYPE", "/tasks/0/predecessors/0/task"),
            ("PLAN_UNKNOWN_DEPENDENCY", "/tasks/1/predecessors/0/task"),
        ]

    def test_not_an_object(self) -> None:
        assert problems_of([1, 2]) == [("PLAN_FIELD_TYPE", "")]

    @pytest.mark.parametrize(
        "body",
        [
            b'{"schemaVersion": ',
            b"5 x",  # the typed decoder stops at the 5, before the syntax error
            b'{"schemaVersion": "\xff"}',  # not UTF-8
            b'"\xff"',
        ],
    )
    def test_invalid_json(self, body: bytes) -> None:
        with pytest.raises(PlanJSONInvalid):
            compile_plan(body)

    @pytest.mark.parametrize(
        ("body", "line", "column"),
        [
            (b'{\n  "schemaVersion": "1.0",\n  "tasks": [1 2]\n}', 3, 15),
            (b'{"schemaVersion": ', 1, 19),  # ran out of input at its end
            (b"5 x", 1, 3),
            (b'{"a": 1}}', 1, 9),
            ('{"ad": "Görev", "x" 1}'.encode(), 1, 21),  # columns count characters, not bytes
            (b'{\n"name": "\xff"}', 2, 10),  # not UTF-8
        ],
    )
    def test_invalid_json_says_where(self, body: bytes, line: int, column: int) -> None:
        with pytest.raises(PlanJSONInvalid) as caught:
            compile_plan(body)
        assert (caught.value.line, caught.value.column) == (line, column)
        assert caught.value.details["line"] == line

    def test_at_most_a_hundred(self) -> None:
        doc = document([task(f"t{i}", -1) for i in range(150)])
        with pytest.raises(PlanInvalid) as caught:
            compile_plan(msgspec.json.encode(doc))
        assert len(caught.value.problems) == 100
        assert caught.value.truncated


class TestReferences:
    def test_every_reference_kind(self) -> None:
        doc = document(
            [
                task("a", 1, "a", assignments=[{"resource": "nobody"}]),
                task("a", 1),
                task("m", 2, milestone=True, parent="ghost"),
                task("s", 1, parent="s"),
            ],
            resources=[{"id": "r", "name": "R", "calendar": "nope"}],
            calendar="missing",
            timeZone="Mars/Olympus_Mons",
        )
        assert problems_of(doc) == [
            ("PLAN_DUPLICATE_ID", "/tasks/1/id"),
            ("PLAN_UNKNOWN_TIMEZONE", "/project/timeZone"),
            ("PLAN_UNKNOWN_CALENDAR", "/project/calendar"),
            ("PLAN_UNKNOWN_CALENDAR", "/resources/0/calendar"),
            ("PLAN_UNKNOWN_PARENT", "/tasks/2/parent"),
            ("PLAN_SELF_DEPENDENCY", "/tasks/3/parent"),
            ("PLAN_SELF_DEPENDENCY", "/tasks/0/predecessors/0/task"),
            ("PLAN_UNKNOWN_RESOURCE", "/tasks/0/assignments/0/resource"),
            ("PLAN_MILESTONE_DURATION", "/tasks/2/duration"),
        ]

    def test_missing_duration_is_allowed_only_for_summaries_and_milestones(self) -> None:
        doc = document(
            [
                task("p", None),
                task("c", 1, parent="p"),
                task("x", None),
                task("m", None, milestone=True),
                task("y", None, milestone=False),
            ]
        )
        assert problems_of(doc) == [
            ("PLAN_FIELD_REQUIRED", "/tasks/2/duration"),
            ("PLAN_FIELD_REQUIRED", "/tasks/4/duration"),
        ]

    def test_cycle_reports_the_loop_and_the_link_that_closes_it(self) -> None:
        doc = document([task("b", 1, "a"), task("c", 1, "b"), task("a", 1, "z", "c"), task("z", 1)])
        assert details_of(doc, "PLAN_CYCLE") == {"cycle": ["a", "b", "c", "a"]}
        # Read top to bottom, a's second predecessor (c) is the link that closes the loop.
        assert problems_of(doc) == [("PLAN_CYCLE", "/tasks/2/predecessors/1")]
        assert message_of(doc, "PLAN_CYCLE") == (
            "dependency cycle: a -> b -> c -> a; the link from 'c' to 'a' closes it"
        )

    def test_the_closing_link_is_the_one_written_last(self) -> None:
        doc = document([task("a", 1, "c"), task("b", 1, "a"), task("c", 1, "b")])
        assert problems_of(doc) == [("PLAN_CYCLE", "/tasks/2/predecessors/0")]

    def test_link_between_summary_and_its_child_is_a_cycle(self) -> None:
        doc = document([task("p", None), task("c", 1, "p", parent="p")])
        assert details_of(doc, "PLAN_CYCLE") == {"cycle": ["c", "p", "c"]}
        assert problems_of(doc) == [("PLAN_CYCLE", "/tasks/1/predecessors/0")]
        # The other way round: the summary waits for its own child.
        doc = document([task("p", None, "c"), task("c", 1, parent="p")])
        assert problems_of(doc) == [("PLAN_CYCLE", "/tasks/0/predecessors/0")]

    def test_two_separate_cycles(self) -> None:
        doc = document([task("a", 1, "b"), task("b", 1, "a"), task("x", 1, "y"), task("y", 1, "x")])
        assert problems_of(doc) == [
            ("PLAN_CYCLE", "/tasks/1/predecessors/0"),
            ("PLAN_CYCLE", "/tasks/3/predecessors/0"),
        ]

    def test_too_large(self) -> None:
        doc = document([task(f"t{i}", 1) for i in range(11)])
        assert problems_of(doc, max_tasks=10) == [("PLAN_TOO_LARGE", "/tasks")]

    def test_horizon(self) -> None:
        doc = document([task("a", 400), task("b", 300, "a")])
        assert problems_of(doc, horizon_days=500) == [("PLAN_HORIZON_EXCEEDED", "")]
        doc = document([task("a", 600, deadline="2031-01-01")])
        assert problems_of(doc, horizon_days=500) == [
            ("PLAN_HORIZON_EXCEEDED", "/tasks/0/duration"),
            ("PLAN_HORIZON_EXCEEDED", "/tasks/0/deadline"),
        ]

    def test_leave_ending_before_it_starts(self) -> None:
        doc = document(
            [task("a", 1)],
            resources=[
                {"id": "r", "name": "R", "leaves": [{"start": "2027-02-02", "end": "2027-02-01"}]}
            ],
        )
        assert problems_of(doc) == [("PLAN_INVALID_DATE", "/resources/0/leaves/0/end")]
