"""Critical-path scheduling over the task network, in workday-index space.

One forward pass gives early dates, one backward pass over the same
topological order gives late dates and both floats. Everything is an integer
workday index (see ``calendar.py``): a task occupies workdays ``es .. ef - 1``,
so ``ef`` is exclusive and a zero-length task has ``es == ef``. Hot loops use
parallel lists indexed by node, never per-task objects.

Elapsed-day (``ed``) arithmetic anchors a finish at the end of its last
workday and a start at the beginning of its first, adds the calendar days,
and converts the instant back to a workday index. Each such conversion has an
exact inverse, which the backward pass uses, so late dates stay the latest
dates that keep every link satisfied.
"""

from __future__ import annotations

from dataclasses import dataclass

from .calendar import WorkCalendar
from .network import Network, from_start, to_finish

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
    deadline_bound: list[int | None]  # exclusive index each task's deadline allows
    project_deadline_bound: int | None
    critical_path: list[int]


def schedule(net: Network, cal: WorkCalendar) -> Schedule:
    n = net.size
    nodes = net.nodes
    order = net.order
    duration = net.duration
    elapsed = net.elapsed
    rollup = net.rollup
    finish_links = net.from_finish
    start_links = net.from_start
    elapsed_links = net.elapsed_links
    ordinal = cal.ordinal
    count_before = cal.count_before
    is_leaf = [rollup[i] == i for i in range(n)]
    is_leaf.extend([False] * (nodes - n))

    # ---- forward pass: early dates --------------------------------------
    # Slot v holds a node's start, slot nodes + v its finish. ``req`` is what
    # the node must respect so far; for a summary's gate and roll-up nodes the
    # requirement is the node's value.
    req = [0] * nodes + [_NEG] * nodes
    early = [0] * (2 * nodes)
    for u in order:
        s = req[u]
        f = req[nodes + u]
        if u < n and is_leaf[u]:
            d = duration[u]
            if not elapsed[u] or d == 0:
                if f - d > s:
                    s = f - d
                f = s + d
            else:
                if f > _NEG:
                    s = max(s, count_before(ordinal(f - 1) - d + 1))
                f = count_before(ordinal(s) + d)
        early[u] = s
        early[nodes + u] = f
        links = finish_links[u]
        if links:
            for t, lag in links:
                r = f + lag
                if r > req[t]:
                    req[t] = r
        links = start_links[u]
        if links:
            for t, lag in links:
                r = s + lag
                if r > req[t]:
                    req[t] = r
        if not elapsed_links[u]:
            continue
        for v, kind, lag in elapsed_links[u]:
            if from_start(kind):
                r = count_before(ordinal(s) + lag)
            else:  # a finish is anchored at the end of its last workday
                r = count_before(ordinal(f - 1) + 1 + lag)
            t = nodes + v if to_finish(kind) else v
            if r > req[t]:
                req[t] = r

    finish = 0
    for i in range(n):
        if is_leaf[i] and early[nodes + i] > finish:
            finish = early[nodes + i]

    # A summary's span and the free-float targets of links into it: its
    # earliest child start and finish. Roll-up nodes come in children-first order.
    rollups = [u for u in order if u >= n]
    summaries = list(net.children)
    first = early.copy()
    for r in rollups:
        s_idx = summaries[r - n]
        lo_start = lo_finish = _POS
        for c in net.children[s_idx]:
            c_node = rollup[c]
            if first[c_node] < lo_start:
                lo_start = first[c_node]
            if first[nodes + c_node] < lo_finish:
                lo_finish = first[nodes + c_node]
        first[r] = first[s_idx] = lo_start
        first[nodes + r] = first[nodes + s_idx] = lo_finish

    # ---- backward pass: late dates and floats ------------------------------
    deadline_bound: list[int | None] = [
        None if o is None else count_before(o + 1) for o in net.deadline_ordinal
    ]
    project_deadline = net.project.deadline
    project_deadline_bound = (
        None if project_deadline is None else count_before(project_deadline.toordinal() + 1)
    )
    end_cap = finish if project_deadline_bound is None else min(finish, project_deadline_bound)

    late = [0] * (2 * nodes)
    # Free float is measured against successors' early dates. ``slack_to`` is
    # the early value a link into a slot is measured against: a leaf's early
    # date, a summary gate's first child, or for a roll-up node the caps it
    # passes on to its children (set below, before they are reached).
    slack_to = first
    total = [0] * n
    free = [0] * n
    for u in reversed(order):
        leaf = u < n and is_leaf[u]
        if leaf:
            cf = end_cap
            ecf = finish
        else:
            cf = ecf = _POS
        bound = deadline_bound[u] if u < n else deadline_bound[summaries[u - n]]
        if bound is not None and bound < cf and (leaf or u >= n):
            cf = bound
        cs = ecs = _POS
        links = finish_links[u]
        if links:
            for t, lag in links:
                x = late[t] - lag
                if x < cf:
                    cf = x
                x = slack_to[t] - lag
                if x < ecf:
                    ecf = x
        links = start_links[u]
        if links:
            for t, lag in links:
                x = late[t] - lag
                if x < cs:
                    cs = x
                x = slack_to[t] - lag
                if x < ecs:
                    ecs = x
        for v, kind, lag in elapsed_links[u] or ():
            t = nodes + v if to_finish(kind) else v
            if from_start(kind):
                x = count_before(ordinal(late[t]) - lag + 1) - 1
                if x < cs:
                    cs = x
                x = count_before(ordinal(slack_to[t]) - lag + 1) - 1
                if x < ecs:
                    ecs = x
            else:
                x = count_before(ordinal(late[t]) - lag)
                if x < cf:
                    cf = x
                x = count_before(ordinal(slack_to[t]) - lag)
                if x < ecf:
                    ecf = x
        if not leaf:
            late[u] = cs
            late[nodes + u] = cf
            if u >= n:
                slack_to[u] = ecs
                slack_to[nodes + u] = ecf
            continue
        d = duration[u]
        if not elapsed[u] or d == 0:
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
        # As MS Project does, the lesser of start and finish slack: they differ
        # only for elapsed durations, which can slide over non-working days.
        tf = s - es
        x = f - early[nodes + u]
        if x < tf:
            tf = x
        total[u] = tf
        ff = ecs - es
        x = ecf - early[nodes + u]
        if x < ff:
            ff = x
        if tf < ff:
            ff = tf
        free[u] = ff if ff > 0 else 0

    es_out = early[:n]
    ef_out = early[nodes : nodes + n]
    ls_out = late[:n]
    lf_out = late[nodes : nodes + n]
    for r in rollups:
        # A summary reports its span, first child start to last child finish,
        # and the least float of its children.
        s_idx = summaries[r - n]
        kids = net.children[s_idx]
        es_out[s_idx] = first[s_idx]
        ef_out[s_idx] = early[nodes + r]
        ls_out[s_idx] = min(ls_out[c] for c in kids)
        lf_out[s_idx] = max(lf_out[c] for c in kids)
        total[s_idx] = min(total[c] for c in kids)
        free[s_idx] = min(free[c] for c in kids)

    result = Schedule(
        es=es_out,
        ef=ef_out,
        ls=ls_out,
        lf=lf_out,
        total_float=total,
        free_float=free,
        finish=finish,
        deadline_bound=deadline_bound,
        project_deadline_bound=project_deadline_bound,
        critical_path=[],
    )
    result.critical_path = _critical_path(net, cal, result, early, is_leaf)
    return result


def _critical_path(
    net: Network,
    cal: WorkCalendar,
    sched: Schedule,
    early: list[int],
    is_leaf: list[bool],
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
    tf = sched.total_float
    ends = [i for i in range(n) if is_leaf[i] and sched.ef[i] == sched.finish]
    if not ends:
        return []
    current = min(ends, key=lambda i: (tf[i], -sched.es[i], ids[i]))
    path = [current]
    ordinal = cal.ordinal
    count_before = cal.count_before
    while True:
        start = sched.es[current]
        d = net.duration[current]
        best: int | None = None
        holder = current
        while holder >= 0:
            for src, kind, lag in net.links_into(holder):
                node = net.rollup[src]
                starts = from_start(kind)
                value = early[node] if starts else early[nodes + node]
                if kind < 4:
                    required = value + lag
                elif starts:
                    required = count_before(ordinal(value) + lag)
                else:
                    required = count_before(ordinal(value - 1) + 1 + lag)
                if to_finish(kind):  # the link binds the finish
                    if net.elapsed[current] and d > 0:
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
