"""Seeded random plan documents for the benchmark and the tests.

Shaped like real plans rather than random graphs: tasks mostly depend on
recent tasks (a sliding window), so the critical path is long, as in a
project that runs for years, not a few dozen tasks deep.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

LINK_TYPES = ("FS", "FS", "FS", "FS", "SS", "FF", "SF")


def holidays(first_year: int, years: int) -> list[dict[str, str]]:
    days = []
    for year in range(first_year, first_year + years):
        for month, day, name in ((1, 1, "New Year"), (5, 1, "Labour Day"), (12, 25, "Christmas")):
            days.append({"date": dt.date(year, month, day).isoformat(), "name": name})
    return days


def random_plan(
    tasks: int,
    *,
    seed: int = 1,
    links_per_task: float = 2.0,
    window: int = 50,
    elapsed_share: float = 0.05,
    negative_lag_share: float = 0.1,
) -> dict[str, Any]:
    rng = random.Random(seed)
    plan_tasks: list[dict[str, Any]] = []
    for i in range(tasks):
        preds = []
        if i:
            count = min(i, _poisson_ish(rng, links_per_task))
            for j in sorted(rng.sample(range(max(0, i - window), i), min(count, min(i, window)))):
                link: dict[str, Any] = {"task": f"t{j}", "type": rng.choice(LINK_TYPES)}
                roll = rng.random()
                if roll < negative_lag_share:
                    link["lag"] = -rng.randint(1, 3)
                elif roll < 0.4:
                    link["lag"] = rng.randint(1, 5)
                if rng.random() < elapsed_share:
                    link["lagUnit"] = "ed"
                preds.append(link)
        task: dict[str, Any] = {
            "id": f"t{i}",
            "name": f"Task {i}",
            "duration": 0 if rng.random() < 0.05 else rng.randint(1, 10),
            "predecessors": preds,
        }
        if task["duration"] == 0:
            task["milestone"] = True
        elif rng.random() < elapsed_share:
            task["durationUnit"] = "ed"
        plan_tasks.append(task)
    return {
        "schemaVersion": "1.0",
        "project": {
            "id": f"bench{tasks}",
            "name": f"Benchmark plan, {tasks} tasks",
            "start": "2027-01-04",
            "timeZone": "Europe/Istanbul",
            "calendar": "standard",
        },
        "calendars": [
            {
                "id": "standard",
                "workweek": ["mon", "tue", "wed", "thu", "fri"],
                "holidays": holidays(2027, 60),
            }
        ],
        "tasks": plan_tasks,
    }


def _poisson_ish(rng: random.Random, mean: float) -> int:
    # Knuth's method; good enough for a small mean and cheap.
    limit = pow(2.718281828459045, -mean)
    k, p = 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
