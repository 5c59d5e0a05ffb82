"""Filing a plan's links by the slot they leave from (see ``network.py`` for slots).

The node kinds and the link tuples the scheduler's loops read are defined
here; ``network.build_network`` decides which task is which kind and hands
the links over.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from itertools import chain, compress
from operator import attrgetter
from typing import Final

from .document import Task

# Node kinds; the leaves' come first, so ``kind <= POINT`` means a leaf or a hub.
PLAIN: Final = 0  # a leaf whose finish is its start plus its duration in working days
ELAPSED_LEAF: Final = 1  # a leaf with a duration in elapsed days
POINT: Final = 2  # an instant: a milestone with elapsed-day links, or a summary's hub
GATE: Final = 3  # a summary task's own node
ROLLUP: Final = 4  # a summary's roll-up node

SlotLink = tuple[int, int]
# (target, leaves from the finish, lag in calendar days, shift, to an instant).
# The source's instant plus the lag is a requirement on the target: as an
# instant when the target is a POINT node (``target`` is then that node), or
# else as the workday index it falls in, less ``shift``, on the target slot.
# ``shift`` is the target's duration when a link to a plain task's finish was
# moved to its start; a link to an elapsed task's finish is moved to its start
# with the duration taken off the lag instead, which is exact in calendar days.
ElapsedLink = tuple[int, bool, int, int, bool]
# A summary's hub: (summary index, link into the summary, the finish side).
HubKey = tuple[int, bool, bool]
NO_LINKS: Final[tuple[SlotLink, ...]] = ()


def hubs_for(
    tasks: tuple[Task, ...], index: dict[str, int], children: dict[int, list[int]], first: int
) -> dict[HubKey, int]:
    """A POINT node, numbered from ``first``, per summary side an elapsed-day link uses.

    Working-day links to and from a summary go through its gate and roll-up
    nodes, in index arithmetic. An elapsed-day link needs the summary's
    instant instead, which only its leaves know: the hub collects it, so a
    link costs one entry however many leaves the summary has.
    """
    hubs: dict[HubKey, int] = {}
    for i, task in enumerate(tasks):
        for link in task.predecessors:
            if link.lag_unit == "wd":
                continue
            src = index.get(link.task)
            if src in children:
                hubs.setdefault((src, False, link.type[0] == "F"), first + len(hubs))
            if i in children:
                hubs.setdefault((i, True, link.type[1] == "F"), first + len(hubs))
    return hubs


def leaves_of(summary: int, children: dict[int, list[int]]) -> list[int]:
    leaves: list[int] = []
    stack = [summary]
    while stack:
        for c in children[stack.pop()]:
            if c in children:
                stack.append(c)
            else:
                leaves.append(c)
    return sorted(leaves)


class Links:
    """Files links by the slot they leave from, folding plain tasks' durations in."""

    def __init__(
        self,
        kind: bytearray,
        irregular: list[int],
        duration: list[int],
        tasks: int,
        hubs: dict[HubKey, int],
    ) -> None:
        nodes = len(kind)
        self.nodes = nodes
        self.kind = kind
        self.duration = duration
        self.tasks = tasks
        self.hubs = hubs
        # Zero-length leaves with elapsed-day links, made POINT nodes as they are met.
        self.points: set[int] = set()
        # Where a link from or to a node's finish is stored, and what it adds
        # to the lag: the start and the duration for a plain task, the finish
        # slot itself for the other (``irregular``) nodes.
        self.finish_slot = list(range(nodes))
        self.finish_add = duration + [0] * (nodes - tasks)
        for v in irregular:
            self.finish_slot[v] = nodes + v
            self.finish_add[v] = 0
        # One shared empty tuple for the many slots nothing leaves from.
        self.out: list[Sequence[SlotLink]] = [NO_LINKS] * (2 * nodes)
        self.elapsed_out: dict[int, list[ElapsedLink]] = {}
        self.forward = True  # every link goes from an earlier task to a later one
        self.dependencies = 0

    def add(self, u: int, from_finish: bool, v: int, to_finish: bool, lag: int) -> None:
        if from_finish:
            a = self.finish_slot[u]
            lag += self.finish_add[u]
        else:
            a = u
        if to_finish:
            t = self.finish_slot[v]
            lag -= self.finish_add[v]
        else:
            t = v
        self._append(a, t, lag)

    def add_elapsed(self, u: int, from_finish: bool, v: int, to_finish: bool, lag: int) -> None:
        """File a link in calendar days between two leaves or hubs (see ``ElapsedLink``)."""
        kind = self.kind
        entry: ElapsedLink
        if kind[v] == POINT or (v < self.tasks and not kind[v] and not self.duration[v]):
            self._make_point(v)
            entry = (v, from_finish, lag, 0, True)
        elif to_finish and kind[v] == ELAPSED_LEAF:
            entry = (v, from_finish, lag - self.duration[v], 0, False)
        elif to_finish:
            entry = (self.finish_slot[v], from_finish, lag, self.finish_add[v], False)
        else:
            entry = (v, from_finish, lag, 0, False)
        if u < self.tasks and not kind[u] and not self.duration[u]:
            self._make_point(u)
        out = self.elapsed_out.get(u)
        if out is None:
            self.elapsed_out[u] = [entry]
        else:
            out.append(entry)

    def _make_point(self, v: int) -> None:
        # A milestone's working-day links are filed as a plain task's of
        # duration 0 would be, so it can turn into an instant at any time.
        if v < self.tasks:
            self.kind[v] = POINT
            self.points.add(v)

    def _append(self, a: int, t: int, lag: int) -> None:
        out = self.out[a]
        if out:
            out.append((t, lag))  # type: ignore[attr-defined]
        else:
            self.out[a] = [(t, lag)]

    def add_task_links(
        self, tasks: tuple[Task, ...], node_of: dict[str, int], summary_of: dict[int, int]
    ) -> bool:
        """File every task's predecessors; ``False`` if one is unknown or itself.

        ``node_of`` maps a task id to the node its links leave from: the
        task's own index, or its roll-up node for a summary (``summary_of``
        maps it back). The hot loop of the fast path, written out by hand:
        one dictionary look-up and one append per link.
        """
        out = self.out
        finish_slot = self.finish_slot
        finish_add = self.finish_add
        hubs = self.hubs
        get = node_of.get
        forward = True
        dependencies = 0
        for i, links in enumerate(map(attrgetter("predecessors"), tasks)):
            if not links:
                continue
            dependencies += len(links)
            i_finish = finish_slot[i]
            i_add = finish_add[i]
            for link in links:
                u = get(link.task)
                if u is None or u >= i:
                    if u is None or u == i:
                        return False
                    # A summary's own links to itself run through its
                    # roll-up node and are caught as a cycle.
                    forward = False
                kind = link.type
                if link.lag_unit != "wd":
                    from_fin = kind[0] == "F"
                    to_fin = kind[1] == "F"
                    src = hubs[summary_of[u], False, from_fin] if u in summary_of else u
                    if (i, True, to_fin) in hubs:  # into a summary: through its hub
                        self.add_elapsed(src, from_fin, hubs[i, True, to_fin], False, link.lag)
                    else:
                        self.add_elapsed(src, from_fin, i, to_fin, link.lag)
                    continue
                if kind == "FS":
                    a = finish_slot[u]
                    t = i
                    lag = link.lag + finish_add[u]
                elif kind == "SS":
                    a = u
                    t = i
                    lag = link.lag
                elif kind == "FF":
                    a = finish_slot[u]
                    t = i_finish
                    lag = link.lag + finish_add[u] - i_add
                else:
                    a = u
                    t = i_finish
                    lag = link.lag - i_add
                slot = out[a]
                if slot:
                    slot.append((t, lag))  # type: ignore[attr-defined]
                else:
                    out[a] = [(t, lag)]
        self.forward = forward
        self.dependencies = dependencies
        return True

    def topological_order(self) -> list[int]:
        """Kahn's algorithm over the filed links; a node on or behind a cycle is left out.

        It walks the slot lists directly (a slot's node is ``slot % nodes``)
        rather than first building node-level successor lists.
        """
        nodes = self.nodes
        out = self.out
        elapsed_out = self.elapsed_out
        indegree = [0] * nodes
        for links in out:
            for t, _ in links:
                indegree[t % nodes] += 1
        for elapsed in elapsed_out.values():
            for t, _, _, _, _ in elapsed:
                indegree[t % nodes] += 1
        ready = deque(compress(range(nodes), map((0).__eq__, indegree)))
        order: list[int] = []
        append, popleft = order.append, ready.popleft
        while ready:
            u = popleft()
            append(u)
            for t, _ in chain(out[u], out[nodes + u]):
                v = t % nodes
                d = indegree[v] - 1
                indegree[v] = d
                if not d:
                    ready.append(v)
            for t, _, _, _, _ in elapsed_out.get(u, ()):
                v = t % nodes
                d = indegree[v] - 1
                indegree[v] = d
                if not d:
                    ready.append(v)
        return order
