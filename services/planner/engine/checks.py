"""Every reference and structure problem of a plan document, in a stable order.

This is the slow, thorough walk: it runs only when ``network.build_network``
has rejected a document (or the document did not even decode), and it says
why, item by item, with a JSON Pointer for each problem. Items that failed
their shape checks arrive as their id (if one was readable) or ``None``, so
references to them are not misreported.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .document import Calendar, Project, Resource, Task
from .network import known_time_zone
from .problems import ProblemCode, ProblemList, pointer

__all__ = ["find_problems"]


def _id_of(item: Any | str | None) -> str | None:
    if item is None or isinstance(item, str):
        return item
    item_id: str = item.id
    return item_id


def _index_ids(
    items: list[Any | str | None], collection: str, problems: ProblemList
) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        item_id = _id_of(item)
        if item_id is None:
            continue
        first = index.setdefault(item_id, i)
        if first != i:
            problems.add(
                ProblemCode.DUPLICATE_ID,
                f"id {item_id!r} is already used by {collection}[{first}]",
                pointer(collection, i, "id"),
                {"id": item_id, "first": pointer(collection, first)},
            )
    return index


def find_problems(
    project: Project | None,
    calendars: list[Calendar | str | None],
    resources: list[Resource | str | None],
    tasks: list[Task | str | None],
    problems: ProblemList,
    horizon_days: int,
) -> None:
    """Add every problem that needs more than one field to ``problems``."""
    calendar_index = _index_ids(calendars, "calendars", problems)
    resource_index = _index_ids(resources, "resources", problems)
    index = _index_ids(tasks, "tasks", problems)

    start_ordinal = None
    if project is not None:
        start_ordinal = project.start.toordinal()
        if not known_time_zone(project.time_zone):
            problems.add(
                ProblemCode.UNKNOWN_TIMEZONE,
                f"unknown time zone {project.time_zone!r}; use an IANA name like 'Europe/Istanbul'",
                "/project/timeZone",
                {"timeZone": project.time_zone},
            )
        if project.calendar not in calendar_index:
            _unknown_calendar(project.calendar, "/project/calendar", problems)
        if project.deadline is not None:
            _check_horizon_date(
                project.deadline, start_ordinal, horizon_days, "/project/deadline", problems
            )

    for r, resource in enumerate(resources):
        if resource is None or isinstance(resource, str):
            continue
        if resource.calendar is not None and resource.calendar not in calendar_index:
            _unknown_calendar(resource.calendar, pointer("resources", r, "calendar"), problems)
        for k, leave in enumerate(resource.leaves):
            if leave.end < leave.start:
                problems.add(
                    ProblemCode.INVALID_DATE,
                    "a leave cannot end before it starts",
                    pointer("resources", r, "leaves", k, "end"),
                    {"start": leave.start.isoformat(), "end": leave.end.isoformat()},
                )

    n = len(tasks)
    parent = [-1] * n
    for i, task in enumerate(tasks):
        if task is None or isinstance(task, str) or task.parent is None:
            continue
        p = index.get(task.parent)
        if p is None:
            problems.add(
                ProblemCode.UNKNOWN_PARENT,
                f"parent {task.parent!r} is not a task of this plan",
                pointer("tasks", i, "parent"),
                {"parent": task.parent},
            )
        elif p == i:
            problems.add(
                ProblemCode.SELF_DEPENDENCY,
                "a task cannot be its own parent",
                pointer("tasks", i, "parent"),
                {"task": task.id},
            )
        else:
            parent[i] = p

    children: dict[int, list[int]] = {}
    for i, p in enumerate(parent):
        if p >= 0:
            children.setdefault(p, []).append(i)
    rollup = list(range(n))
    for k, s in enumerate(children):
        rollup[s] = n + k

    # Node-level links, for the cycle check (see network.py for the nodes).
    successors: list[list[int]] = [[] for _ in range(n + len(children))]
    for i, task in enumerate(tasks):
        if task is None or isinstance(task, str):
            continue
        d = task.duration
        if d is None:
            if i not in children and not task.milestone:
                problems.add(
                    ProblemCode.FIELD_REQUIRED,
                    "missing required field 'duration' (only summaries and milestones may omit it)",
                    pointer("tasks", i, "duration"),
                    {"field": "duration"},
                )
        elif i not in children and (d > horizon_days or (d and task.milestone)):
            _check_duration(task, i, horizon_days, problems)
        if task.deadline is not None and start_ordinal is not None:
            _check_horizon_date(
                task.deadline,
                start_ordinal,
                horizon_days,
                pointer("tasks", i, "deadline"),
                problems,
            )
        for j, link in enumerate(task.predecessors):
            src = index.get(link.task)
            if src is None or src == i:
                _bad_link(task, i, j, src, problems)
            else:
                successors[rollup[src]].append(i)
        for j, assignment in enumerate(task.assignments):
            if assignment.resource not in resource_index:
                problems.add(
                    ProblemCode.UNKNOWN_RESOURCE,
                    f"resource {assignment.resource!r} is not a resource of this plan",
                    pointer("tasks", i, "assignments", j, "resource"),
                    {"resource": assignment.resource},
                )

    for s, kids in children.items():
        for c in kids:
            successors[s].append(c)  # gate -> child
            successors[rollup[c]].append(rollup[s])  # child -> roll-up

    order = topological_order(successors)
    if len(order) < len(successors):
        _report_cycles(successors, order, tasks, rollup, children, problems)


def topological_order(successors: list[list[int]]) -> list[int]:
    """Kahn's algorithm; nodes on or behind a cycle are left out of the order."""
    indegree = [0] * len(successors)
    for targets in successors:
        for v in targets:
            indegree[v] += 1
    ready = deque(u for u, d in enumerate(indegree) if d == 0)
    order: list[int] = []
    append, popleft = order.append, ready.popleft
    while ready:
        u = popleft()
        append(u)
        for v in successors[u]:
            d = indegree[v] - 1
            indegree[v] = d
            if d == 0:
                ready.append(v)
    return order


def _check_duration(task: Task, i: int, horizon_days: int, problems: ProblemList) -> None:
    d = task.duration
    assert d is not None
    if task.milestone and d != 0:
        problems.add(
            ProblemCode.MILESTONE_DURATION,
            f"a milestone has duration 0, not {d}",
            pointer("tasks", i, "duration"),
            {"duration": d},
        )
    elif d > horizon_days:
        problems.add(
            ProblemCode.HORIZON_EXCEEDED,
            f"duration {d} is longer than the {horizon_days}-day horizon",
            pointer("tasks", i, "duration"),
            {"duration": d, "horizonDays": horizon_days},
        )


def _bad_link(task: Task, i: int, j: int, src: int | None, problems: ProblemList) -> None:
    link = task.predecessors[j]
    if src is None:
        problems.add(
            ProblemCode.UNKNOWN_DEPENDENCY,
            f"predecessor {link.task!r} is not a task of this plan",
            pointer("tasks", i, "predecessors", j, "task"),
            {"task": task.id, "predecessor": link.task},
        )
    else:
        problems.add(
            ProblemCode.SELF_DEPENDENCY,
            "a task cannot depend on itself",
            pointer("tasks", i, "predecessors", j, "task"),
            {"task": task.id},
        )


def _unknown_calendar(calendar: str, path: str, problems: ProblemList) -> None:
    problems.add(
        ProblemCode.UNKNOWN_CALENDAR,
        f"calendar {calendar!r} is not defined in 'calendars'",
        path,
        {"calendar": calendar},
    )


def _check_horizon_date(
    day: Any, start_ordinal: int, horizon_days: int, path: str, problems: ProblemList
) -> None:
    if abs(day.toordinal() - start_ordinal) > horizon_days:
        problems.add(
            ProblemCode.HORIZON_EXCEEDED,
            f"{day.isoformat()} is more than {horizon_days} days from the project start",
            path,
            {"date": day.isoformat(), "horizonDays": horizon_days},
        )


def _report_cycles(
    successors: list[list[int]],
    order: list[int],
    tasks: list[Task | str | None],
    rollup: list[int],
    children: dict[int, list[int]],
    problems: ProblemList,
) -> None:
    """Report disjoint cycles among the nodes Kahn's algorithm could not order.

    Every such node has a predecessor that is also unordered, so walking
    predecessors from any of them must revisit a node: that loop is a cycle.
    """
    n = len(tasks)
    summary_of = {rollup[s]: s for s in children}
    ordered = bytearray(len(successors))
    for u in order:
        ordered[u] = 1
    preds_of: dict[int, int] = {}
    for u, targets in enumerate(successors):
        if not ordered[u]:
            for v in targets:
                if not ordered[v]:
                    preds_of.setdefault(v, u)
    seen = bytearray(len(successors))
    for startnode in range(len(successors)):
        if ordered[startnode] or seen[startnode]:
            continue
        walk: list[int] = []
        position: dict[int, int] = {}
        u = startnode
        while not seen[u]:
            seen[u] = 1
            position[u] = len(walk)
            walk.append(u)
            u = preds_of[u]
        if u not in position:
            continue  # ran into a cycle reported already
        loop = walk[position[u] :]
        loop.reverse()  # walked against the edges; report in link direction
        steps: list[tuple[str, int]] = []
        for node in loop:
            task = node if node < n else summary_of[node]
            name = _id_of(tasks[task]) or str(task)
            if not steps or steps[-1][0] != name:
                steps.append((name, task))
        if len(steps) > 1 and steps[0][0] == steps[-1][0]:
            steps.pop()
        # Start the loop at its smallest id so the report does not depend on input order.
        first = min(range(len(steps)), key=lambda k: steps[k][0])
        steps = steps[first:] + steps[:first]
        names = [name for name, _ in steps]
        names.append(names[0])
        shown = names if len(names) <= 12 else [*names[:10], "…", names[-1]]
        message = "dependency cycle: " + " -> ".join(shown)
        path = pointer("tasks", steps[0][1])
        closing = _closing_link(steps, tasks)
        if closing is not None:
            task, j, before = closing
            message += f"; the link from {before!r} to {_id_of(tasks[task])!r} closes it"
            path = pointer("tasks", task, "predecessors", j)
        problems.add(ProblemCode.CYCLE, message, path, {"cycle": names})


def _closing_link(
    steps: list[tuple[str, int]], tasks: list[Task | str | None]
) -> tuple[int, int, str] | None:
    """The loop's link written last in the document: ``(task, predecessor index, its id)``.

    Reading the plan top to bottom, that link is the one that closes the
    loop, so the problem's path points at it. A step of the loop is a link
    when the later task names the earlier one among its predecessors; the
    others are a summary's own structure (a child inside its summary).
    """
    best: tuple[int, int, str] | None = None
    for k, (name, _) in enumerate(steps):
        later = steps[(k + 1) % len(steps)][1]
        task = tasks[later]
        if task is None or isinstance(task, str):
            continue
        for j, link in enumerate(task.predecessors):
            if link.task == name:
                if best is None or (later, j) > best[:2]:
                    best = (later, j, name)
                break
    return best  # structure alone cannot close a loop, so there is always one
