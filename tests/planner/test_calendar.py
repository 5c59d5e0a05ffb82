"""Working time: the bulk workday listing agrees with the day-by-day rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.planner.engine.calendar import WorkingTime

BASE = 739_000  # an ordinal in 2024; the offsets below stay within a few years of it
days = st.integers(-400, 400).map(lambda d: BASE + d)


class TestWorkdays:
    @given(
        weekdays=st.sets(st.integers(0, 6)),
        holidays=st.sets(days, max_size=20),
        exceptions=st.sets(days, max_size=5),
        lo=days,
        span=st.integers(0, 120),
    )
    def test_lists_the_days_is_workday_accepts(
        self, weekdays: set[int], holidays: set[int], exceptions: set[int], lo: int, span: int
    ) -> None:
        working = WorkingTime(weekdays, holidays, exceptions)
        expected = [o for o in range(lo, lo + span) if working.is_workday(o)]
        assert working.workdays(lo, lo + span) == expected
