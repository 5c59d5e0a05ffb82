"""Resource over-allocation: where assigned units exceed what a resource has.

The schedule is not levelled; this only reports. A resource's load on a
workday is the sum of ``units`` of the assignments whose task (at its early
dates) covers that day. Its capacity is ``capacity``, or 0 on a day of leave
or a day its own calendar does not work. Units are summed as integer
millionths so the comparison is exact and independent of task order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .calendar import WorkCalendar
from .network import MICRO, Network

__all__ = ["MICRO", "Overload", "overloads"]


@dataclass(slots=True, frozen=True)
class Overload:
    start: int  # first workday index
    end: int  # exclusive workday index
    units: int  # micro-units
    capacity: int  # micro-units
    tasks: tuple[int, ...]  # task indices, ascending


def overloads(
    net: Network, cal: WorkCalendar, es: list[int], ef: list[int]
) -> list[list[Overload]]:
    """For each resource (input order), its over-allocated periods in index order."""
    assigned: list[list[tuple[int, int]]] = [[] for _ in net.resources]
    for task, pairs in net.assignments.items():
        for resource, units in pairs:
            if ef[task] > es[task] and units > 0:
                assigned[resource].append((task, units))
    return [
        _resource_overloads(net, cal, r, items, es, ef) if items else []
        for r, items in enumerate(assigned)
    ]


def _resource_overloads(
    net: Network,
    cal: WorkCalendar,
    r: int,
    items: list[tuple[int, int]],
    es: list[int],
    ef: list[int],
) -> list[Overload]:
    resource = net.resources[r]
    capacity = round(resource.capacity * MICRO)
    lo = min(es[t] for t, _ in items)
    hi = max(ef[t] for t, _ in items)

    off_days: set[int] = set()
    for leave in resource.leaves:
        first = max(lo, cal.count_before(leave.start.toordinal()))
        last = min(hi, cal.count_before(leave.end.toordinal() + 1))
        off_days.update(range(first, last))
    if resource.calendar is not None and resource.calendar != net.project.calendar:
        own = net.working_times[resource.calendar]
        off_days.update(k for k in range(lo, hi) if not own.is_workday(cal.ordinal(k)))

    starts: dict[int, list[tuple[int, int]]] = {}
    ends: dict[int, list[tuple[int, int]]] = {}
    for task, units in items:
        starts.setdefault(es[task], []).append((task, units))
        ends.setdefault(ef[task], []).append((task, units))
    points = sorted({*starts, *ends, *off_days, *(k + 1 for k in off_days)})

    active: dict[int, int] = {}
    load = 0
    found: list[Overload] = []
    for p, q in itertools.pairwise(points):
        for task, units in ends.get(p, ()):
            del active[task]
            load -= units
        for task, units in starts.get(p, ()):
            active[task] = units
            load += units
        cap = 0 if p in off_days else capacity
        if load <= cap:
            continue
        tasks = tuple(sorted(active))
        prev = found[-1] if found else None
        if prev and prev.end == p and (prev.units, prev.capacity, prev.tasks) == (load, cap, tasks):
            found[-1] = Overload(prev.start, q, load, cap, tasks)
        else:
            found.append(Overload(p, q, load, cap, tasks))
    return found
