"""Tests of the task-graph helpers in llmcompiler.plan.graph."""

from __future__ import annotations

import re

import networkx as nx
import pytest

from llmcompiler.plan import (
    END_OF_PLAN,
    JOIN,
    PlanParser,
    Ref,
    Task,
    critical_path,
    to_mermaid,
    to_networkx,
    validate,
    waves,
)


def task(idx, tool="search", deps=(), error=None, args=(), **kwargs):
    return Task(idx, tool, tuple(args), kwargs, tuple(deps), None, f"{idx}. {tool}(...)", error)


def plan(text, tools=("search", "math"), **options):
    parser = PlanParser(tools, **options)
    return parser.feed(text) + parser.close()


# 1 -> {2, 3} -> 4 -> join 5
DIAMOND = [
    task(1, args=["Everest"]),
    task(2, "math", deps=[1], args=[Ref(1)]),
    task(3, "math", deps=[1], args=["$1 in feet"]),
    task(4, "math", deps=[2, 3], args=[Ref(2), Ref(3)]),
    task(5, JOIN, deps=[1, 2, 3, 4]),
]

PAPER_PLAN = (
    'Thought: look both up\n1. search("Mount Everest")\n2. search(entity="K2")\n'
    '3. math("height difference in meters", context=["$1", "$2"])\n4. join()' + END_OF_PLAN
)


# -- to_networkx -------------------------------------------------------------------------


def test_to_networkx_nodes_edges_and_attributes():
    graph = to_networkx(DIAMOND)
    assert isinstance(graph, nx.DiGraph)
    assert sorted(graph.nodes) == [1, 2, 3, 4, 5]
    assert sorted(graph.edges) == [(1, 2), (1, 3), (1, 5), (2, 4), (2, 5), (3, 4), (3, 5), (4, 5)]
    assert graph.nodes[5]["tool"] == JOIN
    assert graph.nodes[2]["tool"] == "math"
    assert graph.nodes[2]["error"] is None
    assert graph.nodes[4]["task"] is DIAMOND[3]


def test_to_networkx_from_parsed_plan_keeps_errors_and_skips_outside_deps():
    tasks = plan('1. search("a")\n2. fly($1)\n3. math($2, $0)\n4. join()\n')
    graph = to_networkx(tasks)
    assert graph.nodes[2]["error"] == "unknown tool 'fly' (available: math, search)"
    assert graph.nodes[3]["error"] == "$0 does not refer to any earlier task"
    assert sorted(graph.edges) == [(1, 2), (1, 4), (2, 3), (2, 4), (3, 4)]
    # an earlier round's result is not a node
    replan = plan("5. math($1, $5)\n", first_id=5)
    assert list(to_networkx(replan).nodes) == [5] and not to_networkx(replan).edges


def test_to_networkx_duplicate_id_keeps_the_first_task():
    tasks = [task(1, args=["a"]), task(1, "math", args=["b"], error="duplicate task id 1")]
    graph = to_networkx(tasks)
    assert list(graph.nodes) == [1]
    assert graph.nodes[1]["tool"] == "search" and graph.nodes[1]["error"] is None


# -- validate ----------------------------------------------------------------------------


def test_validate_valid_plans():
    assert validate(DIAMOND) == []
    assert validate(plan(PAPER_PLAN)) == []
    assert validate([]) == []


def test_validate_reports_every_kind_of_problem():
    tasks = [
        task(1),
        task(1, error="duplicate task id 1"),
        task(2, deps=[1, 9]),
        task(3, deps=[4]),
        task(4, deps=[3]),
        task(6, deps=[6]),
        task(7, "fly", error="unknown tool 'fly' (available: search)"),
    ]
    assert validate(tasks) == [
        "$1: duplicate id, used by 2 tasks",
        "$1: duplicate task id 1",
        "$2: depends on $9, which is not a task of the plan",
        "$7: unknown tool 'fly' (available: search)",
        "cycle: $3 -> $4 -> $3",
        "cycle: $6 -> $6",
    ]


def test_validate_known_ids_allow_earlier_rounds():
    tasks = plan('5. math($1, "$3")\n6. join()\n', first_id=5)
    assert validate(tasks) == [
        "$5: depends on $1, which is not a task of the plan",
        "$5: depends on $3, which is not a task of the plan",
    ]
    assert validate(tasks, known_ids={1, 2, 3}) == []


def test_validate_reports_the_cycle_path():
    tasks = [task(1), task(2, deps=[1, 4]), task(3, deps=[2]), task(4, deps=[3]), task(5, deps=[4])]
    assert validate(tasks) == ["cycle: $2 -> $3 -> $4 -> $2"]


def test_validate_parser_errors_as_dollar_n():
    tasks = plan('1. search(query)\n2. math($1)\n3. join()\n4. join()\n')
    assert validate(tasks) == [
        "$1: cannot parse the arguments of search(query): 'query' is not a literal "
        "(use strings, numbers, lists, dicts or $N)",
        "$4: a second join() in one plan",
    ]


# -- waves -------------------------------------------------------------------------------


def test_waves_of_a_diamond():
    assert waves(DIAMOND) == [[1], [2, 3], [4], [5]]


def test_waves_of_the_paper_plan_and_edge_cases():
    assert waves(plan(PAPER_PLAN)) == [[1, 2], [3], [4]]
    assert waves([]) == []
    independent = [task(3), task(1), task(2)]
    assert waves(independent) == [[1, 2, 3]]


def test_waves_ignore_deps_outside_the_list():
    tasks = plan('5. math($1)\n6. math($5, $2)\n7. search("x")\n8. join()\n', first_id=5)
    assert waves(tasks) == [[5, 7], [6], [8]]


def test_waves_raise_on_a_cycle_and_name_it():
    tasks = [task(1), task(2, deps=[1, 3]), task(3, deps=[2])]
    with pytest.raises(ValueError, match=re.escape("$2 -> $3 -> $2")):
        waves(tasks)
    with pytest.raises(ValueError, match=re.escape("$4 -> $4")):
        waves([task(4, deps=[4])])


# -- critical_path -----------------------------------------------------------------------


def test_critical_path_unit_durations():
    assert critical_path(DIAMOND) == ([1, 2, 4, 5], 4.0)  # tie 2/3: the smaller id
    assert critical_path([]) == ([], 0.0)
    assert critical_path([task(7)]) == ([7], 1.0)


def test_critical_path_with_durations():
    durations = {1: 0.5, 2: 0.25, 3: 2.0, 4: 1.0, 5: 0.0}
    assert critical_path(DIAMOND, durations) == ([1, 3, 4, 5], 3.5)
    tasks = plan(PAPER_PLAN)
    assert critical_path(tasks, {1: 0.75, 2: 1.5, 3: 0.25, 4: 0.0}) == ([2, 3, 4], 1.75)
    # ids without a duration count 0; of equally long paths the one with more tasks wins
    assert critical_path(tasks, {1: 3.0}) == ([1, 3, 4], 3.0)


def test_critical_path_picks_the_heaviest_of_parallel_chains():
    tasks = [
        task(1), task(2, deps=[1]), task(3, deps=[2]),  # chain a: 1 + 1 + 1
        task(4), task(5, deps=[4]),  # chain b: 0.5 + 4
        task(6, JOIN, deps=[1, 2, 3, 4, 5]),
    ]
    durations = {1: 1, 2: 1, 3: 1, 4: 0.5, 5: 4, 6: 0.5}
    assert critical_path(tasks, durations) == ([4, 5, 6], 5.0)
    assert critical_path(tasks) == ([1, 2, 3, 6], 4.0)


def test_critical_path_rejects_cycles_and_negative_durations():
    with pytest.raises(ValueError, match="cycle"):
        critical_path([task(1, deps=[2]), task(2, deps=[1])])
    with pytest.raises(ValueError, match="negative"):
        critical_path([task(1)], {1: -1.0})


# -- to_mermaid --------------------------------------------------------------------------

NODE = re.compile(r'^    t(\d+)\["([^"]*)"\]$')
EDGE = re.compile(r"^    t(\d+) --> t(\d+)$")
CLASSDEF = re.compile(r"^    classDef (done|failed|skipped|running|waiting) [\w:#,.\- ]+$")
CLASS = re.compile(r"^    class (t\d+(?:,t\d+)*) (done|failed|skipped|running|waiting)$")


def _check_syntax(text):
    """Every line is one of the statement forms to_mermaid writes; labels have no raw `"`."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines[1:]:
        assert NODE.match(line) or EDGE.match(line) or CLASSDEF.match(line) or CLASS.match(line), line
    assert text.endswith("\n")
    return lines


def test_mermaid_has_every_node_and_edge():
    text = to_mermaid(DIAMOND)
    lines = _check_syntax(text)
    nodes = {int(m.group(1)): m.group(2) for m in map(NODE.match, lines) if m}
    edges = {(int(m.group(1)), int(m.group(2))) for m in map(EDGE.match, lines) if m}
    assert nodes == {
        1: "$1 search('Everest')",
        2: "$2 math($1)",
        3: "$3 math('$1 in feet')",
        4: "$4 math($2, $3)",
        5: "$5 join()",
    }
    assert edges == set(to_networkx(DIAMOND).edges)
    assert "class " not in text and "classDef" not in text


def test_mermaid_escapes_quotes_and_shortens_long_calls():
    tasks = plan(
        '1. search("say \\"hi\\" & <b>#1</b>")\n'
        '2. math("a very long question that goes on and on and on", $1)\n'
        "3. search(query)\n"
    )
    lines = _check_syntax(to_mermaid(tasks))
    labels = {int(m.group(1)): m.group(2) for m in map(NODE.match, lines) if m}
    assert labels[1] == "$1 search('say #quot;hi#quot; #amp; #lt;b#gt;#35;1#lt;/b#gt;')"
    assert labels[2] == "$2 math('a very long question that goes on…"
    assert len("math('a very long question that goes on…") == 40
    assert labels[3] == "$3 search(query)"  # failed to parse: the planner's text


def test_mermaid_statuses_produce_class_lines():
    statuses = {1: "done", 2: "done", 3: "failed", 4: "skipped", 5: "waiting", 99: "done", 6: "odd"}
    text = to_mermaid(DIAMOND, statuses=statuses)
    lines = _check_syntax(text)
    assert "    class t1,t2 done" in lines
    assert "    class t3 failed" in lines
    assert "    class t4 skipped" in lines
    assert "    class t5 waiting" in lines
    defined = {m.group(1) for m in map(CLASSDEF.match, lines) if m}
    assert defined == {"done", "failed", "skipped", "waiting"}
    assert "t99" not in text and "odd" not in text
    running = to_mermaid(DIAMOND, statuses={2: "running"})
    assert "    class t2 running" in running.splitlines()
    assert "classDef running fill:" in running


def test_mermaid_of_a_parsed_plan():
    text = to_mermaid(plan(PAPER_PLAN))
    _check_syntax(text)
    assert "    t3[\"$3 math('height difference in meters', con…\"]" in text
    for dep, idx in [(1, 3), (2, 3), (1, 4), (2, 4), (3, 4)]:
        assert f"    t{dep} --> t{idx}" in text


def test_package_exports():
    import llmcompiler.plan as package

    assert set(package.__all__) == {
        "to_networkx", "validate", "waves", "critical_path", "to_mermaid",
        "PlanParser", "END_OF_PLAN", "Task", "Ref", "JOIN", "plan_regex", "plan_gbnf",
    }
    assert package.waves is waves and package.to_mermaid is to_mermaid
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_plan_imports_nothing_else_of_ours_and_loads_networkx_lazily():
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import llmcompiler.plan as package

    folder = Path(package.__file__).parent
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                if name.split(".")[0] == "llmcompiler":
                    assert name.startswith("llmcompiler.plan"), (source.name, name)
    # Import the plan package on its own (a stub parent, so whatever the top-level
    # llmcompiler/__init__.py imports does not count) and check networkx waits.
    code = (
        "import sys, types; root = types.ModuleType('llmcompiler'); "
        f"root.__path__ = [{str(folder.parent)!r}]; sys.modules['llmcompiler'] = root; "
        "import llmcompiler.plan as p; assert 'networkx' not in sys.modules, 'eager'; "
        "p.waves; assert 'networkx' in sys.modules, 'lazy'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
