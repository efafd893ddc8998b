"""Task-graph helpers: a plan's tasks as a DAG (networkx), checked, layered and drawn.

A plan's tasks form a graph with an edge `dep -> task` for every dependency. For

    1. search("Everest")
    2. search("K2")
    3. math("difference", [$1, $2])
    4. join()

(`join()` depends on every earlier task):

    >>> waves(tasks)                          # what can run together, in order
    [[1, 2], [3], [4]]
    >>> critical_path(tasks, {1: 0.8, 2: 1.5, 3: 0.1, 4: 0.0})
    ([2, 3, 4], 1.6)
    >>> validate(tasks)                       # [] means valid
    []
    >>> print(to_mermaid(tasks, statuses={1: "done", 2: "running"}))
    flowchart LR
        t1["$1 search('Everest')"]
        ...
        t1 --> t3
        ...
        class t1 done
        class t2 running

Dependencies on ids that are not in the given tasks (results of an earlier round) are
left out of the graph; `validate` reports them unless they are listed in its `known_ids`.
When several tasks share an id, the first one stands for it (as in the parser, which keeps the first task's id) and
`validate` reports the duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx

from llmcompiler.plan.task import Task

__all__ = ["critical_path", "to_mermaid", "to_networkx", "validate", "waves"]


def to_networkx(tasks: Iterable[Task]) -> nx.DiGraph:
    """The tasks as a directed graph: one node per id, an edge `dep -> task` per dependency.

    Each node carries the attributes `tool` and `error` of its task (and `task`, the
    `Task` itself). `join()` is a node like any other. Dependencies on ids that are not
    among `tasks` get no edge; a later task with an id already seen is left out.
    """
    graph = nx.DiGraph()
    first = _first_by_id(tasks)
    for idx, task in first.items():
        graph.add_node(idx, tool=task.tool, error=task.error, task=task)
    for idx, task in first.items():
        for dep in task.deps:
            if dep in first:
                graph.add_edge(dep, idx)
    return graph


def validate(tasks: Sequence[Task], *, known_ids: Iterable[int] = ()) -> list[str]:
    """Human-readable problems of a plan; an empty list means it is valid.

    Reported, in this order: duplicate ids (`"$N: duplicate id, used by K tasks"`); per
    task, in plan order, dependencies that
    name no task of the list (ids in `known_ids`, e.g. earlier rounds' results, are
    fine) and `error`s set by the parser (as `"$N: <error>"`); finally every cycle, as
    `"cycle: $1 -> $2 -> $1"`.
    """
    problems: list[str] = []
    counts: dict[int, int] = {}
    for task in tasks:
        counts[task.idx] = counts.get(task.idx, 0) + 1
    for idx, count in counts.items():
        if count > 1:
            problems.append(f"${idx}: duplicate id, used by {count} tasks")
    known = set(known_ids)
    for task in tasks:
        for dep in task.deps:
            if dep not in counts and dep not in known:
                problems.append(f"${task.idx}: depends on ${dep}, which is not a task of the plan")
        if task.error is not None:
            problems.append(f"${task.idx}: {task.error}")
    problems.extend(f"cycle: {_show_cycle(cycle)}" for cycle in _cycles(to_networkx(tasks)))
    return problems


def waves(tasks: Iterable[Task]) -> list[list[int]]:
    """The tasks in topological generations: wave k holds every task whose dependencies
    all lie in waves before k, so each wave could run at once. Ids are sorted within a
    wave. Dependencies on ids outside `tasks` are ignored.

    Raises `ValueError` naming a cycle if the graph has one.
    """
    graph = to_networkx(tasks)
    _raise_on_cycle(graph)
    return [sorted(generation) for generation in nx.topological_generations(graph)]


def critical_path(tasks: Iterable[Task], durations: Mapping[int, float] | None = None) -> tuple[list[int], float]:
    """The longest chain of dependent tasks, weighted by task duration, and its length.

    Without `durations` every task counts 1, so the length is the number of tasks on the
    chain. With `durations`, tasks missing from it count 0 (e.g. tasks that never ran).
    This is the least time the plan can take with unlimited parallelism. The path runs
    from a task without dependencies to one without dependents (usually the join); of
    equally long paths, the one with more tasks wins, then the one with smaller ids.
    `([], 0.0)` for no tasks; `ValueError` on a cycle or a negative duration.
    """
    graph = to_networkx(tasks)
    _raise_on_cycle(graph)

    def weight(idx: int) -> float:
        return 1.0 if durations is None else float(durations.get(idx, 0.0))

    for idx in graph:
        if weight(idx) < 0:
            raise ValueError(f"negative duration for ${idx}: {weight(idx)}")

    # the heaviest chain ending at each node; among equally heavy chains the one with
    # more tasks (zero durations still show what waited on what), then smaller ids
    best: dict[int, tuple[float, int]] = {}
    previous: dict[int, int | None] = {}
    for idx in nx.lexicographical_topological_sort(graph):
        preds = sorted(graph.predecessors(idx))
        before = max(preds, key=lambda p: (best[p], -p), default=None)
        length, hops = best[before] if before is not None else (0.0, 0)
        best[idx] = (length + weight(idx), hops + 1)
        previous[idx] = before
    if not best:
        return [], 0.0
    sinks = sorted(n for n in graph if graph.out_degree(n) == 0)
    last = max(sinks, key=lambda n: (best[n], -n))
    length = best[last][0]
    end: int | None = last
    path: list[int] = []
    while end is not None:
        path.append(end)
        end = previous[end]
    return path[::-1], length


_STYLES = {
    "done": "fill:#d4edda,stroke:#2e7d32,color:#1b5e20",
    "failed": "fill:#f8d7da,stroke:#c62828,color:#7f0000",
    "skipped": "fill:#eeeeee,stroke:#9e9e9e,color:#616161,stroke-dasharray:4 3",
    "running": "fill:#fff3cd,stroke:#f9a825,color:#6d4c00",
    "waiting": "fill:#e3f2fd,stroke:#1e88e5,color:#0d47a1",
}
_LABEL_CHARS = 40
_ID_PREFIX = re.compile(r"\s*\d+\s*\.\s*")


def to_mermaid(tasks: Iterable[Task], *, statuses: Mapping[int, str] | None = None) -> str:
    """The plan as Mermaid `flowchart LR` text.

    One node per task, `t<N>`, labelled `$N call(...)` (the call shortened to about 40
    characters; a task that failed to parse shows the text the planner wrote), one edge
    `dep --> task` per dependency among the tasks. With `statuses` (id -> one of `done`,
    `failed`, `skipped`, `running`, `waiting`), nodes are coloured by status through
    `classDef`/`class` lines; other status names and unknown ids are ignored.
    """
    first = _first_by_id(tasks)
    lines = ["flowchart LR"]
    for idx, task in first.items():
        lines.append(f'    t{idx}["{_escape(_label(task))}"]')
    for idx, task in first.items():
        for dep in task.deps:
            if dep in first:
                lines.append(f"    t{dep} --> t{idx}")
    if statuses:
        by_status: dict[str, list[int]] = {}
        for idx, status in statuses.items():
            if status in _STYLES and idx in first:
                by_status.setdefault(status, []).append(idx)
        for status in _STYLES:
            if status in by_status:
                lines.append(f"    classDef {status} {_STYLES[status]}")
        for status in _STYLES:
            if status in by_status:
                nodes = ",".join(f"t{idx}" for idx in sorted(by_status[status]))
                lines.append(f"    class {nodes} {status}")
    return "\n".join(lines) + "\n"


# -- helpers ------------------------------------------------------------------------------


def _first_by_id(tasks: Iterable[Task]) -> dict[int, Task]:
    first: dict[int, Task] = {}
    for task in tasks:
        first.setdefault(task.idx, task)
    return first


def _cycles(graph: nx.DiGraph) -> list[list[int]]:
    """One cycle per strongly connected component that has one, smallest id first."""
    found = []
    for component in nx.strongly_connected_components(graph):
        start = min(component)
        if len(component) == 1 and not graph.has_edge(start, start):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=start)
        cycle = [u for u, _ in edges]
        turn = cycle.index(min(cycle))
        found.append(cycle[turn:] + cycle[:turn])
    return sorted(found)


def _show_cycle(cycle: list[int]) -> str:
    return " -> ".join(f"${idx}" for idx in [*cycle, cycle[0]])


def _raise_on_cycle(graph: nx.DiGraph) -> None:
    cycles = _cycles(graph)
    if cycles:
        raise ValueError(f"the plan has a cycle: {_show_cycle(cycles[0])}")


def _label(task: Task) -> str:
    if task.error is None or (task.args or task.kwargs):
        call = task.call_text()
    else:  # the arguments did not parse: show what the planner wrote
        call = _ID_PREFIX.sub("", task.text, count=1) or task.call_text()
    call = " ".join(call.split())  # no line breaks inside a node
    if len(call) > _LABEL_CHARS:
        call = call[: _LABEL_CHARS - 1].rstrip() + "…"
    return f"${task.idx} {call}"


def _escape(text: str) -> str:
    """Make text safe inside a quoted Mermaid label, using Mermaid's `#...;` entity codes."""
    text = text.replace("#", "#35;")  # first: the entity codes below contain "#"
    for char, code in (('"', "#quot;"), ("&", "#amp;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text
