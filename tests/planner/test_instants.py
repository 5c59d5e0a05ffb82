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
