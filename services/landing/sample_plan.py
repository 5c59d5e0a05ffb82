"""The sample plan a new person starts from: a small product launch, in their language.

It starts on the Monday after today, so the chart shows today's line and a
schedule in the near future, and it has what the chart can draw: a critical
path, float, a milestone, a summary with children, SS and FF links with lags,
an elapsed-day task, Turkish public holidays and a project deadline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# (id, English name, Turkish name, duration, predecessors, extra fields)
_TASKS: tuple[tuple[str, str, str, int | None, list[dict[str, Any]], dict[str, Any]], ...] = (
    ("research", "User research", "Kullanıcı araştırması", 5, [], {}),
    ("design", "Design", "Tasarım", None, [], {}),
    (
        "wireframes",
        "Wireframes",
        "Tel kafes çizimler",
        4,
        [{"task": "research"}],
        {"parent": "design"},
    ),
    (
        "visual",
        "Visual design",
        "Görsel tasarım",
        6,
        [{"task": "wireframes", "type": "SS", "lag": 2}],
        {"parent": "design"},
    ),
    ("backend", "Build the backend", "Sunucu tarafını geliştir", 12, [{"task": "wireframes"}], {}),
    ("frontend", "Build the web app", "Web uygulamasını geliştir", 10, [{"task": "visual"}], {}),
    ("content", "Write help pages", "Yardım sayfalarını yaz", 4, [{"task": "wireframes"}], {}),
    (
        "testing",
        "Testing",
        "Test",
        6,
        [{"task": "backend"}, {"task": "frontend", "type": "FF", "lag": 2}],
        {},
    ),
    (
        "beta",
        "Beta with customers",
        "Müşterilerle beta",
        7,
        [{"task": "testing", "type": "SS", "lag": 3}],
        {"durationUnit": "ed"},
    ),
    (
        "launch",
        "Launch",
        "Yayına alış",
        0,
        [{"task": "beta"}, {"task": "content"}],
        {"milestone": True},
    ),
)

# Fixed-date public holidays in Türkiye (the moving religious holidays are left out).
_HOLIDAYS: tuple[tuple[int, int, str, str], ...] = (
    (1, 1, "New Year's Day", "Yılbaşı"),
    (4, 23, "National Sovereignty and Children's Day", "Ulusal Egemenlik ve Çocuk Bayramı"),
    (5, 1, "Labour Day", "Emek ve Dayanışma Günü"),
    (5, 19, "Youth and Sports Day", "Atatürk'ü Anma, Gençlik ve Spor Bayramı"),
    (7, 15, "Democracy Day", "Demokrasi ve Milli Birlik Günü"),
    (8, 30, "Victory Day", "Zafer Bayramı"),
    (10, 29, "Republic Day", "Cumhuriyet Bayramı"),
)


def next_monday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=7 - today.weekday())


def sample_document(today: dt.date, locale: str) -> dict[str, Any]:
    """The sample plan document, starting on the Monday after ``today``."""
    turkish = locale == "tr"
    start = next_monday(today)
    tasks = []
    for task_id, en, tr, duration, links, extra in _TASKS:
        task: dict[str, Any] = {"id": task_id, "name": tr if turkish else en, **extra}
        if duration is not None:
            task["duration"] = duration
        if links:
            task["predecessors"] = links
        tasks.append(task)
    holidays = [
        {"date": dt.date(year, month, day).isoformat(), "name": tr if turkish else en}
        for year in (start.year, start.year + 1)
        for month, day, en, tr in _HOLIDAYS
    ]
    return {
        "schemaVersion": "1.0",
        "project": {
            "id": "sample-launch",
            "name": "Ürün lansmanı (örnek)" if turkish else "Product launch (sample)",
            "start": start.isoformat(),
            "timeZone": "Europe/Istanbul",
            "calendar": "tr-office",
            "deadline": (start + dt.timedelta(days=45)).isoformat(),
        },
        "calendars": [
            {
                "id": "tr-office",
                "workweek": ["mon", "tue", "wed", "thu", "fri"],
                "holidays": holidays,
                "workingExceptions": [],
            }
        ],
        "resources": [],
        "tasks": tasks,
    }
