"""Critical-path scheduling over the task network, in workday-index space.

One forward pass gives early dates, one backward pass over the same
topological order gives late dates and both floats. Everything is an integer
workday index (see ``calendar.py``): a task occupies workdays ``es .. ef - 1``,
so ``ef`` is exclusive and a zero-length task has ``es == ef``. Hot loops use
parallel lists indexed by node, never per-task objects.

Plain tasks (see ``network.py``) carry one value, their start, through both
passes; their finishes, late finishes and floats are then computed a whole
column at a time. Every other node takes the general path, with both slots.

Elapsed-day (``ed``) arithmetic anchors a finish at the end of its last
workday and a start at the beginning of its first, adds the calendar days,
and converts the instant back to a workday index. Each such conversion has an
exact inverse, which the backward pass uses, so late dates stay the latest
dates that keep every link satisfied.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress, repeat
from operator import add, sub

from .calendar import WorkCalendar
from .network import ELAPSED_LEAF, GATE, PLAIN, ROLLUP, Network

_NEG = -(1 << 60)  # "no requirement" below any reachable index
_POS = 1 << 60  # "no cap" above any reachable index


@dataclass(slots=True)
class Schedule:
    """Per-task results (index = input position) and project totals."""

    es: list[int]
    ef: list[int]
    ls: list[int]
    lf: list[int]
    total_float: list[int]
    free_float: list[int]
    finish: int  # exclusive workday index of the project finish
    deadline_bound: dict[int, int]  # task -> exclusive index its deadline allows
    project_deadline_bound: int | None
    critical_path: list[int]


def schedule(net: Network, cal: WorkCalendar) -> Schedule:
    n = net.size
    nodes = net.nodes
    duration = net.duration
    kind = net.kind
    count_before = cal.count_before
    # Tasks that are not plain: elapsed-duration leaves and summaries.
    irregular = list(compress(range(n), kind[:n]))

    early = _forward(net, cal)
    es = early[:n]
    ef = list(map(add, es, duration))
    for u in irregular:
        ef[u] = early[nodes + u] if kind[u] == ELAPSED_LEAF else 0
    finish = max(0, max(ef, default=0))  # summaries are 0 here: only leaves count
    for u in irregular:
        ef[u] = early[nodes + u]
    early[nodes : nodes + n] = ef

    # A summary's span and the free-float targets of links into it: its
    # earliest child start and finish. Roll-up nodes come in children-first order.
    rollups = [u for u in net.order if u >= n] if net.children else []
    summaries = list(net.children)
    first = early.copy()
    for r in rollups:
        s_idx = summaries[r - n]
        lo_start = lo_finish = _POS
        for c in net.children[s_idx]:
            c_node = net.rollup[c]
            if first[c_node] < lo_start:
                lo_start = first[c_node]
            if first[nodes + c_node] < lo_finish:
                lo_finish = first[nodes + c_node]
        first[r] = first[s_idx] = lo_start
        first[nodes + r] = first[nodes + s_idx] = lo_finish

    deadline_bound = {i: count_before(o + 1) for i, o in net.deadline_ordinal.items()}
    project_deadline = net.project.deadline
    project_deadline_bound = (
        None if project_deadline is None else count_before(project_deadline.toordinal() + 1)
    )
    end_cap = finish if project_deadline_bound is None else min(finish, project_deadline_bound)

    late, free_start, floats = _backward(
        net, cal, early, first, finish, end_cap, deadline_bound, summaries
    )

    ls = late[:n]
    lf = list(map(add, ls, duration))
    total = list(map(sub, ls, es))
    # max(0, min(free start slack, total float)), written out: builtin calls cost more.
    free = [
        0 if x <= 0 or t <= 0 else x if x < t else t
        for x, t in zip(map(sub, free_start, es), total, strict=True)
    ]
    for u in irregular:
        lf[u] = late[nodes + u]
    for u, (tf, ff) in floats.items():
        total[u] = tf
        free[u] = ff
    for r in rollups:
        # A summary reports its span, first child start to last child finish,
        # and the least float of its children.
        s_idx = summaries[r - n]
        kids = net.children[s_idx]
        es[s_idx] = first[s_idx]
        ef[s_idx] = early[nodes + r]
        ls[s_idx] = min(ls[c] for c in kids)
        lf[s_idx] = max(lf[c] for c in kids)
        total[s_idx] = min(total[c] for c in kids)
        free[s_idx] = min(free[c] for c in kids)

    result = Schedule(
        es=es,
        ef=ef,
        ls=ls,
        lf=lf,
        total_float=total,
        free_float=free,
        finish=finish,
        deadline_bound=deadline_bound,
        project_deadline_bound=project_deadline_bound,
        critical_path=[],
    )
    result.critical_path = _critical_path(net, cal, result, early)
    return result


def _forward(net: Network, cal: WorkCalendar) -> list[int]:
    """Early values per slot, pushed along links in topological order.

    A slot holds the requirement on its node's start (finish) until the node
    is reached, then its value: nothing is pushed into a node after that. A
    plain task's finish slot is not kept up to date here.
    """
    nodes = net.nodes
    out = net.out
    general = net.general
    kind = net.kind
    duration = net.duration
    elapsed_out = net.elapsed_out
    ordinal = cal.ordinal
    count_before = cal.count_before
    early = [0] * nodes + [_NEG] * nodes
    for u in net.order:
        s = early[u]
        if not general[u]:
            for t, lag in out[u]:
                r = s + lag
                if r > early[t]:
                    early[t] = r
            continue
        f = early[nodes + u]
        k = kind[u]
        if k == PLAIN:
            f = s + duration[u]
        elif k == ELAPSED_LEAF:
            d = duration[u]
            if f > _NEG:
                s = max(s, count_before(ordinal(f - 1) - d + 1))
            f = count_before(ordinal(s) + d)
        # Gates and roll-ups take their requirements as their values.
        early[u] = s
        early[nodes + u] = f
        for t, lag in out[u]:
            r = s + lag
            if r > early[t]:
                early[t] = r
        for t, lag in out[nodes + u]:
            r = f + lag
            if r > early[t]:
                early[t] = r
        for t, from_finish, lag, shift in elapsed_out.get(u, ()):
            if from_finish:  # a finish is anchored at the end of its last workday
                r = count_before(ordinal(f - 1) + 1 + lag) - shift
            else:
                r = count_before(ordinal(s) + lag) - shift
            if r > early[t]:
                early[t] = r
    return early


def _backward(
    net: Network,
    cal: WorkCalendar,
    early: list[int],
    first: list[int],
    finish: int,
    end_cap: int,
    deadline_bound: dict[int, int],
    summaries: list[int],
) -> tuple[list[int], list[int], dict[int, tuple[int, int]]]:
    """Late values per slot, and what free float needs, in reverse topological order.

    Returns the late slots; for each plain task the latest start that delays
    no successor's early dates (``free_start``); and for each other leaf its
    total and free float, ``{task: (total, free)}``.

    Free float is measured against successors' early dates. ``slack_to`` is
    the early value a link into a slot is measured against: a leaf's early
    date, a summary gate's first child, or for a roll-up node the caps it
    passes on to its children (set below, before they are reached).
    """
    n = net.size
    nodes = net.nodes
    out = net.out
    general = net.general
    kind = net.kind
    duration = net.duration
    elapsed_out = net.elapsed_out
    ordinal = cal.ordinal
    count_before = cal.count_before

    # A plain task's late start is capped by the project end, or its deadline.
    cap = list(map(sub, repeat(end_cap, n), duration))
    for i, bound in deadline_bound.items():
        if bound < end_cap:
            cap[i] = bound - duration[i]
    free_start = list(map(sub, repeat(finish, n), duration))
    floats: dict[int, tuple[int, int]] = {}
    late = [0] * (2 * nodes)
    slack_to = first
    # The "least over outgoing links" loop below is written out once per kind of node
    # (plain task, start side, finish side) on purpose: a helper call per link costs
    # more than the whole backward pass at 100k tasks (see bench/compile).
    for u in reversed(net.order):
        if not general[u]:
            s = cap[u]
            fs = free_start[u]
            for t, lag in out[u]:
                x = late[t] - lag
                if x < s:
                    s = x
                x = slack_to[t] - lag
                if x < fs:
                    fs = x
            late[u] = s
            free_start[u] = fs
            continue

        k = kind[u]
        leaf = k <= ELAPSED_LEAF
        if leaf:
            cf = end_cap
            ecf = finish
        else:
            cf = ecf = _POS
        if k != GATE:  # a summary's deadline binds through its roll-up node
            limit = deadline_bound.get(u if u < n else summaries[u - n])
            if limit is not None and limit < cf:
                cf = limit
        cs = ecs = _POS
        for t, lag in out[u]:
            x = late[t] - lag
            if x < cs:
                cs = x
            x = slack_to[t] - lag
            if x < ecs:
                ecs = x
        for t, lag in out[nodes + u]:
            x = late[t] - lag
            if x < cf:
                cf = x
            x = slack_to[t] - lag
            if x < ecf:
                ecf = x
        for t, from_finish, lag, shift in elapsed_out.get(u, ()):
            late_t = late[t] + shift
            slack_t = slack_to[t] + shift
            if from_finish:
                x = count_before(ordinal(late_t) - lag)
                if x < cf:
                    cf = x
                x = count_before(ordinal(slack_t) - lag)
                if x < ecf:
                    ecf = x
            else:
                x = count_before(ordinal(late_t) - lag + 1) - 1
                if x < cs:
                    cs = x
                x = count_before(ordinal(slack_t) - lag + 1) - 1
                if x < ecs:
                    ecs = x
        if not leaf:
            late[u] = cs
            late[nodes + u] = cf
            if k == ROLLUP:
                slack_to[u] = ecs
                slack_to[nodes + u] = ecf
            continue
        d = duration[u]
        if k == PLAIN:
            s = cf - d
            if cs < s:
                s = cs
            f = s + d
        else:
            s = count_before(ordinal(cf) - d + 1) - 1
            if cs < s:
                s = cs
            f = count_before(ordinal(s) + d)
        late[u] = s
        late[nodes + u] = f
        es = early[u]
        ef = early[nodes + u]
        # As MS Project does, the lesser of start and finish slack: they differ
        # only for elapsed durations, which can slide over non-working days.
        tf = min(s - es, f - ef)
        ff = min(ecs - es, ecf - ef, tf)
        floats[u] = (tf, ff if ff > 0 else 0)
    return late, free_start, floats


def _critical_path(net: Network, cal: WorkCalendar, sched: Schedule, early: list[int]) -> list[int]:
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
    tf = sched.total_float
    ends = [
        i for i in compress(range(n), map(sched.finish.__eq__, sched.ef)) if kind[i] <= ELAPSED_LEAF
    ]
    if not ends:
        return []
    current = min(ends, key=lambda i: (tf[i], -sched.es[i], ids[i]))
    path = [current]
    ordinal = cal.ordinal
    count_before = cal.count_before
    index = net.index
    rollup = net.rollup
    while True:
        start = sched.es[current]
        d = net.duration[current]
        best: int | None = None
        holder = current
        while holder >= 0:
            for link in net.tasks[holder].predecessors:
                src = index[link.task]
                node = rollup[src]
                starts = link.type[0] == "S"
                value = early[node] if starts else early[nodes + node]
                if link.lag_unit == "wd":
                    required = value + link.lag
                elif starts:
                    required = count_before(ordinal(value) + link.lag)
                else:
                    required = count_before(ordinal(value - 1) + 1 + link.lag)
                if link.type[1] == "F":  # the link binds the finish
                    if kind[current] == ELAPSED_LEAF:
                        required = count_before(ordinal(required - 1) - d + 1)
                    else:
                        required -= d
                if required != start:
                    continue
                leaf = _driving_leaf(net, src, starts, early, tf)
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
