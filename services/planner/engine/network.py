"""The task network in index form: what the scheduler consumes.

Tasks are numbered by input position. Each task is a node; a summary task is
two nodes, its *gate* (the task's own index: what must hold before any of its
children may start or finish) and its *roll-up* (index ``n + k``: its
children's latest start and finish, which links leaving the summary wait for).
So a link to or from a summary applies to every one of its leaf tasks, and the
schedule stays a longest-path problem over a DAG. A link between a summary and
its own descendant closes a loop through these nodes and is reported as a cycle.

Each node has two *slots* in the scheduler's value arrays: ``v`` for its start
and ``nodes + v`` for its finish. Working-day links are stored by the event
they leave from, as ``(target slot, lag)``: ``from_finish`` holds FS and FF
links, ``from_start`` SS and SF. The scheduler's inner loops are then one
addition and one comparison per link, with no branching on the link type.
A summary's gate and roll-up edges are links of lag 0 of the same kind.
Elapsed-day links need calendar arithmetic and live in ``elapsed_links`` as
``(target node, kind, lag)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .calendar import WorkingTime
from .document import Project, Resource, Task

FS: Final = 0
SS: Final = 1
FF: Final = 2
SF: Final = 3
ELAPSED: Final = 4  # added to a link kind when its lag is in elapsed days

LINK_KINDS: Final[dict[tuple[str, str], int]] = {
    (name, unit): code + (ELAPSED if unit == "ed" else 0)
    for name, code in (("FS", FS), ("SS", SS), ("FF", FF), ("SF", SF))
    for unit in ("wd", "ed")
}
LINK_NAMES: Final = ("FS", "SS", "FF", "SF")

Edge = tuple[int, int, int]
SlotLink = tuple[int, int]


def from_start(kind: int) -> bool:
    return kind % ELAPSED in (SS, SF)


def to_finish(kind: int) -> bool:
    return kind % ELAPSED in (FF, SF)


@dataclass(slots=True)
class Network:
    project: Project
    working_times: dict[str, WorkingTime]
    resources: list[Resource]
    ids: list[str]
    names: list[str]
    duration: list[int]  # 0 for summaries, whose span comes from their children
    elapsed: list[bool]  # duration counted in calendar days
    parent: list[int]  # -1 for top-level tasks
    children: dict[int, list[int]]  # summary index -> child indices, input order
    rollup: list[int]  # node that carries a task's finish: itself, or n + k for summaries
    tasks: list[Task]
    index: dict[str, int]  # task id -> input position
    from_finish: list[list[SlotLink]]  # per node
    from_start: list[list[SlotLink]]  # per node
    elapsed_links: list[list[Edge]]  # per node
    order: list[int]  # every node, topologically sorted
    deadline_ordinal: list[int | None]
    assignments: list[list[tuple[int, int]]]  # (resource index, micro-units)
    dependencies: int

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def nodes(self) -> int:
        return len(self.from_start)

    def is_summary(self, task: int) -> bool:
        return self.rollup[task] != task

    def links_into(self, task: int) -> list[Edge]:
        """A task's own links as ``(source task, kind, lag)``."""
        index = self.index
        return [
            (index[link.task], LINK_KINDS[link.type, link.lag_unit], link.lag)
            for link in self.tasks[task].predecessors
        ]
