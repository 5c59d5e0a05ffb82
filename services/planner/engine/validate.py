"""From request bytes to a checked ``Network``, or every reason why not.

Two paths share one set of semantic checks:

* fast: the body decodes straight into ``PlanDocument`` (shape checked in C by
  msgspec), then ids, references, time zone and cycles are checked here;
* full: the body does not fit the schema, so it is decoded to plain JSON,
  walked for every shape problem (``structure.py``), and the items that are
  sound on their own are salvaged so that reference and cycle problems are
  reported in the same answer.
"""

from __future__ import annotations

import contextlib
import functools
import zoneinfo
from collections import deque
from typing import Any, TypeVar

import msgspec

from .calendar import WorkingTime
from .document import Calendar, PlanDocument, Project, Resource, Task
from .network import LINK_KINDS, Edge, Network, SlotLink
from .problems import PlanInvalid, ProblemCode, ProblemList, TooManyProblems, pointer
from .structure import check_structure

DEFAULT_MAX_TASKS = 200_000
DEFAULT_HORIZON_DAYS = 146_097  # 400 years: one full Gregorian cycle
_MICRO = 1_000_000


class PlanJSONInvalid(Exception):
    """The body is not JSON at all (400 rather than 422)."""


S = TypeVar("S", bound=msgspec.Struct)


@functools.lru_cache(maxsize=512)
def _known_time_zone(key: str) -> bool:
    try:
        zoneinfo.ZoneInfo(key)
    except (KeyError, ValueError, OSError):
        return False
    return True


def read_document(
    body: bytes | str,
    *,
    max_tasks: int = DEFAULT_MAX_TASKS,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> tuple[PlanDocument, Network]:
    """Decode and check a plan document; raise ``PlanInvalid`` listing its problems."""
    try:
        doc = msgspec.json.decode(body, type=PlanDocument)
    except msgspec.ValidationError:
        doc = None
    except msgspec.DecodeError as exc:
        raise PlanJSONInvalid(str(exc)) from exc
    if doc is None:
        _report_malformed(body, max_tasks=max_tasks, horizon_days=horizon_days)
    assert doc is not None
    if len(doc.tasks) > max_tasks:
        raise _too_large(len(doc.tasks), max_tasks)
    problems = ProblemList()
    network = None
    with contextlib.suppress(TooManyProblems):
        network = _check(
            doc.project,
            list(doc.calendars),
            list(doc.resources),
            list(doc.tasks),
            problems,
            horizon_days,
        )
    if problems or network is None:
        raise PlanInvalid(problems.items, truncated=problems.truncated)
    return doc, network


def _too_large(count: int, max_tasks: int) -> PlanInvalid:
    problems = ProblemList()
    problems.add(
        ProblemCode.TOO_LARGE,
        f"the plan has {count} tasks; at most {max_tasks} are allowed",
        "/tasks",
        {"tasks": count, "maxTasks": max_tasks},
    )
    return PlanInvalid(problems.items)


def _report_malformed(body: bytes | str, *, max_tasks: int, horizon_days: int) -> None:
    raw = msgspec.json.decode(body)
    tasks = raw.get("tasks") if isinstance(raw, dict) else None
    if isinstance(tasks, list) and len(tasks) > max_tasks:
        raise _too_large(len(tasks), max_tasks)
    problems = ProblemList()
    try:
        check_structure(raw, PlanDocument, problems)
        if isinstance(raw, dict):
            _check(
                _salvage_one(raw.get("project"), Project),
                _salvage_list(raw.get("calendars", []), Calendar),
                _salvage_list(raw.get("resources", []), Resource),
                _salvage_list(raw.get("tasks", []), Task),
                problems,
                horizon_days,
            )
    except TooManyProblems:
        pass
    raise PlanInvalid(problems.items, truncated=problems.truncated)


def _salvage_one(value: Any, kind: type[S]) -> S | None:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return None


def _salvage_list(value: Any, kind: type[S]) -> list[S | str | None]:
    """Convert items one by one; a failed item keeps its id if that much was readable."""
    if not isinstance(value, list):
        return []
    items: list[S | str | None] = []
    for raw in value:
        try:
            items.append(msgspec.convert(raw, kind))
        except msgspec.ValidationError:
            # Keep a readable id so references to the item are not misreported.
            item_id = raw.get("id") if isinstance(raw, dict) else None
            items.append(item_id if isinstance(item_id, str) else None)
    return items


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


def _check(
    project: Project | None,
    calendars: list[Calendar | str | None],
    resources: list[Resource | str | None],
    tasks: list[Task | str | None],
    problems: ProblemList,
    horizon_days: int,
) -> Network | None:
    """Run every check that needs more than one field; build the network if all pass."""
    calendar_index = _index_ids(calendars, "calendars", problems)
    resource_index = _index_ids(resources, "resources", problems)
    # A dict comprehension is the fast way in; duplicates are looked for only if it lost ids.
    index: dict[str, int] = {}
    if all(type(t) is Task for t in tasks):
        index = {t.id: i for i, t in enumerate(tasks)}  # type: ignore[union-attr]
    if len(index) != len(tasks):
        index = _index_ids(tasks, "tasks", problems)

    start_ordinal = None
    if project is not None:
        start_ordinal = project.start.toordinal()
        if not _known_time_zone(project.time_zone):
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

    nodes = n + len(children)
    is_summary = [False] * n
    for p in children:
        is_summary[p] = True
    duration = [0] * n
    elapsed = [False] * n
    assignments: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    deadlines: list[int | None] = [None] * n
    # Links are filed by the event they leave from (see network.py) in this
    # same pass: for a large plan this loop is most of the validation time.
    finish_links: list[list[SlotLink]] = [[] for _ in range(nodes)]
    start_links: list[list[SlotLink]] = [[] for _ in range(nodes)]
    elapsed_links: list[list[Edge]] = [[] for _ in range(nodes)]
    successors: list[list[int]] = [[] for _ in range(nodes)]
    dependencies = 0
    get_task = index.get
    for i, task in enumerate(tasks):
        if task is None or isinstance(task, str):
            continue
        d = task.duration
        if d is None:
            if not is_summary[i]:
                problems.add(
                    ProblemCode.FIELD_REQUIRED,
                    "missing required field 'duration' (only summary tasks may omit it)",
                    pointer("tasks", i, "duration"),
                    {"field": "duration"},
                )
        elif not is_summary[i]:
            duration[i] = d
            if task.duration_unit != "wd":
                elapsed[i] = True
            if d > horizon_days or (d and task.milestone):
                _check_duration(task, i, horizon_days, problems)
        if task.deadline is not None and start_ordinal is not None:
            deadlines[i] = task.deadline.toordinal()
            _check_horizon_date(
                task.deadline,
                start_ordinal,
                horizon_days,
                pointer("tasks", i, "deadline"),
                problems,
            )
        links = task.predecessors
        if links:
            dependencies += len(links)
            for j, link in enumerate(links):
                src = get_task(link.task)
                if src is None or src == i:
                    _bad_link(task, i, j, src, problems)
                    continue
                u = rollup[src]
                successors[u].append(i)
                lag = link.lag
                kind = link.type
                if link.lag_unit == "ed":
                    elapsed_links[u].append((i, LINK_KINDS[kind, "ed"], lag))
                elif kind == "FS":
                    finish_links[u].append((i, lag))
                elif kind == "SS":
                    start_links[u].append((i, lag))
                elif kind == "FF":
                    finish_links[u].append((i + nodes, lag))
                else:
                    start_links[u].append((i + nodes, lag))
        if task.assignments:
            mine = assignments[i]
            for j, assignment in enumerate(task.assignments):
                res = resource_index.get(assignment.resource)
                if res is None:
                    problems.add(
                        ProblemCode.UNKNOWN_RESOURCE,
                        f"resource {assignment.resource!r} is not a resource of this plan",
                        pointer("tasks", i, "assignments", j, "resource"),
                        {"resource": assignment.resource},
                    )
                else:
                    mine.append((res, round(assignment.units * _MICRO)))

    for s, kids in children.items():
        gate_starts, gate_finishes, gate_succ = start_links[s], finish_links[s], successors[s]
        top = rollup[s]
        for c in kids:
            # gate -> child: the child may not start (finish) before the gate allows
            gate_starts.append((c, 0))
            gate_finishes.append((c + nodes, 0))
            gate_succ.append(c)
            # child -> roll-up: the summary starts (finishes) no earlier than any child
            c_out = rollup[c]
            start_links[c_out].append((top, 0))
            finish_links[c_out].append((top + nodes, 0))
            successors[c_out].append(top)

    order = _topological_order(successors)
    if len(order) < nodes:
        _report_cycles(successors, order, tasks, rollup, children, problems)

    if problems or project is None:
        return None
    working_times = {
        c.id: WorkingTime.from_calendar(c) for c in calendars if isinstance(c, Calendar)
    }
    return Network(
        project=project,
        working_times=working_times,
        resources=[r for r in resources if isinstance(r, Resource)],
        ids=[t.id for t in tasks if isinstance(t, Task)],
        names=[t.name for t in tasks if isinstance(t, Task)],
        duration=duration,
        elapsed=elapsed,
        parent=parent,
        children=children,
        rollup=rollup,
        tasks=[t for t in tasks if isinstance(t, Task)],
        index=index,
        from_finish=finish_links,
        from_start=start_links,
        elapsed_links=elapsed_links,
        order=order,
        deadline_ordinal=deadlines,
        assignments=assignments,
        dependencies=dependencies,
    )


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


def _topological_order(successors: list[list[int]]) -> list[int]:
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
        problems.add(
            ProblemCode.CYCLE,
            "dependency cycle: " + " -> ".join(shown),
            pointer("tasks", steps[0][1]),
            {"cycle": names},
        )
