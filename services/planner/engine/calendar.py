"""Working-day calendars and the workday-index space the scheduler runs in.

The scheduler never touches dates in its hot loops. A ``WorkCalendar`` numbers
the project's working days: index 0 is the project start (moved to the next
workday if needed), 1 the workday after, -1 the workday before, and so on.
Durations and ``wd`` lags are then plain integer additions. Elapsed-day (``ed``)
arithmetic goes through ``ordinal``/``count_before``, which look up a table of
workday ordinals that grows on demand, up to the horizon in either direction.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

from .document import WEEKDAY_NUMBERS, Calendar

# How many calendar days one growth step scans; doubling from here keeps the
# number of rebuilds logarithmic in the span a plan actually uses.
_FIRST_CHUNK_DAYS = 2 * 366


class HorizonExceeded(Exception):
    """The schedule needs a date further from the project start than the horizon allows."""

    def __init__(self, ordinal: int) -> None:
        super().__init__(f"schedule reaches beyond the horizon (ordinal {ordinal})")
        self.ordinal = ordinal


class WorkingTime:
    """Which calendar days are worked: a work week, holidays and working exceptions."""

    __slots__ = ("_exceptions", "_holidays", "_weekdays")

    def __init__(
        self, weekdays: Iterable[int], holidays: Iterable[int], exceptions: Iterable[int]
    ) -> None:
        self._weekdays = frozenset(weekdays)
        self._holidays = frozenset(holidays)
        self._exceptions = frozenset(exceptions)

    @classmethod
    def from_calendar(cls, calendar: Calendar) -> WorkingTime:
        return cls(
            (WEEKDAY_NUMBERS[day] for day in calendar.workweek),
            (h.date.toordinal() for h in calendar.holidays),
            (d.toordinal() for d in calendar.working_exceptions),
        )

    def is_workday(self, ordinal: int) -> bool:
        if ordinal in self._exceptions:
            return True
        # date.toordinal() of 0001-01-01 is 1 and a Monday, hence the shift.
        return (ordinal - 1) % 7 in self._weekdays and ordinal not in self._holidays

    def workdays(self, lo: int, hi: int) -> list[int]:
        """The worked ordinals in ``[lo, hi)``, ascending.

        Built a weekday at a time with ``range`` and set operations rather
        than by asking ``is_workday`` about each day: a plan spanning a
        century scans tens of thousands of days.
        """
        days: set[int] = set()
        for weekday in self._weekdays:
            days.update(range(lo + (weekday - (lo - 1)) % 7, hi, 7))
        days.difference_update(self._holidays)
        days.update(o for o in self._exceptions if lo <= o < hi)
        return sorted(days)


class WorkCalendar:
    """Maps workday indices to dates and back for one project calendar."""

    def __init__(self, working: WorkingTime, start: dt.date, horizon_days: int) -> None:
        self.working = working
        start_ordinal = start.toordinal()
        self._min_ordinal = max(1, start_ordinal - horizon_days)
        self._max_ordinal = min(dt.date.max.toordinal() + 1, start_ordinal + horizon_days + 1)
        # Scanned calendar days are [_lo, _hi); _ords holds the workdays among them.
        self._lo = start_ordinal
        self._hi = start_ordinal
        self._ords: list[int] = []
        self._neg = 0  # how many entries of _ords lie before index 0
        self._extend_forward(start_ordinal + _FIRST_CHUNK_DAYS)
        while not self._ords:
            self._extend_forward(self._hi + 2 * (self._hi - self._lo))
        self.start_ordinal = self._ords[0]
        self.start = dt.date.fromordinal(self.start_ordinal)

    # -- growth -------------------------------------------------------------

    def _extend_forward(self, hi: int) -> None:
        if hi > self._max_ordinal:
            if self._hi >= self._max_ordinal:
                raise HorizonExceeded(hi)
            hi = self._max_ordinal
        self._ords.extend(self.working.workdays(self._hi, hi))
        self._hi = hi

    def _extend_backward(self, lo: int) -> None:
        if lo < self._min_ordinal:
            if self._lo <= self._min_ordinal:
                raise HorizonExceeded(lo)
            lo = self._min_ordinal
        before = self.working.workdays(lo, self._lo)
        self._ords[:0] = before
        self._neg += len(before)
        self._lo = lo

    def _grow_to_index(self, k: int) -> None:
        while k + self._neg >= len(self._ords):
            self._extend_forward(self._hi + max(_FIRST_CHUNK_DAYS, self._hi - self._lo))
        while k + self._neg < 0:
            self._extend_backward(self._lo - max(_FIRST_CHUNK_DAYS, self._hi - self._lo))

    def _grow_to_ordinal(self, ordinal: int) -> None:
        while ordinal >= self._hi:
            self._extend_forward(max(ordinal + 1, self._hi + (self._hi - self._lo)))
        while ordinal < self._lo:
            self._extend_backward(min(ordinal, self._lo - (self._hi - self._lo)))

    # -- look-ups -------------------------------------------------------------

    def ordinal(self, k: int) -> int:
        """The date ordinal of workday ``k``."""
        pos = k + self._neg
        if pos < 0 or pos >= len(self._ords):
            self._grow_to_index(k)
            pos = k + self._neg
        return self._ords[pos]

    def count_before(self, ordinal: int) -> int:
        """The index of the first workday on or after ``ordinal``.

        Equivalently: how many workdays (counted from index 0) lie strictly
        before that calendar day, which is the working-time position of the
        instant at midnight starting that day.
        """
        if ordinal >= self._hi or ordinal < self._lo:
            self._grow_to_ordinal(ordinal)
        return bisect.bisect_left(self._ords, ordinal) - self._neg

    def finish_bound(self, day: dt.date) -> int:
        """The exclusive workday index of a finish no later than the end of ``day``."""
        return self.count_before(day.toordinal() + 1)

    def iso_dates(self, lo: int, hi: int) -> list[str]:
        """ISO dates of workdays ``lo`` .. ``hi - 1``, for bulk output."""
        if hi <= lo:
            return []
        self.ordinal(lo)
        self.ordinal(hi - 1)
        fromordinal = dt.date.fromordinal
        return [fromordinal(o).isoformat() for o in self._ords[lo + self._neg : hi + self._neg]]
