"""iCalendar and CSV exports read back with their own parsers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import icalendar
import msgspec

from services.planner.engine import CSV_COLUMNS, CompiledPlan, compile_document, to_csv, to_ics
from services.planner.engine.document import PlanDocument

from .plans import document, task

STAMP = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)


def compiled() -> tuple[PlanDocument, CompiledPlan]:
    doc = document(
        [
            task("phase", None),
            task("design", 3, parent="phase"),
            task("build", 2, ("design", "SS", -1), parent="phase"),
            task("launch", None, "phase", milestone=True),  # a milestone may omit its duration
            {"id": "evil", "name": "=HYPERLINK(1)", "duration": 1},
        ]
    )
    return compile_document(msgspec.json.encode(doc))


class TestICalendar:
    def test_all_day_events_with_exclusive_end(self) -> None:
        doc, plan = compiled()
        cal = icalendar.Calendar.from_ical(to_ics(doc, plan, stamp=STAMP))
        events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
        assert set(events) == {
            f"{t}@demo.gwstack" for t in ("phase", "design", "build", "launch", "evil")
        }
        design = events["design@demo.gwstack"]
        assert design.decoded("dtstart") == dt.date(2027, 1, 4)
        assert design.decoded("dtend") == dt.date(2027, 1, 7)  # finishes Wed Jan 6
        launch = events["launch@demo.gwstack"]
        assert launch.decoded("dtstart") == dt.date(2027, 1, 6)
        assert launch.decoded("dtend") == dt.date(2027, 1, 7)
        assert design.decoded("dtstamp") == STAMP

    def test_deterministic(self) -> None:
        doc, plan = compiled()
        assert to_ics(doc, plan, stamp=STAMP) == to_ics(*compiled(), stamp=STAMP)


class TestCSV:
    def test_round_trip(self) -> None:
        doc, plan = compiled()
        rows = list(csv.DictReader(io.StringIO(to_csv(doc, plan))))
        assert list(rows[0]) == list(CSV_COLUMNS)
        assert [r["id"] for r in rows] == [t.id for t in plan.tasks]
        by_id = {r["id"]: r for r in rows}
        for t in plan.tasks:
            row = by_id[t.id]
            assert (row["earlyStart"], row["earlyFinish"]) == (t.early_start, t.early_finish)
            assert int(row["totalFloat"]) == t.total_float
            assert row["critical"] == str(t.critical).lower()
        assert by_id["build"]["predecessors"] == "design SS-1wd"
        assert by_id["phase"]["kind"] == "summary"
        assert by_id["launch"]["kind"] == "milestone"
        assert (by_id["launch"]["duration"], by_id["phase"]["duration"]) == ("0", "")

    def test_formulas_are_neutralised(self) -> None:
        rows = list(csv.DictReader(io.StringIO(to_csv(*compiled()))))
        assert rows[-1]["name"] == "'=HYPERLINK(1)"
