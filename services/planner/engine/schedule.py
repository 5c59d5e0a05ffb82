"""Critical-path scheduling over the task network, in workday-index space.

One forward pass gives early dates, one backward pass over the same
topological order gives late dates and both floats. Everything is an integer
workday index (see ``calendar.py``): a task occupies workdays ``es .. ef - 1``,
so ``ef`` is exclusive and a zero-length task has ``es == ef``. Hot loops use
parallel lists indexed by node, never per-task objects.

Plain tasks (see ``network.py``) carry one value, their start, through both
passes; their finishes, late finishes and floats are then computed a whole
column at a time. Every other node takes the general path, with both slots.

Elapsed-day (``ed``) arithmetic turns an event into an instant (a midnight,
as a day ordinal), adds the calendar days, and converts the instant back to a
workday index. A start is the beginning of its first workday and a finish
the end of its last, except that an elapsed-duration task ends when its
calendar days end, and a POINT node (a milestone with elapsed-day links, or a
summary's hub) is one instant for both, which it carries through both passes
beside its index. Each conversion has an exact inverse, which the backward
pass uses, so late dates stay the latest dates that keep every link satisfied.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress, repeat
from operator import add, sub

from .calendar import WorkCalendar
from .critical_path import critical_path
from .network import ELAPSED_LEAF, GATE, PLAIN, POINT, ROLLUP, Network

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
    # Tasks whose finish is not start plus duration: elapsed-duration leaves and summaries.
    irregular = [u for u in compress(range(n), kind[:n]) if kind[u] != POINT]

    early, early_at = _forward(net, cal)
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
    rollups = [u for u in net.order if kind[u] == ROLLUP] if net.children else []
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
        net, cal, early, early_at, first, finish, end_cap, deadline_bound, summaries
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
    result.critical_path = critical_path(
        net, cal, es=es, ef=ef, total_float=total, finish=finish, early=early, early_at=early_at
    )
    return result


def _forward(net: Network, cal: WorkCalendar) -> tuple[list[int], dict[int, int]]:
    """Early values per slot, pushed along links in topological order, and POINT instants.

    A slot holds the requirement on its node's start (finish) until the node
    is reached, then its value: nothing is pushed into a node after that. A
    plain task's finish slot is not kept up to date here. ``at`` does the
    same for POINT nodes' instants.
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
    at: dict[int, int] = {}
    project_start = ordinal(0)
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
        elif k == POINT:
            # One instant: the latest its links require, no earlier than the
            # project start; a working-day requirement is the end of the
            # workday before it.
            instant = project_start if s <= 0 else ordinal(s - 1) + 1
            required = at.get(u, _NEG)
            if required > instant:
                instant = required
            at[u] = instant
            s = f = count_before(instant)
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
        elapsed = elapsed_out.get(u)
        if elapsed is None:
            continue
        if k == POINT:
            start_at = finish_at = at[u]
        else:
            start_at = ordinal(s)
            finish_at = start_at + duration[u] if k == ELAPSED_LEAF else ordinal(f - 1) + 1
        for t, from_finish, lag, shift, to_instant in elapsed:
            x = (finish_at if from_finish else start_at) + lag
            if to_instant:
                if x > at.get(t, _NEG):
                    at[t] = x
            else:
                r = count_before(x) - shift
                if r > early[t]:
                    early[t] = r
    return early, at


def _backward(
    net: Network,
    cal: WorkCalendar,
    early: list[int],
    early_at: dict[int, int],
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
    # POINT nodes' late instants, and the instants links into them are measured
    # against for free float: a milestone's early instant, a hub's caps.
    late_at: dict[int, int] = {}
    slack_at = dict(early_at)
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
        leaf = k <= POINT and u < n  # a task, not a summary's node or hub
        if leaf:
            cf = end_cap
            ecf = finish
        else:
            cf = ecf = _POS
        if k != GATE and (leaf or k == ROLLUP):  # a summary's deadline binds via its roll-up
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
        if k == POINT:
            # One instant, so every cap is on it: a working-day cap on its
            # index c allows up to the start of workday c.
            if cf < cs:
                cs = cf
            if ecf < ecs:
                ecs = ecf
            latest = ordinal(cs) if cs < _POS else _POS
            least = ordinal(ecs) if ecs < _POS else _POS
            latest_fin = least_fin = _POS
        else:
            latest = least = _POS  # caps on the anchor of an elapsed-day link, as instants
            latest_fin = least_fin = _POS
        for t, from_finish, lag, shift, to_instant in elapsed_out.get(u, ()):
            if to_instant:
                x = late_at[t] - lag
                y = slack_at[t] - lag
            else:
                x = ordinal(late[t] + shift) - lag
                y = ordinal(slack_to[t] + shift) - lag
            if from_finish and k != POINT:
                if x < latest_fin:
                    latest_fin = x
                if y < least_fin:
                    least_fin = y
            else:
                if x < latest:
                    latest = x
                if y < least:
                    least = y
        if k == POINT:
            late_at[u] = latest
            s = count_before(latest)
            late[u] = late[nodes + u] = s
            if leaf:
                es = early[u]
                tf = s - es
                ff = min(count_before(least) - es, tf) if least < _POS else tf
                floats[u] = (tf, ff if ff > 0 else 0)
            else:  # a hub passes its successors' caps on, as a roll-up does
                slack_at[u] = least
            continue
        # An instant cap on a start is the latest workday beginning by then.
        if latest < _POS:
            x = count_before(latest + 1) - 1
            if x < cs:
                cs = x
        if least < _POS:
            x = count_before(least + 1) - 1
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
            if latest_fin < _POS:  # a finish ends at the end of its last workday
                x = count_before(latest_fin)
                if x < cf:
                    cf = x
            if least_fin < _POS:
                x = count_before(least_fin)
                if x < ecf:
                    ecf = x
            s = cf - d
            if cs < s:
                s = cs
            f = s + d
        else:
            # An elapsed task ends d calendar days after it starts.
            if latest_fin < _POS:
                x = count_before(latest_fin - d + 1) - 1
                if x < cs:
                    cs = x
            if least_fin < _POS:
                x = count_before(least_fin - d + 1) - 1
                if x < ecs:
                    ecs = x
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
