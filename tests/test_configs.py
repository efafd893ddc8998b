"""The benchmark suites (llmcompiler/suites/, re-exported by configs/): settings, tools and every few-shot example.

Each suite file is imported by path, as the suite loader does, and every example is checked
against the runtime's own parsers: planner examples must parse into maximally parallel plans
of the suite's tools, joiner examples must end in a readable decision, ReAct examples must
take one valid action per step. No network, no model, no dataset download: the check that
no example was copied from a benchmark dataset runs only where the reference copies exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import types
from pathlib import Path

import pytest

from llmcompiler.agents.joiner import parse_decision
from llmcompiler.plan import PlanParser, waves
from llmcompiler.plan.task import collect_refs
from llmcompiler.tools import Tool

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
SUITES_DIR = Path(__file__).resolve().parent.parent / "llmcompiler" / "suites"
SUITES = ("hotpotqa", "movie", "parallelqa")
TOOL_NAMES = {"hotpotqa": {"search"}, "movie": {"search"}, "parallelqa": {"search", "math"}}
DATASETS_DIR = Path(os.environ.get("LLMCOMPILER_DATASETS_DIR", "/work/shared/datasets"))
DATASET_FILES = ("hotpotqa_comparison.json", "movie_recommendations_formatted.json", "parallelqa_dataset.json")

_CALL_LINE = re.compile(r"\d+\.\s")
_MOVIE_HEAD = "Find a movie similar to "


# -- loading -------------------------------------------------------------------------


def load(suite: str, part: str) -> types.ModuleType:
    return load_file(SUITES_DIR / suite / f"{part}.py")


def load_file(path: Path) -> types.ModuleType:
    assert path.is_file(), f"missing {path}"
    spec = importlib.util.spec_from_file_location(f"_test_configs_{path.parent.name}_{path.stem}_{path.parent.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def split_examples(text: str) -> list[str]:
    return [chunk.strip("\n") for chunk in text.split("###") if chunk.strip()]


def prompt_texts(suite: str) -> dict[str, str]:
    """Every example string of a suite, by `file.NAME`."""
    texts = {}
    for part, names in (
        ("gpt_prompts", ("PLANNER_EXAMPLES", "JOINER_EXAMPLES")),
        ("llama_prompts", ("PLANNER_EXAMPLES", "JOINER_EXAMPLES")),
        ("react_prompts", ("REACT_EXAMPLES", "REACT_LLAMA_EXAMPLES")),
    ):
        module = load(suite, part)
        for name in names:
            texts[f"{part}.{name}"] = getattr(module, name)
    return texts


def split_question(example: str, *, stop: re.Pattern[str]) -> tuple[str, list[str]]:
    """(question without `Question: `, the remaining lines); the question may span lines
    (movie options) and ends at the first line matching `stop`."""
    lines = example.splitlines()
    assert lines[0].startswith("Question: "), f"an example must start with 'Question: ': {lines[0]!r}"
    end = next((i for i, line in enumerate(lines) if i > 0 and stop.match(line)), len(lines))
    question = "\n".join(lines[:end]).removeprefix("Question: ").strip()
    return question, lines[end:]


_PLAN_START = re.compile(r"Thought:|\d+\.\s")
_JOINER_START = re.compile(r"$|Plan and results:")
_REACT_START = re.compile(r"Thought:|Action:")


def movie_titles(question: str) -> tuple[list[str], list[str]]:
    """(the films the answer should resemble, the options) of a movie question."""
    head, _, options = question.partition("\nOptions:\n")
    assert head.startswith(_MOVIE_HEAD), head
    films = [t.strip() for t in head[len(_MOVIE_HEAD) :].split(", ")]
    return films, [o.strip() for o in options.splitlines() if o.strip()]


def parse_plan(lines: list[str], tools: set[str]):
    parser = PlanParser(tools, first_id=1)
    tasks = parser.feed("\n".join(lines) + "\n") + parser.close()
    return parser, tasks


def search_queries(tasks) -> list[str]:
    out = []
    for task in tasks:
        if task.tool == "search":
            (query,) = [*task.args, *task.kwargs.values()]
            out.append(query)
    return out


def tool_names_of(suite: str) -> set[str]:
    return {tool.name for tool in make_tools(suite)}


# -- tools, built with the real SuiteContext (no network: nothing is searched) -----------


def make_tools(suite: str) -> list[Tool]:
    from llmcompiler.evaluation.suite import SuiteContext
    from llmcompiler.llm import ScriptedModel

    context = SuiteContext(model=ScriptedModel([]), wikipedia_url="http://127.0.0.1:9/w/api.php")
    return list(load(suite, "tools").get_tools(context))


# -- settings and tools ----------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_configs(suite):
    configs = load(suite, "configs").CONFIGS
    assert {"name", "dataset", "default_model", "max_replans", "react_max_steps", "description"} <= set(configs)
    assert configs["name"] == suite
    assert configs["dataset"] == suite
    assert configs["default_model"] == "gpt-3.5-turbo-1106"
    for key, least in (("max_replans", 0), ("react_max_steps", 1)):
        value = configs[key]
        assert isinstance(value, int) and not isinstance(value, bool) and value >= least, (key, value)
    description = configs["description"]
    assert isinstance(description, str) and description.strip() and "\n" not in description


@pytest.mark.parametrize("suite", SUITES)
def test_tools_have_planner_descriptions(suite):
    tools = make_tools(suite)
    assert {t.name for t in tools} == TOOL_NAMES[suite]
    by_name = {t.name: t for t in tools}
    search = by_name["search"]
    assert "first paragraph" in search.description and "Wikipedia" in search.description
    if "math" in by_name:
        math = by_name["math"]
        assert "context" in math.description and "every calculation" in math.description
    for tool in tools:
        # a description starting with `name(` would replace the signature in the prompt
        assert not tool.description.strip().startswith(f"{tool.name}(")
        assert tool.prompt_line().startswith(f"{tool.name}(")


@pytest.mark.parametrize("suite", SUITES)
def test_tools_module_imports_without_the_tool_implementations(suite):
    # tools.py imports its building blocks inside get_tools, so loading it needs nothing
    module = load(suite, "tools")
    assert callable(module.get_tools)


@pytest.mark.parametrize("suite", SUITES)
def test_react_step_limit_covers_the_examples(suite):
    steps = max(
        sum(1 for line in example.splitlines() if line.startswith("Action:"))
        for example in split_examples(load(suite, "react_prompts").REACT_EXAMPLES)
    )
    assert load(suite, "configs").CONFIGS["react_max_steps"] >= steps + 2


# -- shape of every example string ------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_every_example_ends_with_the_delimiter(suite):
    for name, text in prompt_texts(suite).items():
        assert isinstance(text, str) and text.strip(), name
        assert text.rstrip().endswith("###"), f"{suite} {name}: every example ends with ###"
        assert not text.startswith("\n"), name
        for line in text.splitlines():
            assert line == line.rstrip(), f"{suite} {name}: trailing whitespace in {line!r}"
            assert "\t" not in line, name
        examples = split_examples(text)
        assert examples, name
        if "REACT" in name:
            assert 2 <= len(examples) <= 3, (name, len(examples))
        elif name.startswith("gpt_prompts"):
            assert 3 <= len(examples) <= 4, (name, len(examples))
        else:
            assert 2 <= len(examples) <= 4, (name, len(examples))


@pytest.mark.parametrize("suite", SUITES)
def test_llama_examples_are_no_longer_than_gpt_ones(suite):
    gpt, llama = load(suite, "gpt_prompts"), load(suite, "llama_prompts")
    for name in ("PLANNER_EXAMPLES", "JOINER_EXAMPLES"):
        assert len(getattr(llama, name)) <= len(getattr(gpt, name)), name
    react = load(suite, "react_prompts")
    assert len(react.REACT_LLAMA_EXAMPLES) <= len(react.REACT_EXAMPLES)


# -- planner examples ----------------------------------------------------------------


def planner_examples(suite: str):
    for part in ("gpt_prompts", "llama_prompts"):
        for example in split_examples(load(suite, part).PLANNER_EXAMPLES):
            question, lines = split_question(example, stop=_PLAN_START)
            yield part, question, lines


@pytest.mark.parametrize("suite", SUITES)
def test_planner_examples_parse_into_maximally_parallel_plans(suite):
    tools = tool_names_of(suite)
    for part, question, lines in planner_examples(suite):
        where = f"{suite} {part}: {question[:60]!r}"
        assert lines and lines[-1].rstrip().endswith("join()<END_OF_PLAN>"), where
        for line in lines:
            assert _CALL_LINE.match(line) or line.startswith("Thought: "), f"{where}: stray line {line!r}"
        parser, tasks = parse_plan(lines, tools)
        assert parser.ended, where
        assert [t.error for t in tasks if t.error] == [], where
        assert [t.idx for t in tasks] == list(range(1, len(tasks) + 1)), where
        assert tasks[-1].is_join and not any(t.is_join for t in tasks[:-1]), where
        work = tasks[:-1]
        assert work, where
        # dependencies are exactly what the arguments reference
        for task in work:
            assert set(task.deps) == collect_refs((task.args, task.kwargs)), (where, task)
        layers = waves(work)
        # everything that references nothing starts at once, in the first wave
        assert layers[0] == sorted(t.idx for t in work if not t.deps), where
        # searches never wait for anything, and no entity is looked up twice
        searches = [t for t in work if t.tool == "search"]
        assert searches and all(not t.deps for t in searches), where
        queries = search_queries(work)
        assert len(queries) == len(set(queries)), f"{where}: duplicate search"
        # every result is used: by a later call or, when nothing uses it, by the reader
        if suite == "parallelqa":
            used = set().union(*(t.deps for t in work))
            assert all(s.idx in used for s in searches), f"{where}: a search result no math call uses"
            assert all(t.deps for t in work if t.tool == "math"), where
            assert len(layers) <= 3, f"{where}: search -> math -> combine is the longest chain"
            assert 2 <= len(searches) <= 5, where
        else:
            assert len(layers) == 1, f"{where}: only independent searches"


@pytest.mark.parametrize("suite", SUITES)
def test_planner_examples_are_valid_python_call_syntax(suite):
    import ast

    for _part, _question, lines in planner_examples(suite):
        for line in lines:
            if _CALL_LINE.match(line):
                call = line.split(".", 1)[1].strip().removesuffix("<END_OF_PLAN>")
                ast.parse(call, mode="eval")  # raises on anything that is not one Python call


def test_parallelqa_planner_examples_show_the_patterns():
    tools = tool_names_of("parallelqa")
    for part in ("gpt_prompts", "llama_prompts"):
        plans = []
        for example in split_examples(load("parallelqa", part).PLANNER_EXAMPLES):
            _, lines = split_question(example, stop=_PLAN_START)
            plans.append(parse_plan(lines, tools)[1][:-1])
        maths = [t for plan in plans for t in plan if t.tool == "math"]
        # searches feed math through `context=[...]`, sometimes two results at once
        assert any(len(t.kwargs.get("context") or []) >= 2 for t in maths), part
        # a `$N` inside a longer string, formatted into the problem
        assert any(isinstance(t.args[0], str) and t.deps and "$" in t.args[0] for t in maths), part
        # independent math calls in parallel, and a final one over earlier math results
        math_ids = {t.idx for t in maths}
        assert any(set(t.deps) & math_ids for t in maths), part
        assert any(len([t for t in plan if t.tool == "math" and not set(t.deps) & math_ids]) >= 2 for plan in plans)
        if part == "gpt_prompts":
            branches = {len([t for t in plan if t.tool == "search"]) for plan in plans}
            assert min(branches) == 2 and max(branches) == 5, branches


def test_movie_planner_examples_search_every_movie_once():
    tools = tool_names_of("movie")
    for _part, question, lines in planner_examples("movie"):
        films, options = movie_titles(question)
        assert len(films) == 4 and len(options) == 4, question
        _, tasks = parse_plan(lines, tools)
        assert sorted(search_queries(tasks)) == sorted(films + options), question
        assert [t.tool for t in tasks] == ["search"] * 8 + ["join"], question


# -- joiner examples -----------------------------------------------------------------


def joiner_examples(suite: str):
    for part in ("gpt_prompts", "llama_prompts"):
        for example in split_examples(load(suite, part).JOINER_EXAMPLES):
            yield part, example


def check_answer(suite: str, question: str, answer: str) -> None:
    if suite == "movie":
        assert answer in movie_titles(question)[1], f"{answer!r} is not one of the options"
    elif suite == "hotpotqa":
        assert answer in ("yes", "no") or answer in question, answer
    else:
        try:
            float(answer)
        except ValueError:
            assert answer in question, answer


@pytest.mark.parametrize("suite", SUITES)
def test_joiner_examples_follow_the_joiner_format(suite):
    tools = tool_names_of(suite)
    for part in ("gpt_prompts", "llama_prompts"):
        actions = []
        for example in split_examples(load(suite, part).JOINER_EXAMPLES):
            where = f"{suite} {part}: {example[:70]!r}"
            question, rest = split_question(example, stop=_JOINER_START)
            # the joiner's user message: `Question: ...`, a blank line, `Plan and results:`
            assert rest[:2] == ["", "Plan and results:"], where
            body = rest[2:]
            thought_at = max(i for i, line in enumerate(body) if line.startswith("Thought: "))
            calls, decision_lines = body[:thought_at], body[thought_at:]
            # call / observation pairs, in plan order
            assert len(calls) % 2 == 0 and calls, where
            call_lines, observations = calls[0::2], calls[1::2]
            assert all(_CALL_LINE.match(c) for c in call_lines), where
            assert all(o.startswith("Observation: ") and o[len("Observation: ") :].strip() for o in observations), where
            _, tasks = parse_plan(call_lines, tools)
            assert len(tasks) == len(call_lines) and not [t.error for t in tasks if t.error], where
            assert [t.idx for t in tasks] == list(range(1, len(tasks) + 1)), where
            # the reply: one Thought line and one Action line
            assert len(decision_lines) == 2 and decision_lines[1].startswith("Action: "), where
            decision = parse_decision("\n".join(decision_lines))
            assert decision.action in ("finish", "replan") and decision.content.strip(), where
            assert decision.thought, where
            if decision.action == "finish":
                check_answer(suite, question, decision.content)
            else:
                assert any(o.startswith("Observation: ERROR:") for o in observations), f"{where}: replan without a failure"
            if suite == "movie":
                films, options = movie_titles(question)
                assert sorted(search_queries(tasks)) == sorted(films + options), where
            actions.append(decision.action)
        assert "finish" in actions and "replan" in actions, (suite, part, actions)


# -- ReAct examples ------------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("name", ["REACT_EXAMPLES", "REACT_LLAMA_EXAMPLES"])
def test_react_examples_take_one_valid_action_per_step(suite, name):
    tools = tool_names_of(suite)
    for example in split_examples(getattr(load(suite, "react_prompts"), name)):
        question, lines = split_question(example, stop=_REACT_START)
        where = f"{suite} {name}: {question[:60]!r}"
        # Thought, Action, Observation, ... Thought, Action: Finish(...)
        assert len(lines) % 3 == 2, where
        for i in range(0, len(lines), 3):
            assert lines[i].startswith("Thought: ") and lines[i + 1].startswith("Action: "), (where, lines[i : i + 2])
        steps = [lines[i + 1].removeprefix("Action: ") for i in range(0, len(lines), 3)]
        for step, call in enumerate(steps[:-1], start=1):
            assert lines[3 * step - 1].startswith("Observation: "), where
            parser = PlanParser(tools, first_id=step, known_ids=range(1, step))
            tasks = parser.feed(f"{step}. {call}\n") + parser.close()
            assert len(tasks) == 1 and tasks[0].error is None and tasks[0].tool in tools, (where, call)
        assert steps[-1].startswith("Finish("), where
        decision = parse_decision("\n".join(lines[-2:]))
        assert decision.action == "finish" and decision.content.strip(), where
        check_answer(suite, question, decision.content)
        if suite == "movie":
            films, options = movie_titles(question)
            queries = [re.match(r'search\("(.*)"\)$', s).group(1) for s in steps[:-1]]
            assert sorted(queries) == sorted(films + options), where


# -- nothing copied from the datasets -----------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module")
def dataset_records():
    paths = [DATASETS_DIR / name for name in DATASET_FILES]
    if not all(p.is_file() for p in paths):
        pytest.skip(f"the reference datasets are not in {DATASETS_DIR}")
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}


def _example_questions(text: str) -> list[str]:
    out = []
    for example in split_examples(text):
        stop = re.compile(r"$|Plan and results:|Thought:|Action:|\d+\.\s")
        out.append(split_question(example, stop=stop)[0])
    return out


@pytest.mark.parametrize("suite", SUITES)
def test_no_example_is_taken_from_a_dataset(suite, dataset_records):
    questions = [_normal(r["question"]) for records in dataset_records.values() for r in records]
    for name, text in prompt_texts(suite).items():
        whole = _normal(text)
        for question in _example_questions(text):
            q = _normal(question)
            assert not any(q in d for d in questions), f"{suite} {name}: {question!r} is in a dataset"
        assert not any(d in whole for d in questions), f"{suite} {name} contains a dataset question"


def test_movie_examples_use_no_dataset_title(dataset_records):
    titles = set()
    for record in dataset_records["movie_recommendations_formatted.json"]:
        films, options = movie_titles(record["question"].strip())
        titles.update(films + options)
    for name, text in prompt_texts("movie").items():
        for question in _example_questions(text):
            films, options = movie_titles(question)
            assert not (set(films + options) & titles), f"movie {name}: {set(films + options) & titles}"


# -- the suites load through the project's own loader, where it exists -----------------


@pytest.mark.parametrize("suite", SUITES)
def test_suite_loader_reads_the_folder(suite):
    loader = pytest.importorskip("llmcompiler.evaluation.suite")
    loaded = loader.load_suite(CONFIGS_DIR / suite)
    assert loaded.name == suite
    assert loaded.setting("max_replans") == load(suite, "configs").CONFIGS["max_replans"]
    assert loaded.prompts() == (load(suite, "gpt_prompts").PLANNER_EXAMPLES, load(suite, "gpt_prompts").JOINER_EXAMPLES)
    assert loaded.prompts(llama=True)[0] == load(suite, "llama_prompts").PLANNER_EXAMPLES
    assert loaded.react_examples(llama=True) == load(suite, "react_prompts").REACT_LLAMA_EXAMPLES


@pytest.mark.parametrize("suite", SUITES)
def test_configs_folder_is_the_packaged_suite(suite):
    """configs/NAME keeps `--config configs/NAME` working without a second copy to drift."""
    for part in ("configs", "tools", "gpt_prompts", "llama_prompts", "react_prompts"):
        packaged = importlib.import_module(f"llmcompiler.suites.{suite}.{part}")
        shim = load_file(CONFIGS_DIR / suite / f"{part}.py")
        names = {n for n in vars(packaged) if not n.startswith("_")}
        assert names and names <= set(vars(shim)), part
        for name in names:
            assert getattr(shim, name) is getattr(packaged, name), f"{part}.{name}"
    loaded = pytest.importorskip("llmcompiler.evaluation.suite").load_suite(CONFIGS_DIR / suite)
    assert loaded.configs == load(suite, "configs").CONFIGS and loaded.prompts() == (
        load(suite, "gpt_prompts").PLANNER_EXAMPLES,
        load(suite, "gpt_prompts").JOINER_EXAMPLES,
    )


# -- the README documents the layout as it is ---------------------------------------------


def test_readme_documents_the_layout():
    readme = (CONFIGS_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("configs.py", "tools.py", "gpt_prompts.py", "llama_prompts.py", "react_prompts.py"):
        assert name in readme
    for name in ("PLANNER_EXAMPLES", "JOINER_EXAMPLES", "REACT_EXAMPLES", "REACT_LLAMA_EXAMPLES", "get_tools"):
        assert name in readme
    for suite in SUITES:
        assert f"`{suite}/`" in readme
        configs = load(suite, "configs").CONFIGS
        for key in configs:
            assert f'"{key}"' in readme, key
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{suite}/`"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-2:] == [str(configs["max_replans"]), str(configs["react_max_steps"])], row
