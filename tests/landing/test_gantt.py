"""The SVG Gantt chart: what a person reads off it, hostile names, and its size."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.landing.gantt import (
    AXIS_H,
    FOOT_H,
    GANTT_TEXT,
    HARD_MAX_TIMELINE_PX,
    LABEL_W,
    MAX_TIMELINE_PX,
    ROW_H,
    GanttChart,
    GanttInputInvalid,
    Zoom,
    render_gantt,
)
from services.planner.engine import compile_plan
from tests.planner.plans import document, task

NS = "{http://www.w3.org/2000/svg}"
# Everything the chart may contain: no script, no foreignObject, no links out.
DRAWING_TAGS = {
    "svg",
    "title",
    "desc",
    "defs",
    "marker",
    "path",
    "g",
    "rect",
    "line",
    "text",
    "polygon",
}


def compiled(doc: dict[str, Any]) -> dict[str, Any]:
    plan: dict[str, Any] = msgspec.to_builtins(compile_plan(msgspec.json.encode(doc)))
    return plan


def parse(svg: str) -> ET.Element:
    # Our own output, parsed to check it: the XML attacks S314 warns of need a DTD we never write.
    return ET.fromstring(svg)  # noqa: S314


def draw(doc: dict[str, Any], **options: Any) -> tuple[GanttChart, ET.Element]:
    chart = render_gantt(doc, compiled(doc), **options)
    return chart, parse(chart.svg)


def with_class(root: ET.Element, name: str, tag: str | None = None) -> list[ET.Element]:
    return [
        el
        for el in root.iter()
        if name in el.get("class", "").split() and (tag is None or el.tag == NS + tag)
    ]


def task_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-task", ""): g for g in with_class(root, "task", "g")}


# Design 5 → build 10 → launch (milestone); docs 3 after design has float;
# Wednesday 6 January is a holiday.
LAUNCH = document(
    [
        task("design", 5),
        task("build", 10, "design"),
        task("docs", 3, "design"),
        task("launch", 0, "build", "docs", milestone=True),
    ],
    holidays=["2027-01-06"],
)


class TestWhatTheChartShows:
    def test_one_bar_per_task_and_a_diamond_per_milestone(self) -> None:
        chart, root = draw(LAUNCH)
        assert chart.rows == 4
        assert len(with_class(root, "bar", "rect")) == 3
        diamonds = with_class(root, "milestone", "polygon")
        assert len(diamonds) == 1
        assert task_groups(root)["launch"].find(NS + "polygon") is diamonds[0]

    def test_critical_path_is_marked(self) -> None:
        _, root = draw(LAUNCH)
        groups = task_groups(root)
        critical = {tid for tid, g in groups.items() if "critical" in g.get("class", "").split()}
        assert critical == {"design", "build", "launch"}
        bar_colours = {tid: g.find(NS + "rect[@class='bar']") for tid, g in groups.items()}
        assert bar_colours["build"] is not None
        assert bar_colours["docs"] is not None
        assert bar_colours["build"].get("fill") != bar_colours["docs"].get("fill")

    def test_float_is_a_tail_after_the_bar(self) -> None:
        _, root = draw(LAUNCH, zoom=Zoom.DAY)
        groups = task_groups(root)
        assert groups["build"].find(NS + "rect[@class='float']") is None
        tail = groups["docs"].find(NS + "rect[@class='float']")
        bar = groups["docs"].find(NS + "rect[@class='bar']")
        assert tail is not None
        assert bar is not None
        # docs finishes Thu 14 Jan, could finish Mon 25 Jan: 11 calendar days of tail.
        assert float(tail.get("x", "")) == float(bar.get("x", "")) + float(bar.get("width", ""))
        assert float(tail.get("width", "")) == 11 * 24

    def test_negative_float_shows_the_overrun(self) -> None:
        late = {**LAUNCH, "project": {**LAUNCH["project"], "deadline": "2027-01-20"}}
        _, root = draw(late)
        assert with_class(task_groups(root)["build"], "overrun", "rect")
        assert with_class(root, "deadline", "line")

    def test_one_arrow_per_link(self) -> None:
        chart, root = draw(LAUNCH)
        arrows = with_class(root, "link", "path")
        assert chart.links == len(arrows) == 4
        pairs = {(a.get("data-from"), a.get("data-to")) for a in arrows}
        assert pairs == {
            ("design", "build"),
            ("design", "docs"),
            ("build", "launch"),
            ("docs", "launch"),
        }
        assert {a.get("data-to") for a in with_class(root, "critical", "path")} == {
            "build",
            "launch",
        }

    @pytest.mark.parametrize("kind", ["FS", "SS", "FF", "SF"])
    def test_every_link_type_and_lag_has_an_arrow(self, kind: str) -> None:
        doc = document([task("a", 3), task("b", 2, ("a", kind, -1)), task("c", 2, ("b", kind, 2))])
        chart, root = draw(doc)
        assert chart.links == 2
        for arrow in with_class(root, "link", "path"):
            assert arrow.get("d", "").startswith("M")
            assert arrow.get("marker-end", "").startswith("url(#gantt-arrow")

    def test_links_between_thin_bars_drop_straight_onto_the_successor(self) -> None:
        # Two years at Fit: a day is about a pixel, too little for an elbow into the bar.
        _, root = draw(chain_of_days(250), fit_px=800)
        paths = [a.get("d", "") for a in with_class(root, "link", "path")]
        assert len(paths) == 199
        assert all(d.count("V") == 1 and d.count("H") == 1 for d in paths), paths[:3]

    def test_summaries_are_brackets_with_indented_children(self) -> None:
        doc = document(
            [task("phase", None), task("a", 2, parent="phase"), task("b", 3, "a", parent="phase")]
        )
        _, root = draw(doc)
        groups = task_groups(root)
        assert "summary" in groups["phase"].get("class", "").split()
        assert with_class(groups["phase"], "summary", "path")
        name_x = {tid: float(g.find(NS + "text").get("x", "")) for tid, g in groups.items()}  # type: ignore[union-attr]
        assert name_x["a"] > name_x["phase"]

    def test_weekends_and_holidays_are_shaded(self) -> None:
        _, root = draw(LAUNCH, zoom=Zoom.DAY)
        holidays = with_class(root, "holiday", "rect")
        assert len(holidays) == 1
        title = holidays[0].find(NS + "title")
        assert title is not None
        assert "6 Jan 2027" in (title.text or "")
        weekends = with_class(root, "weekend", "rect")
        # The axis covers Mon 28 Dec 2026 .. Thu 28 Jan 2027: four weekends, each one rect.
        assert len(weekends) == 4
        assert all(float(w.get("width", "")) in (24, 48) for w in weekends)

    def test_a_working_exception_is_not_shaded(self) -> None:
        doc = document([task("a", 8)], start="2027-01-04")
        doc["calendars"][0]["workingExceptions"] = ["2027-01-09"]  # a working Saturday
        _, root = draw(doc, zoom=Zoom.DAY)
        saturday = LABEL_W + (dt.date(2027, 1, 9) - dt.date(2026, 12, 28)).days * 24
        starts = {float(w.get("x", "")) for w in with_class(root, "weekend", "rect")}
        assert saturday not in starts
        assert saturday + 24 in starts  # Sunday the 10th alone

    def test_today_finish_and_deadline_lines(self) -> None:
        doc = {**LAUNCH, "project": {**LAUNCH["project"], "deadline": "2027-02-05"}}
        _, root = draw(doc, today=dt.date(2027, 1, 12))
        for kind in ("today", "finish", "deadline"):
            assert len(with_class(root, kind, "line")) == 1, kind
        _, root = draw(doc, today=dt.date(2030, 1, 1))
        assert not with_class(root, "today", "line")
        _, root = draw(doc)
        assert not with_class(root, "today", "line")

    def test_in_turkish(self) -> None:
        _, root = draw(LAUNCH, text=GANTT_TEXT["tr"], today=dt.date(2027, 1, 12))
        title = root.find(NS + "title")
        assert title is not None
        assert title.text == "Demo takvimi"
        labels = {t.text for t in root.iter(NS + "text")}
        assert {"Görev", "Bugün", "Oca 2027"} <= labels
        bar_title = task_groups(root)["docs"].find(NS + "title")
        assert bar_title is not None
        assert "toplam bolluk 7 iş günü" in (bar_title.text or "")

    def test_accessible_names(self) -> None:
        _, root = draw(LAUNCH)
        assert root.get("role") == "img"
        assert root.get("aria-labelledby") == "gantt-title gantt-desc"
        desc = root.find(NS + "desc")
        assert desc is not None
        assert desc.text == ("4 tasks, 3 on the critical path; finishes 25 Jan 2027.")
        for group in task_groups(root).values():
            assert group[0].tag == NS + "title"


HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "]]><svg onload=alert(1)>",
    "&amp; &lt; &#60;",
    "a\x00b\x08c\x1fd\ufffe",
    "' onmouseover='alert(1)",
]


class TestHostileText:
    @pytest.mark.parametrize("name", HOSTILE)
    def test_a_name_is_text_never_markup(self, name: str) -> None:
        doc = document([task("a", 2, name=name), task("b", 1, "a", name=name)])
        doc["project"]["name"] = name
        doc["calendars"][0]["holidays"] = [{"date": "2027-01-05", "name": name}]
        chart, root = draw(doc)
        assert {el.tag.removeprefix(NS) for el in root.iter()} <= DRAWING_TAGS
        assert "<script" not in chart.svg
        assert "<img" not in chart.svg
        clean = name.translate({c: None for c in (0, 8, 0x1F, 0xFFFE)})
        names = [t.text for t in with_class(root, "name", "text")]
        assert names == [clean, clean] if len(clean) <= 28 else all(n for n in names)
        # Attributes carry no handlers, whatever the names said.
        assert not any(k.startswith("on") for el in root.iter() for k in el.attrib)

    @settings(max_examples=60, deadline=None)
    @given(st.text(max_size=80))
    def test_any_name_gives_well_formed_svg(self, name: str) -> None:
        doc = document([task("a", 1, name=name)])
        plan = compiled(document([task("a", 1)]))
        root = parse(render_gantt(doc, plan).svg)
        assert {el.tag.removeprefix(NS) for el in root.iter()} <= DRAWING_TAGS

    def test_the_id_prefix_cannot_break_out(self) -> None:
        chart = render_gantt(LAUNCH, compiled(LAUNCH), id_prefix='x" onload="alert(1)')
        root = parse(chart.svg)
        assert root.get("aria-labelledby") == "xonloadalert1-title xonloadalert1-desc"

    @pytest.mark.parametrize(
        ("document_", "plan"),
        [
            ({}, {}),
            ({"project": {}}, {"project": {"start": "nope"}}),
            (LAUNCH, {"project": {"start": "2027-01-04", "finish": "2027-01-04"}, "tasks": [5]}),
            (LAUNCH, {**compiled(LAUNCH), "tasks": [{"id": "a", "es": "0"}]}),
        ],
    )
    def test_unreadable_input_is_one_clear_error(
        self, document_: dict[str, Any], plan: dict[str, Any]
    ) -> None:
        with pytest.raises(GanttInputInvalid):
            render_gantt(document_, plan)


def chain(n: int, *, duration: int = 2) -> dict[str, Any]:
    """``n`` tasks, each after the one two before it: long, with float and many links."""
    return document(
        [
            task(
                f"t{i}", duration, *([f"t{i - 2}"] if i >= 2 else []), name=f"Task {i} " + "x" * 40
            )
            for i in range(n)
        ]
    )


def chain_of_days(n: int) -> dict[str, Any]:
    return document([task(f"t{i}", 1 + i % 3, *([f"t{i - 1}"] if i else [])) for i in range(n)])


def axis_labels(root: ET.Element) -> tuple[list[str], list[str]]:
    """The axis's top band and bottom band, left to right."""
    (axis,) = with_class(root, "axis", "g")
    texts = [el for el in axis if el.tag == NS + "text" and el.get("font-weight") != "600"]
    top = [el.text or "" for el in texts if el.get("y") == "16"]
    bottom = [el.text or "" for el in texts if el.get("y") != "16"]
    return top, bottom


class TestSize:
    def test_two_hundred_tasks_on_one_readable_page(self) -> None:
        chart, root = draw(chain(200))
        assert (chart.pages, chart.rows, chart.links) == (1, 200, 198)
        assert chart.height == AXIS_H + 200 * ROW_H + FOOT_H
        assert chart.width <= LABEL_W + MAX_TIMELINE_PX + 1
        assert len(chart.svg) < 200_000
        # Readable: rows at least 20 px, bars at least a pixel per day.
        assert ROW_H >= 20
        assert (chart.width - LABEL_W) / 200 >= 1
        names = [t.text or "" for t in with_class(root, "name", "text")]
        assert all(len(n) <= 28 for n in names)
        assert names[0].endswith("…")

    def test_bigger_plans_are_paged(self) -> None:
        doc = chain(450)
        plan = compiled(doc)
        first = render_gantt(doc, plan)
        last = render_gantt(doc, plan, page=3)
        assert (first.pages, first.rows, last.page, last.rows) == (3, 200, 3, 50)
        assert render_gantt(doc, plan, page=99).page == 3
        assert render_gantt(doc, plan, page=-1).page == 1
        # Pages share one time axis, so they line up one under another.
        assert first.width == last.width
        # An arrow is drawn only when both ends are on the page.
        assert (first.links, last.links) == (198, 48)

    def test_a_long_plan_is_squeezed_into_the_width_or_zoomed(self) -> None:
        doc = document([task("a", 2000), task("b", 1500, "a")])
        auto = render_gantt(doc, compiled(doc))
        assert auto.width <= LABEL_W + MAX_TIMELINE_PX + 1
        root = parse(auto.svg)
        assert not with_class(root, "weekend")  # too thin to shade
        day = render_gantt(doc, compiled(doc), zoom=Zoom.DAY)
        assert day.zoom is Zoom.DAY
        assert MAX_TIMELINE_PX < day.width <= LABEL_W + HARD_MAX_TIMELINE_PX + 1
        assert len(day.svg) < 600_000

    def test_a_two_year_plan_is_labelled_by_month_under_its_years(self) -> None:
        doc = chain_of_days(250)  # ~500 workdays from Monday 4 January 2027
        _, root = draw(doc, fit_px=800)
        top, bottom = axis_labels(root)
        assert top[:2] == ["2027", "2028"]
        assert bottom[:3] == ["Jan", "Feb", "Mar"]
        assert bottom[12:14] == ["Jan", "Feb"]

    def test_a_decade_band_labels_only_real_decades(self) -> None:
        doc = document([task("a", 2600)])  # ten years of workdays from 2027
        _, root = draw(doc)
        top, bottom = axis_labels(root)
        assert top == ["2030"]
        assert bottom[:2] == ["2027", "2028"]

    def test_auto_zoom_picks_the_most_detail_that_fits(self) -> None:
        assert render_gantt(LAUNCH, compiled(LAUNCH)).zoom is Zoom.DAY
        doc = document([task("a", 150)])
        assert render_gantt(doc, compiled(doc)).zoom is Zoom.WEEK
        doc = document([task("a", 600)])
        assert render_gantt(doc, compiled(doc)).zoom is Zoom.MONTH
        # Fitted to a narrower box, the same short plan is drawn by the week.
        fitted = render_gantt(LAUNCH, compiled(LAUNCH), fit_px=300)
        assert fitted.zoom is Zoom.WEEK
        assert fitted.width <= LABEL_W + 301
