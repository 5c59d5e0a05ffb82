"""What the engine says to people, in English and Turkish.

Codes are for machines; the registry (``services/common/error_codes.py``)
gives each error code one message per language. Scheduling warnings and a
JSON syntax error carry facts (dates, counts, a line and a column), so their
messages are written here, from the same details a client gets, for the
languages the registry has. Dates are ISO dates and ids are quoted as sent:
no Turkish suffix is ever attached to either, so no vowel harmony can go wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

Locale = Literal["en", "tr"]
LOCALES: Final[tuple[Locale, ...]] = ("en", "tr")


def locale_of(value: str | None) -> Locale:
    """``tr`` for Turkish, ``en`` for anything else, as the registry's messages do."""
    return "tr" if value == "tr" else "en"


def _days(n: int, locale: Locale) -> str:
    if locale == "tr":
        return f"{n} iş günü"
    return f"{n} working day" if abs(n) == 1 else f"{n} working days"


def _tasks(n: int, locale: Locale) -> str:
    if locale == "tr":
        return f"{n} görevin"
    return f"{n} task has" if n == 1 else f"{n} tasks have"


def _units(x: float) -> str:
    return f"{x:g}"


def _start_moved(task: str | None, d: dict[str, Any], locale: Locale) -> str:
    if locale == "tr":
        return (
            f"Proje başlangıcı {d['requested']} bir çalışma günü değil; "
            f"takvim {d['start']} tarihinde başlıyor."
        )
    return (
        f"The project start {d['requested']} is not a working day; "
        f"the schedule starts on {d['start']}."
    )


def _deadline_missed(task: str | None, d: dict[str, Any], locale: Locale) -> str:
    late = _days(d["lateByWorkdays"], locale)
    if locale == "tr":
        who = "Proje" if task is None else f"'{task}' görevi"
        return (
            f"{who} {d['finish']} tarihinde bitiyor: "
            f"son tarih olan {d['deadline']} tarihinden {late} sonra."
        )
    who = "The project" if task is None else f"Task '{task}'"
    return f"{who} finishes on {d['finish']}, {late} after its deadline of {d['deadline']}."


def _negative_float(task: str | None, d: dict[str, Any], locale: Locale) -> str:
    least = _days(d["minTotalFloat"], locale)
    if locale == "tr":
        return (
            f"{_tasks(d['taskCount'], locale)} toplam bolluğu negatif (en düşük {least}): "
            "son tarihlerin hepsine yetişilemiyor."
        )
    return (
        f"{_tasks(d['taskCount'], locale)} negative total float (down to {least}): "
        "not every deadline can be met."
    )


def _overallocated(task: str | None, d: dict[str, Any], locale: Locale) -> str:
    units, capacity = _units(d["maxUnits"]), _units(d["capacity"])
    if locale == "tr":
        return (
            f"'{d['resource']}' kaynağı {d['firstStart']} tarihinden başlayarak {d['periods']} "
            f"dönemde kapasitesinin üstünde: {capacity} birim kapasiteye en çok {units} birim iş."
        )
    periods = "1 period" if d["periods"] == 1 else f"{d['periods']} periods"
    return (
        f"Resource '{d['resource']}' is over-allocated in {periods} from {d['firstStart']}: "
        f"up to {units} units against a capacity of {capacity}."
    )


_WARNINGS: Final[dict[str, Callable[[str | None, dict[str, Any], Locale], str]]] = {
    "SCHED_START_MOVED_TO_WORKDAY": _start_moved,
    "SCHED_DEADLINE_MISSED": _deadline_missed,
    "SCHED_NEGATIVE_FLOAT": _negative_float,
    "SCHED_RESOURCE_OVERALLOCATED": _overallocated,
}
WARNING_CODES: Final = tuple(_WARNINGS)


def warning_message(code: str, task: str | None, details: dict[str, Any], locale: Locale) -> str:
    """The sentence for a scheduling warning, from the details it carries."""
    return _WARNINGS[code](task, details, locale)


def invalid_json_message(line: int, column: int, locale: Locale) -> str:
    """``PLAN_INVALID_JSON`` with the place the parser gave up."""
    if locale == "tr":
        return f"Plan geçerli bir JSON değil (satır {line}, sütun {column})."
    return f"The plan is not valid JSON (line {line}, column {column})."
