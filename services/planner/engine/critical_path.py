"""The critical path of a scheduled network: the driving links that end the project.

``early`` holds the forward pass's slot values (finish slots filled in for
every task) and ``early_at`` the POINT nodes' instants, as ``schedule.py``
leaves them.
"""

from __future__ import annotations

from itertools import compress

from .calendar import WorkCalendar
from .network import ELAPSED_LEAF, PLAIN, POINT, Network

__all__ = ["critical_path"]


def critical_path(
    net: Network,
    cal: WorkCalendar,
    *,
    es: list[int],
    ef: list[int],
    total_float: list[int],
    finish: int,
    early: list[int],
    early_at: dict[int, int],
) -> list[int]:
    """The chain of driving links that ends the project, walked back to its start.

    It starts at the leaf task that finishes the project with the least total
    float (the latest-starting one, so a closing milestone is included), and
    at each step moves to the driving predecessor (the one whose link fixed
    the task's early start) with the least float. Ties go to the
    smallest id, so the path does not depend on the order tasks were listed in.
    """
    n = net.size
    nodes = net.nodes
    ids = net.ids
    kind = net.kind
    tf = total_float
    ends = [i for i in compress(range(n), map(finish.__eq__, ef)) if kind[i] <= POINT]
    if not ends:
        return []
    current = min(ends, key=lambda i: (tf[i], -es[i], ids[i]))
    path = [current]
    ordinal = cal.ordinal
    count_before = cal.count_before
    index = net.index
    rollup = net.rollup
    duration = net.duration

    def instant(task: int, starts: bool) -> int:
        """The instant an elapsed-day link leaves a leaf task from."""
        if kind[task] == POINT:
            return early_at[task]
        if starts:
            return ordinal(es[task])
        if kind[task] == ELAPSED_LEAF:
            return ordinal(es[task]) + duration[task]
        return ordinal(ef[task] - 1) + 1

    while True:
        start = es[current]
        d = duration[current]
        best: int | None = None
        holder = current
        while holder >= 0:
            for link in net.tasks[holder].predecessors:
                src = index[link.task]
                starts = link.type[0] == "S"
                binds_finish = link.type[1] == "F"
                drivers: list[int] = []
                if link.lag_unit == "wd":
                    node = rollup[src]
                    required = (early[node] if starts else early[nodes + node]) + link.lag
                    if binds_finish:
                        if kind[current] == ELAPSED_LEAF:
                            required = count_before(ordinal(required - 1) - d + 1)
                        else:
                            required -= d
                    if required == start:
                        drivers.append(_driving_leaf(net, src, starts, early, tf))
                else:
                    # From a summary, an elapsed-day link leaves from its latest leaf.
                    for leaf in net.leaves.get(src, (src,)):
                        x = instant(leaf, starts) + link.lag
                        if binds_finish and kind[current] == ELAPSED_LEAF:
                            x -= d
                        required = count_before(x)
                        if binds_finish and kind[current] == PLAIN:
                            required -= d
                        if required == start:
                            drivers.append(leaf)
                for leaf in drivers:
                    if best is None or (tf[leaf], ids[leaf]) < (tf[best], ids[best]):
                        best = leaf
            holder = net.parent[holder]
        if best is None:
            break
        path.append(best)
        current = best
    path.reverse()
    return path


def _driving_leaf(
    net: Network,
    task: int,
    starts: bool,
    early: list[int],
    tf: list[int],
) -> int:
    """Descend from a summary to the leaf whose start (or finish) it reports."""
    ids = net.ids
    shift = 0 if starts else net.nodes
    while task in net.children:
        target = early[net.rollup[task] + shift]
        candidates = [c for c in net.children[task] if early[net.rollup[c] + shift] == target]
        task = min(candidates, key=lambda c: (tf[c], ids[c]))
    return task
