"""The task network in index form: what the scheduler consumes.

Tasks are numbered by input position. Each task is a node; a summary task is
two nodes, its *gate* (the task's own index: what must hold before any of its
children may start or finish) and its *roll-up* (index ``n + k``: its
children's latest start and finish, which links leaving the summary wait for).
So a link to or from a summary applies to every one of its leaf tasks, and the
schedule stays a longest-path problem over a DAG. A link between a summary and
its own descendant closes a loop through these nodes and is reported as a cycle.

Each node has two *slots* in the scheduler's value arrays: ``v`` for its start
and ``nodes + v`` for its finish. Links are stored by the slot they leave
from, as ``(target slot, lag)`` in ``out``, so the scheduler's inner loops are
one addition and one comparison per link, with no branching on link type.

Most tasks are *plain*: leaves whose duration is in working days, so their
finish is always their start plus their duration. Their finish slot is never
used: a link from or to a plain task's finish is stored against its start,
with the duration folded into the lag (FS with lag 2 from a 3-day task is
"start + 5"). For a plain network the scheduler then carries one value per
task, which is what makes large plans fast. Elapsed-day durations, summaries
and elapsed-day links need both slots or the calendar; those nodes are marked
in ``general`` and take the scheduler's general path.

A milestone that an elapsed-day link touches is a *point* node: one instant
for its start and its finish, which the scheduler carries beside its index
(DESIGN §8). An elapsed-day link to or from a summary passes through a *hub*,
a point node numbered after the roll-ups, that stands for the summary's
instant on that side: its leaves feed it (or it feeds them), so the link is
one entry however many leaves the summary has.

``build_network`` is the fast path for a document that decoded cleanly: it
only answers whether the document is sound, and builds the network if so.
When it is not, ``checks.py`` walks the document again to say why.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not
from typing import Any, Final

from .calendar import WorkingTime
from .document import PlanDocument, Project, Resource, Task, ids_well_formed
from .links import (
    ELAPSED_LEAF,
    GATE,
    NO_LINKS,
    PLAIN,
    POINT,
    ROLLUP,
    ElapsedLink,
    HubKey,
    Links,
    SlotLink,
    hubs_for,
    leaves_of,
)

__all__ = [
    "ELAPSED_LEAF",
    "GATE",
    "MICRO",
    "NO_LINKS",
    "PLAIN",
    "POINT",
    "ROLLUP",
    "ElapsedLink",
    "Network",
    "SlotLink",
    "build_network",
    "known_time_zone",
]

MICRO: Final = 1_000_000  # assignment units are summed as integer millionths

_ID = attrgetter("id")


@functools.lru_cache(maxsize=512)
def known_time_zone(key: str) -> bool:
    try:
        zoneinfo.ZoneInfo(key)
    except (KeyError, ValueError, OSError):
        return False
    return True


@dataclass(slots=True)
class Network:
    project: Project
    working_times: dict[str, WorkingTime]
    resources: list[Resource]
    tasks: tuple[Task, ...]
    ids: list[str]
    index: dict[str, int]  # task id -> input position
    duration: list[int]  # per task; 0 for summaries, whose span comes from their children
    kind: bytearray  # per node: PLAIN, ELAPSED_LEAF, POINT, GATE or ROLLUP
    general: bytearray  # per node: 1 if the scheduler must take its general path
    parent: list[int]  # -1 for top-level tasks
    children: dict[int, list[int]]  # summary index -> child indices, input order
    rollup: list[int]  # node that carries a task's finish: itself, or n + k for summaries
    out: list[Sequence[SlotLink]]  # per slot: links leaving it
    elapsed_out: dict[int, list[ElapsedLink]]  # per node, only nodes that have some
    hubs: dict[HubKey, int]  # the POINT node elapsed-day links to or from a summary pass
    leaves: dict[int, list[int]]  # summary index -> its leaf tasks, only summaries with a hub
    order: Sequence[int]  # every node, topologically sorted
    deadline_ordinal: dict[int, int]  # task -> ordinal of its deadline day
    assignments: dict[int, list[tuple[int, int]]]  # task -> (resource index, micro-units)
    dependencies: int

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def nodes(self) -> int:
        return len(self.kind)


def _not_none(values: list[Any]) -> Iterator[int]:
    """Positions of the values that are not ``None``, found at C speed."""
    return compress(range(len(values)), map(is_not, values, repeat(None)))


def build_network(doc: PlanDocument, horizon_days: int) -> Network | None:
    """The network of a sound document, or ``None`` if anything is wrong with it.

    ``None`` exactly when the ids are malformed or ``checks.find_problems``
    would find a problem. The loops here touch each task and link once; the
    per-task checks run over whole columns at C speed.
    """
    project, tasks, calendars, resources = doc.project, doc.tasks, doc.calendars, doc.resources
    n = len(tasks)
    ids = list(map(_ID, tasks))
    index = dict(zip(ids, range(n), strict=True))
    calendar_ids = {c.id for c in calendars}
    resource_index = {r.id: k for k, r in enumerate(resources)}
    if (
        not ids_well_formed([project.id, *map(_ID, calendars), *map(_ID, resources), *ids])
        or len(index) != n
        or len(calendar_ids) != len(calendars)
        or len(resource_index) != len(resources)
        or not known_time_zone(project.time_zone)
        or project.calendar not in calendar_ids
    ):
        return None
    start_ordinal = project.start.toordinal()
    if project.deadline is not None and (
        abs(project.deadline.toordinal() - start_ordinal) > horizon_days
    ):
        return None
    for resource in resources:
        if resource.calendar is not None and resource.calendar not in calendar_ids:
            return None
        if any(leave.end < leave.start for leave in resource.leaves):
            return None

    parent = [-1] * n
    children: dict[int, list[int]] = {}
    parents = list(map(attrgetter("parent"), tasks))
    if parents.count(None) != n:
        for i in _not_none(parents):
            p = index.get(parents[i])
            if p is None or p == i:
                return None
            parent[i] = p
            children.setdefault(p, []).append(i)
    rollup = list(range(n))
    for k, s in enumerate(children):
        rollup[s] = n + k
    nodes = n + len(children)

    # A summary's own duration is ignored and a milestone's may be left out
    # (it is 0); every other task needs one.
    duration: list[int | None] = list(map(attrgetter("duration"), tasks))
    milestones = list(map(attrgetter("milestone"), tasks))
    for s in children:
        duration[s] = 0
    if None in duration:
        for i in compress(range(n), map(is_, duration, repeat(None))):
            if not milestones[i]:
                return None
            duration[i] = 0
    durations: list[int] = duration  # type: ignore[assignment]
    if n and max(durations) > horizon_days:
        return None
    if True in milestones and any(compress(durations, milestones)):
        return None

    kind = bytearray(nodes)
    for s in children:
        kind[s] = GATE
    kind[n:] = bytes([ROLLUP]) * len(children)
    units = list(map(attrgetter("duration_unit"), tasks))
    if "ed" in units:
        for i in compress(range(n), map("ed".__eq__, units)):
            # A zero-length task is a point in time whatever its unit.
            if durations[i] and not kind[i]:
                kind[i] = ELAPSED_LEAF
    hubs = hubs_for(tasks, index, children, nodes) if children else {}
    leaves = {s: leaves_of(s, children) for s in {key[0] for key in hubs}}
    irregular = list(compress(range(nodes), kind))
    nodes += len(hubs)
    kind += bytes([POINT]) * len(hubs)
    general = bytearray(nodes)
    for v in chain(irregular, hubs.values()):
        general[v] = 1

    deadline_ordinal: dict[int, int] = {}
    deadlines = list(map(attrgetter("deadline"), tasks))
    if deadlines.count(None) != n:
        for i in _not_none(deadlines):
            ordinal = deadlines[i].toordinal()
            if abs(ordinal - start_ordinal) > horizon_days:
                return None
            deadline_ordinal[i] = ordinal

    assignments: dict[int, list[tuple[int, int]]] = {}
    for i in compress(range(n), map(attrgetter("assignments"), tasks)):
        mine = assignments[i] = []
        for assignment in tasks[i].assignments:
            r = resource_index.get(assignment.resource)
            if r is None:
                return None
            mine.append((r, round(assignment.units * MICRO)))

    links = Links(kind, irregular, durations, n, hubs)
    # Links from a summary leave from its roll-up node.
    node_of = {**index, **{ids[s]: rollup[s] for s in children}} if children else index
    if not links.add_task_links(tasks, node_of, {rollup[s]: s for s in children}):
        return None
    for (s, into, finish_side), hub in hubs.items():
        # A summary's instant on one side is its latest leaf's; what a link
        # requires of a summary, it requires of each leaf.
        for leaf in leaves[s]:
            if into:
                links.add_elapsed(hub, False, leaf, finish_side, 0)
            else:
                links.add_elapsed(leaf, finish_side, hub, False, 0)
    for s, kids in children.items():
        top = rollup[s]
        for c in kids:
            # gate -> child: the child may not start (finish) before the gate allows
            links.add(s, False, c, False, 0)
            links.add(s, True, c, True, 0)
            # child -> roll-up: the summary starts (finishes) no earlier than any child
            links.add(rollup[c], False, top, False, 0)
            links.add(rollup[c], True, top, True, 0)
    for u in chain(links.elapsed_out, links.points):
        general[u] = 1

    order: Sequence[int]
    if links.forward and not children:
        # Every link points to a later task: input order is already topological.
        order = range(n)
    else:
        order = links.topological_order()
        if len(order) < nodes:
            return None

    return Network(
        project=project,
        working_times={c.id: WorkingTime.from_calendar(c) for c in calendars},
        resources=list(resources),
        tasks=tasks,
        ids=ids,
        index=index,
        duration=durations,
        kind=kind,
        general=general,
        parent=parent,
        children=children,
        rollup=rollup,
        out=links.out,
        elapsed_out=links.elapsed_out,
        hubs=hubs,
        leaves=leaves,
        order=order,
        deadline_ordinal=deadline_ordinal,
        assignments=assignments,
        dependencies=links.dependencies,
    )
