"""The Gantt chart of a compiled plan, drawn on the server as SVG.

``render_gantt(document, plan, ...)`` takes the plan document a person wrote
(names, parents, links, the project calendar and deadline) and the ``plan``
object the planner compiled from it (DESIGN §8: dates, floats, critical flags)
and returns one SVG: a bar per task on a calendar axis, the critical path in
red, total float as a thin tail after a bar (and a late task's overrun before
its late finish), milestones as diamonds, summaries as brackets, dependency
arrows, weekends and holidays shaded, and lines for today, the project finish
and the deadline.

Why server-side and why this way:

* No JavaScript library, nothing from a CDN; the chart prints and screenshots
  as it looks, and works with a Content-Security-Policy that forbids inline
  styles and scripts: colours are SVG presentation attributes (which CSP does
  not govern, and a stylesheet can still override through the classes).
* The SVG is built as an ElementTree, never by pasting strings, so every task
  name, holiday name and id (hostile input: the document came from a user) is
  escaped by the serializer. Characters XML cannot carry at all are dropped.
* Size is bounded whatever the plan: at most ``page_size`` rows per chart
  (callers page through bigger plans), a timeline no wider than
  ``MAX_TIMELINE_PX`` unless a zoom is asked for, and then never wider than
  ``HARD_MAX_TIMELINE_PX``; weekend shading is left out once a day is thinner
  than two pixels, where it would be noise and thousands of elements.

The inputs are the JSON the planner's API speaks (dicts), as the web face
receives them over HTTP; anything unreadable raises ``GanttInputInvalid`` so
the page can still show the task table.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "GANTT_TEXT",
    "GanttChart",
    "GanttInputInvalid",
    "GanttText",
    "Zoom",
    "render_gantt",
]


class Zoom(enum.StrEnum):
    """How much of the calendar one pixel covers; ``auto`` picks the most detailed that fits."""

    AUTO = "auto"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


DEFAULT_PAGE_SIZE: Final = 200
MAX_TIMELINE_PX: Final = 2400
HARD_MAX_TIMELINE_PX: Final = 12_000
_PX_PER_DAY: Final = {Zoom.DAY: 24.0, Zoom.WEEK: 8.0, Zoom.MONTH: 2.5}

LABEL_W: Final = 200
ROW_H: Final = 22
BAR_H: Final = 12
AXIS_H: Final = 44
FOOT_H: Final = 34  # room for the finish, deadline and today labels
_NAME_CHARS: Final = 28
_INDENT_PX: Final = 12
_MAX_INDENT: Final = 6
_DIAMOND: Final = 6.0  # half the diagonal
_ARROW_STUB: Final = 8.0
_MIN_SHADED_DAY_PX: Final = 2.0

_COLOURS: Final = {
    "bar": "#3b6fb6",
    "critical": "#c4122f",
    "float": "#9fb8dc",
    "overrun": "#c4122f",
    "summary": "#2b2b2b",
    "milestone": "#2b2b2b",
    "link": "#6b7280",
    "weekend": "#eef0f3",
    "holiday": "#fde7b0",
    "grid": "#d8dce2",
    "today": "#1a7f37",
    "finish": "#2b2b2b",
    "deadline": "#c4122f",
    "text": "#1f2328",
    "muted": "#57606a",
}

# XML 1.0 cannot carry these at all, escaped or not; a name containing one
# would make the whole SVG unreadable, so they are dropped.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class GanttInputInvalid(ValueError):
    """The document or compiled plan is not something the chart can be drawn from."""


@dataclass(frozen=True, slots=True)
class GanttText:
    """The chart's words in one language. Templates use ``str.format`` named fields;
    user text is only ever passed as an argument, never used as a template."""

    chart_title: str
    summary: str
    task_column: str
    today: str
    finish: str
    deadline: str
    bar: str
    milestone: str
    critical: str
    float_days: str
    late_days: str
    holiday: str
    months: tuple[str, ...]

    def date(self, day: dt.date) -> str:
        return f"{day.day} {self.months[day.month - 1]} {day.year}"


GANTT_TEXT: Final[Mapping[str, GanttText]] = {
    "en": GanttText(
        chart_title="Schedule of {project}",
        summary="{tasks} tasks, {critical} on the critical path; finishes {finish}.",
        task_column="Task",
        today="Today",
        finish="Finish",
        deadline="Deadline",
        bar="{name}: {start} – {finish}",
        milestone="{name} (milestone): {date}",
        critical="critical path",
        float_days="total float {days} workday(s)",
        late_days="late by {days} workday(s)",
        holiday="Holiday",
        months=(
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        ),
    ),
    "tr": GanttText(
        chart_title="{project} takvimi",
        summary="{tasks} görev, {critical} tanesi kritik yolda; bitiş {finish}.",
        task_column="Görev",
        today="Bugün",
        finish="Bitiş",
        deadline="Son tarih",
        bar="{name}: {start} – {finish}",
        milestone="{name} (kilometre taşı): {date}",
        critical="kritik yol",
        float_days="toplam bolluk {days} iş günü",
        late_days="{days} iş günü gecikmeli",
        holiday="Tatil",
        months=(
            "Oca",
            "Şub",
            "Mar",
            "Nis",
            "May",
            "Haz",
            "Tem",
            "Ağu",
            "Eyl",
            "Eki",
            "Kas",
            "Ara",
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class GanttChart:
    """One rendered page of the chart."""

    svg: str
    page: int  # 1-based, after clamping to the pages there are
    pages: int
    zoom: Zoom  # the zoom used (never ``auto``)
    width: int
    height: int
    rows: int  # tasks drawn on this page
    links: int  # dependency arrows drawn on this page


# -- reading the inputs ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    id: str
    name: str
    kind: str  # task | milestone | summary
    depth: int
    start: dt.date
    finish: dt.date
    late_finish: dt.date
    at_start: bool  # a zero-length task at workday 0 marks the start of its day, not the end
    total_float: int
    critical: bool
    links: tuple[tuple[str, str], ...]  # (predecessor id, FS|SS|FF|SF)


@dataclass(frozen=True, slots=True)
class _Project:
    name: str
    start: dt.date
    finish: dt.date
    finish_at_start: bool
    deadline: dt.date | None
    weekdays: frozenset[int]
    holidays: Mapping[dt.date, str]
    exceptions: frozenset[dt.date]


_WEEKDAYS: Final = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_LINK_TYPES: Final = frozenset({"FS", "SS", "FF", "SF"})


def _date(value: Any, what: str) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise GanttInputInvalid(f"{what} is not a date")


def _int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise GanttInputInvalid(f"{what} is not an integer")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise GanttInputInvalid(f"{what} is not an object")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return _NOT_XML.sub("", value) if isinstance(value, str) else ""


def _read_project(document: Mapping[str, Any], plan: Mapping[str, Any]) -> _Project:
    project_in = _mapping(document.get("project"), "document.project")
    project_out = _mapping(plan.get("project"), "plan.project")
    calendar: Mapping[str, Any] = {}
    for item in _list(document.get("calendars")):
        if isinstance(item, Mapping) and item.get("id") == project_in.get("calendar"):
            calendar = item
            break
    weekdays = frozenset(
        _WEEKDAYS[d]
        for d in _list(calendar.get("workweek"))
        if isinstance(d, str) and d in _WEEKDAYS
    ) or frozenset(range(5))
    holidays: dict[dt.date, str] = {}
    for item in _list(calendar.get("holidays")):
        if isinstance(item, Mapping):
            holidays[_date(item.get("date"), "holiday.date")] = _text(item.get("name"))
    exceptions = frozenset(
        _date(d, "workingExceptions[]") for d in _list(calendar.get("workingExceptions"))
    )
    deadline = project_in.get("deadline")
    return _Project(
        name=_text(project_in.get("name")),
        start=_date(project_out.get("start"), "plan.project.start"),
        finish=_date(project_out.get("finish"), "plan.project.finish"),
        finish_at_start=project_out.get("durationWorkdays") == 0,
        deadline=None if deadline is None else _date(deadline, "project.deadline"),
        weekdays=weekdays,
        holidays=holidays,
        exceptions=exceptions,
    )


def _read_rows(document: Mapping[str, Any], plan: Mapping[str, Any]) -> list[_Row]:
    written: dict[str, Mapping[str, Any]] = {}
    for item in _list(document.get("tasks")):
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            written.setdefault(item["id"], item)
    parents = {t.get("parent") for t in written.values() if isinstance(t.get("parent"), str)}
    rows = []
    for i, raw in enumerate(_list(plan.get("tasks"))):
        out = _mapping(raw, f"plan.tasks[{i}]")
        task_id = out.get("id")
        if not isinstance(task_id, str):
            raise GanttInputInvalid(f"plan.tasks[{i}].id is not a string")
        source = written.get(task_id, {})
        es, ef = _int(out.get("es"), "es"), _int(out.get("ef"), "ef")
        if task_id in parents:
            kind = "summary"
        elif source.get("milestone") is True or es == ef:
            kind = "milestone"
        else:
            kind = "task"
        links = tuple(
            (link["task"], link.get("type", "FS") if link.get("type") in _LINK_TYPES else "FS")
            for link in _list(source.get("predecessors"))
            if isinstance(link, Mapping) and isinstance(link.get("task"), str)
        )
        rows.append(
            _Row(
                id=_text(task_id),
                name=_text(source.get("name")) or _text(task_id),
                kind=kind,
                depth=_depth(task_id, written),
                start=_date(out.get("earlyStart"), "earlyStart"),
                finish=_date(out.get("earlyFinish"), "earlyFinish"),
                late_finish=_date(out.get("lateFinish"), "lateFinish"),
                at_start=es == ef == 0,
                total_float=_int(out.get("totalFloat"), "totalFloat"),
                critical=out.get("critical") is True,
                links=links,
            )
        )
    return rows


def _depth(task_id: str, written: Mapping[str, Mapping[str, Any]]) -> int:
    depth, seen, current = 0, {task_id}, written.get(task_id, {}).get("parent")
    while isinstance(current, str) and current not in seen and depth < _MAX_INDENT:
        seen.add(current)
        depth += 1
        current = written.get(current, {}).get("parent")
    return depth


# -- the time axis -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Axis:
    first: dt.date  # the first day drawn
    days: int
    px_per_day: float

    def x(self, day: dt.date) -> float:
        """Left edge of ``day`` on the timeline."""
        return LABEL_W + (day - self.first).days * self.px_per_day

    def end(self, day: dt.date) -> float:
        """Right edge of ``day``: where something finishing that day ends."""
        return self.x(day) + self.px_per_day

    @property
    def width(self) -> float:
        return self.days * self.px_per_day

    @property
    def last(self) -> dt.date:
        return self.first + dt.timedelta(days=self.days - 1)


def _axis(project: _Project, rows: Sequence[_Row], zoom: Zoom, fit_px: float) -> tuple[_Axis, Zoom]:
    lo = min([project.start, *(r.start for r in rows), *(r.late_finish for r in rows)])
    hi = max(
        [
            project.finish,
            *(r.finish for r in rows),
            *(r.late_finish for r in rows),
            *([project.deadline] if project.deadline else []),
        ]
    )
    # A little room either side, and the first day on a Monday so weeks read cleanly.
    lo = _shift(lo, -1)
    lo = _shift(lo, -lo.weekday())
    hi = _shift(hi, 3)
    days = (hi - lo).days + 1
    if zoom is Zoom.AUTO:
        # As much detail as fits the width, never more than a day's full width.
        px_per_day = min(_PX_PER_DAY[Zoom.DAY], fit_px / days)
        named = Zoom.DAY if px_per_day >= 16 else Zoom.WEEK if px_per_day >= 4 else Zoom.MONTH
        return _Axis(lo, days, px_per_day), named
    return _Axis(lo, days, min(_PX_PER_DAY[zoom], HARD_MAX_TIMELINE_PX / days)), zoom


def _shift(day: dt.date, days: int) -> dt.date:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min if days < 0 else dt.date.max


def _ticks(axis: _Axis, unit: str) -> Iterator[dt.date]:
    """The first day of each ``unit`` (day, week, month, year, decade) on the axis."""
    day = axis.first
    if unit == "day":
        for i in range(axis.days):
            yield day + dt.timedelta(days=i)
        return
    if unit == "week":
        day += dt.timedelta(days=(7 - day.weekday()) % 7)
        while day <= axis.last:
            yield day
            day += dt.timedelta(days=7)
        return
    year, month = day.year, day.month
    step = {"month": 1, "year": 12, "decade": 120}[unit]
    if unit != "month":
        year, month = year + (month > 1), 1
    if unit == "decade":
        year = year + (-year) % 10
    while True:
        try:
            tick = dt.date(year, month, 1)
        except ValueError:
            return
        if tick > axis.last:
            return
        if tick >= axis.first:
            yield tick
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _units(px_per_day: float) -> tuple[str, str | None]:
    """The bottom band's tick unit and the top band's, so labels never collide."""
    if px_per_day >= 16:
        return "day", "month"
    if px_per_day >= 4:
        return "week", "month"
    if px_per_day >= 1.0:  # a month is 28 px or more: room for "Feb"
        return "month", "year"
    if px_per_day >= 0.1:
        return "year", "decade"
    return "decade", None


# -- drawing ---------------------------------------------------------------------


def _n(value: float) -> str:
    """Coordinates with at most one decimal: shorter SVG, no visible difference."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    )
    if text is not None:
        element.text = text
    return element


def _short(name: str) -> str:
    return name if len(name) <= _NAME_CHARS else name[: _NAME_CHARS - 1] + "…"


def render_gantt(
    document: Mapping[str, Any],
    plan: Mapping[str, Any],
    *,
    text: GanttText | None = None,
    today: dt.date | None = None,
    zoom: Zoom = Zoom.AUTO,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    id_prefix: str = "gantt",
    fit_px: float = MAX_TIMELINE_PX,
) -> GanttChart:
    """Draw page ``page`` of the chart of ``plan`` (compiled from ``document``).

    ``today`` is the caller's today in the project's time zone (no line when
    ``None`` or off the axis). ``id_prefix`` keeps element ids unique when a
    page holds more than one chart. ``Zoom.AUTO`` fits the timeline into
    ``fit_px`` (at most ``MAX_TIMELINE_PX``). The time axis covers the whole
    plan on every page, so pages line up.
    """
    words = text or GANTT_TEXT["en"]
    if not isinstance(document, Mapping) or not isinstance(plan, Mapping):
        raise GanttInputInvalid("document and plan must be objects")
    if page_size < 1:
        raise ValueError("page_size must be positive")
    project = _read_project(document, plan)
    rows = _read_rows(document, plan)
    axis, used_zoom = _axis(project, rows, zoom, min(fit_px, MAX_TIMELINE_PX))
    pages = max(1, math.ceil(len(rows) / page_size))
    page = min(max(1, page), pages)
    shown = rows[(page - 1) * page_size : page * page_size]
    prefix = re.sub(r"[^A-Za-z0-9_-]", "", id_prefix) or "gantt"

    width = math.ceil(LABEL_W + axis.width + 1)
    height = AXIS_H + ROW_H * max(1, len(shown)) + FOOT_H
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": f"gantt zoom-{used_zoom}",
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "role": "img",
            "aria-labelledby": f"{prefix}-title {prefix}-desc",
            "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "font-size": "12",
            "data-page": str(page),
            "data-pages": str(pages),
        },
    )
    _el(svg, "title", words.chart_title.format(project=project.name), id=f"{prefix}-title")
    _el(
        svg,
        "desc",
        words.summary.format(
            tasks=len(rows),
            critical=sum(r.critical for r in rows),
            finish=words.date(project.finish),
        ),
        id=f"{prefix}-desc",
    )
    _defs(svg, prefix)
    body_top, body_bottom = AXIS_H, AXIS_H + ROW_H * max(1, len(shown))
    _non_working(svg, axis, project, words, body_top, body_bottom)
    _axis_bands(svg, axis, words, body_bottom)
    _rows(svg, axis, shown, words)
    links = _links(svg, axis, shown, prefix)
    _markers(svg, axis, project, words, today, body_bottom)
    return GanttChart(
        svg=ET.tostring(svg, encoding="unicode"),
        page=page,
        pages=pages,
        zoom=used_zoom,
        width=width,
        height=height,
        rows=len(shown),
        links=links,
    )


def _defs(svg: ET.Element, prefix: str) -> None:
    defs = _el(svg, "defs")
    for name, colour in (("arrow", _COLOURS["link"]), ("arrow-critical", _COLOURS["critical"])):
        marker = _el(
            defs,
            "marker",
            id=f"{prefix}-{name}",
            viewBox="0 0 8 8",
            refX="8",
            refY="4",
            markerWidth="6",
            markerHeight="6",
            orient="auto",
        )
        _el(marker, "path", d="M0,0 L8,4 L0,8 z", fill=colour)


def _non_working(
    svg: ET.Element,
    axis: _Axis,
    project: _Project,
    words: GanttText,
    top: float,
    bottom: float,
) -> None:
    """Shade runs of non-working days; a holiday carries its name as a tooltip."""
    group = _el(svg, "g", class_="non-working")
    weekends = axis.px_per_day >= _MIN_SHADED_DAY_PX
    holidays = sorted(d for d in project.holidays if axis.first <= d <= axis.last)
    if weekends:
        run_start: dt.date | None = None
        for i in range(axis.days + 1):
            day = axis.first + dt.timedelta(days=i)
            off = (
                i < axis.days
                and day.weekday() not in project.weekdays
                and day not in project.exceptions
                and day not in project.holidays
            )
            if off and run_start is None:
                run_start = day
            elif not off and run_start is not None:
                _shade(group, axis, run_start, day, "weekend", top, bottom)
                run_start = None
    for day in holidays:
        if day in project.exceptions:
            continue
        rect = _shade(group, axis, day, day + dt.timedelta(days=1), "holiday", top, bottom)
        name = project.holidays[day]
        label = f"{words.holiday}: {words.date(day)}" + (f" — {name}" if name else "")
        _el(rect, "title", label)


def _shade(
    group: ET.Element,
    axis: _Axis,
    first: dt.date,
    after: dt.date,
    kind: str,
    top: float,
    bottom: float,
) -> ET.Element:
    return _el(
        group,
        "rect",
        class_=kind,
        x=_n(axis.x(first)),
        y=_n(top),
        width=_n(max(1.0, (after - first).days * axis.px_per_day)),
        height=_n(bottom - top),
        fill=_COLOURS[kind],
    )


def _axis_bands(svg: ET.Element, axis: _Axis, words: GanttText, bottom: float) -> None:
    group = _el(svg, "g", class_="axis", fill=_COLOURS["muted"])
    _el(
        group,
        "text",
        words.task_column,
        x="8",
        y=_n(AXIS_H - 10),
        font_weight="600",
        fill=_COLOURS["text"],
    )
    _el(
        group,
        "line",
        x1="0",
        x2=_n(LABEL_W + axis.width),
        y1=_n(AXIS_H - 0.5),
        y2=_n(AXIS_H - 0.5),
        stroke=_COLOURS["grid"],
    )
    lower, upper = _units(axis.px_per_day)
    for day in _ticks(axis, lower):
        x = axis.x(day)
        _el(
            group,
            "line",
            class_="grid",
            x1=_n(x),
            x2=_n(x),
            y1="24",
            y2=_n(bottom),
            stroke=_COLOURS["grid"],
        )
        _el(group, "text", _tick_label(day, lower, words), x=_n(x + 3), y=_n(AXIS_H - 8))
    if upper is not None:
        starts = list(_ticks(axis, upper))
        # The axis rarely starts on a month or year: label its start too, unless
        # the first tick is so close that the two labels would overlap. Not a decade's:
        # "2020" over an axis starting in 2027 would read as the chart's first year.
        if upper != "decade" and (not starts or axis.x(starts[0]) - axis.x(axis.first) > 70):
            starts.insert(0, axis.first)
        for day in starts:
            label = _tick_label(day, upper, words, top=True)
            _el(group, "text", label, x=_n(axis.x(day) + 3), y="16")


def _tick_label(day: dt.date, unit: str, words: GanttText, *, top: bool = False) -> str:
    if unit in ("day", "week"):
        return str(day.day)
    if unit == "month":
        month = words.months[day.month - 1]
        # Under a band of years a month is only its name: "Jan 2027" would not fit a month.
        return f"{month} {day.year}" if top else month
    if unit == "decade":
        return f"{day.year - day.year % 10}"
    return str(day.year)


def _row_y(index: int) -> float:
    return AXIS_H + index * ROW_H


def _rows(svg: ET.Element, axis: _Axis, rows: Sequence[_Row], words: GanttText) -> None:
    for i, row in enumerate(rows):
        top = _row_y(i)
        mid = top + ROW_H / 2
        classes = ["task", row.kind] + (["critical"] if row.critical else [])
        group = _el(svg, "g", class_=" ".join(classes), data_task=row.id)
        _el(group, "title", _row_title(row, words))
        _el(
            group,
            "line",
            x1="0",
            x2=_n(LABEL_W + axis.width),
            y1=_n(top + ROW_H - 0.5),
            y2=_n(top + ROW_H - 0.5),
            stroke=_COLOURS["grid"],
            stroke_width="0.5",
        )
        _el(
            group,
            "text",
            _short(row.name),
            class_="name",
            x=_n(8 + _INDENT_PX * row.depth),
            y=_n(mid + 4),
            fill=_COLOURS["critical"] if row.critical else _COLOURS["text"],
            font_weight="600" if row.kind == "summary" else "400",
        )
        colour = _COLOURS["critical"] if row.critical else _COLOURS["bar"]
        if row.kind == "milestone":
            x = _point(axis, row.start, row.at_start)
            end = x
            _el(
                group,
                "polygon",
                class_="milestone",
                points=" ".join(
                    f"{_n(px)},{_n(py)}"
                    for px, py in (
                        (x, mid - _DIAMOND),
                        (x + _DIAMOND, mid),
                        (x, mid + _DIAMOND),
                        (x - _DIAMOND, mid),
                    )
                ),
                fill=_COLOURS["critical"] if row.critical else _COLOURS["milestone"],
            )
        elif row.kind == "summary":
            x0, end = axis.x(row.start), axis.end(row.finish)
            y = mid - BAR_H / 2
            _el(
                group,
                "path",
                class_="summary bar",
                d=(
                    f"M{_n(x0)},{_n(y)} H{_n(end)} V{_n(y + BAR_H)} L{_n(end - 5)},{_n(y + 6)} "
                    f"H{_n(x0 + 5)} L{_n(x0)},{_n(y + BAR_H)} Z"
                ),
                fill=_COLOURS["critical"] if row.critical else _COLOURS["summary"],
            )
        else:
            x0, end = axis.x(row.start), axis.end(row.finish)
            _el(
                group,
                "rect",
                class_="bar",
                x=_n(x0),
                y=_n(mid - BAR_H / 2),
                width=_n(max(1.0, end - x0)),
                height=_n(BAR_H),
                rx="2",
                fill=colour,
            )
        late_end = axis.end(row.late_finish)
        if row.total_float > 0 and late_end > end:
            _el(
                group,
                "rect",
                class_="float",
                x=_n(end),
                y=_n(mid - 2),
                width=_n(late_end - end),
                height="4",
                fill=_COLOURS["float"],
            )
        elif row.total_float < 0 and late_end < end:
            # Negative float: the stretch by which the task runs past its late finish.
            _el(
                group,
                "rect",
                class_="overrun",
                x=_n(late_end),
                y=_n(mid + BAR_H / 2 + 1),
                width=_n(end - late_end),
                height="3",
                fill=_COLOURS["overrun"],
            )


def _point(axis: _Axis, day: dt.date, at_start: bool) -> float:
    return axis.x(day) if at_start else axis.end(day)


def _row_title(row: _Row, words: GanttText) -> str:
    if row.kind == "milestone":
        title = words.milestone.format(name=row.name, date=words.date(row.start))
    else:
        title = words.bar.format(
            name=row.name, start=words.date(row.start), finish=words.date(row.finish)
        )
    if row.total_float < 0:
        title += "; " + words.late_days.format(days=-row.total_float)
    else:
        title += "; " + words.float_days.format(days=row.total_float)
    if row.critical:
        title += "; " + words.critical
    return title


def _links(svg: ET.Element, axis: _Axis, rows: Sequence[_Row], prefix: str) -> int:
    """Elbow arrows from each predecessor to its successor, both on this page."""
    index = {row.id: i for i, row in enumerate(rows)}
    group = _el(svg, "g", class_="links", fill="none")
    drawn = 0
    for j, row in enumerate(rows):
        for pred_id, kind in row.links:
            i = index.get(pred_id)
            if i is None:
                continue
            pred = rows[i]
            d = _link_path(axis, pred, _row_y(i) + ROW_H / 2, row, _row_y(j) + ROW_H / 2, kind)
            critical = pred.critical and row.critical
            _el(
                group,
                "path",
                class_="link critical" if critical else "link",
                d=d,
                stroke=_COLOURS["critical"] if critical else _COLOURS["link"],
                stroke_width="1.2",
                marker_end=f"url(#{prefix}-arrow-critical)"
                if critical
                else f"url(#{prefix}-arrow)",
                data_from=pred.id,
                data_to=row.id,
            )
            drawn += 1
    return drawn


def _link_path(axis: _Axis, pred: _Row, sy: float, succ: _Row, ty: float, kind: str) -> str:
    """The SVG path of one link, drawn the way MS Project draws them.

    FS drops from the predecessor's finish onto the top (or bottom) of the
    successor's bar; SS runs round the left of both starts, FF round the right
    of both finishes; anything that would cross a bar goes along the row edge.
    """
    from_finish, to_start = kind[0] == "F", kind[1] == "S"
    sx = _anchor(axis, pred, finish=from_finish)
    tx = _anchor(axis, succ, finish=not to_start)
    down = ty > sy
    if kind == "FS":
        if succ.kind == "milestone":
            entry_x, reach = _point(axis, succ.start, succ.at_start), _DIAMOND
        else:
            width = axis.end(succ.finish) - axis.x(succ.start)
            entry_x, reach = tx + min(6.0, width / 2), BAR_H / 2
        entry_y = ty - reach if down else ty + reach
        if entry_x >= sx + 3:
            return f"M{_n(sx)},{_n(sy)} H{_n(entry_x)} V{_n(entry_y)}"
        if tx >= sx - 0.5:
            # Starts where the predecessor ends, but too thin for the elbow (a day is a
            # pixel or two on a long plan's axis): drop straight onto its start, since the
            # detour along the row edge would be bigger than both bars.
            return f"M{_n(sx)},{_n(sy)} H{_n(max(sx, tx))} V{_n(entry_y)}"
    if kind == "SS":
        left = min(sx, tx) - _ARROW_STUB
        return f"M{_n(sx)},{_n(sy)} H{_n(left)} V{_n(ty)} H{_n(tx)}"
    if kind == "FF":
        right = max(sx, tx) + _ARROW_STUB
        return f"M{_n(sx)},{_n(sy)} H{_n(right)} V{_n(ty)} H{_n(tx)}"
    # Along the row edge next to the successor, so the line never crosses a bar.
    out = sx + (_ARROW_STUB if from_finish else -_ARROW_STUB)
    into = tx - _ARROW_STUB if to_start else tx + _ARROW_STUB
    gap = ty - ROW_H / 2 if down else ty + ROW_H / 2
    return f"M{_n(sx)},{_n(sy)} H{_n(out)} V{_n(gap)} H{_n(into)} V{_n(ty)} H{_n(tx)}"


def _anchor(axis: _Axis, row: _Row, *, finish: bool) -> float:
    if row.kind == "milestone":
        x = _point(axis, row.start, row.at_start)
        return x + _DIAMOND if finish else x - _DIAMOND
    return axis.end(row.finish) if finish else axis.x(row.start)


def _markers(
    svg: ET.Element,
    axis: _Axis,
    project: _Project,
    words: GanttText,
    today: dt.date | None,
    bottom: float,
) -> None:
    """Vertical lines for the project finish, the deadline and today."""
    group = _el(svg, "g", class_="markers", font_size="11")
    finish_x = _point(axis, project.finish, project.finish_at_start)
    # (kind, x, label, dash, footer line): labels sit under the rows, the
    # deadline on a second line so it never covers the finish's label.
    lines: list[tuple[str, float, str, str | None, int]] = [
        ("finish", finish_x, words.finish + " " + words.date(project.finish), None, 0),
    ]
    if project.deadline is not None:
        label = words.deadline + " " + words.date(project.deadline)
        lines.append(("deadline", axis.end(project.deadline), label, "4 3", 1))
    if today is not None and axis.first <= today <= axis.last:
        x = axis.x(today) + axis.px_per_day / 2
        lines.append(("today", x, words.today, "2 2", 0 if abs(x - finish_x) > 140 else 1))
    for kind, x, label, dash, footer_line in lines:
        line = _el(
            group,
            "line",
            class_=kind,
            x1=_n(x),
            x2=_n(x),
            y1=_n(AXIS_H),
            y2=_n(bottom + 4 + 13 * footer_line),
            stroke=_COLOURS[kind],
            stroke_width="1.5",
        )
        if dash:
            line.set("stroke-dasharray", dash)
        _el(line, "title", label)
        # Near the right edge the label runs leftwards so it stays inside the chart.
        near_edge = x > LABEL_W + axis.width - 120
        _el(
            group,
            "text",
            label,
            class_=f"{kind}-label",
            x=_n(x - 3 if near_edge else x + 3),
            y=_n(bottom + 14 + 13 * footer_line),
            fill=_COLOURS[kind],
            text_anchor="end" if near_edge else "start",
        )
