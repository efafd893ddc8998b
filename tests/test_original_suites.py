"""Suites in the original LLMCompiler's layout (tests/fixtures/original, written for these
tests) load unchanged and run end to end through `run_llm_compiler.py` against the loopback
OpenAI and MediaWiki servers; an original results file evaluates through `evaluate_results.py`.

The fixture folders are named hotpotqa, movie and parallelqa, like the repository's own
`configs/` folders, and the scripts run from the repository root: their `configs.NAME...`
imports must reach the fixture, not ours.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from llmcompiler.evaluation.suite import SuiteContext, load_suite
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.testing import OpenAIServer, WikipediaServer
from llmcompiler.tools import as_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "original" / "configs"

PAGES = {
    "Quill Tower": "The Quill Tower was built in 1620. It stands in Ashford.",
    "Ink Bridge": "The Ink Bridge was built in 1790. It crosses the Lark.",
    "Hill A": "Hill A is 240 metres high.",
    "Hill B": "Hill B is 190 metres high.",
}
QUESTIONS = [
    {"id": "1", "question": "Is the Quill Tower older than the Ink Bridge?", "answer": "yes"},
    {"id": "2", "question": "How much higher is Hill A than Hill B?", "answer": "50"},
]
ENTITIES = {"1": ["Quill Tower", "Ink Bridge"], "2": ["Hill A", "Hill B"]}


async def run_script(script: str, *args: str, env: dict | None = None) -> tuple[int, str, str]:
    """`python SCRIPT ARGS` from the repository root, with no provider variables of ours."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_"))}
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / script), *args, cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


def _text(body: dict) -> str:
    return "\n".join(str(m.get("content")) for m in body["messages"])


def _qid(body: dict) -> str:
    asked = re.findall(r"Question: (.*)", body["messages"][-1]["content"])[-1].strip()
    return next(q["id"] for q in QUESTIONS if q["question"] == asked)


def _plan(body: dict, *, math: bool = False) -> str:
    entities = ENTITIES[_qid(body)]
    lines = [f'{i}. search("{e}")' for i, e in enumerate(entities, start=1)]
    if math:
        lines.append('3. math("difference in metres", context=["$1", "$2"])')
    return "\n".join(lines) + f"\n{len(lines) + 1}. join()<END_OF_PLAN>"


def _role(body: dict) -> str:
    system = body["messages"][0]["content"]
    if system.startswith("You plan how to answer"):
        return "planner"
    if system.startswith("You read the results"):
        return "joiner"
    if system.startswith("You answer a question step by step"):
        return "react"
    return "math"


def _dataset(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "questions.json"
    path.write_text(json.dumps([q for q in QUESTIONS if q["id"] in ids]))
    return path


async def _bench(llm, wiki, suite: str, dataset: Path, store: Path, *extra: str) -> tuple[int, str, str]:
    return await run_script(
        "run_llm_compiler.py",
        "--config", str(FIXTURES / suite), "--store", str(store), "--dataset", str(dataset),
        "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url, "--stream", *extra,
        env={"OPENAI_API_KEY": "test-key"},
    )  # fmt: skip


def _bodies(llm, role: str) -> list[dict]:
    return [r.json for r in llm.requests if r.json.get("messages") and _role(r.json) == role]


async def test_hotpotqa_style_suite_runs_unchanged(tmp_path):
    """`tools = [...]` at import, PLANNER_PROMPT / OUTPUT_PROMPT through CONFIGS['prompts'],
    `configs.hotpotqa.*` imports: the fixture's prompts reach the models, its search tool
    reaches the MediaWiki server, the default_model is the fixture's."""

    def respond(body: dict) -> str:
        if _role(body) == "planner":
            return _plan(body)
        return "Thought: 1620 is before 1790.\nAction: Finish(yes)"

    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 20)
        store = tmp_path / "results.json"
        code, out, err = await _bench(llm, wiki, "hotpotqa", _dataset(tmp_path, ["1"]), store)
        assert code == 0, err
        planner, joiner = _bodies(llm, "planner"), _bodies(llm, "joiner")
        assert "FIXTURE-SEARCH" in _text(planner[0]) and 'search("Quill Tower")' in _text(planner[0])
        assert "FIXTURE-JOINER-GPT" in _text(joiner[0]) and "built in 1620" in _text(joiner[0])
        assert {r.json.get("model") for r in llm.requests if r.json} == {"fixture-model"}
        assert wiki.requests
    record = json.loads(store.read_text())["1"]
    assert record["answer"] == "yes" and record["label"] == "yes" and record["error"] is None
    assert "warning" not in err


async def test_max_replans_counts_planning_rounds(tmp_path):
    """An original-style `max_replans: 1` is one plan (the hotpotqa fixture) and `2` is two
    (the movie fixture, whose generate_tools(args) keeps each page's first sentence)."""

    def respond(body: dict) -> str:
        if _role(body) == "planner":
            return _plan(body)
        if "Observation" in _text(body) and len(_bodies_seen) >= 1:
            return "Thought: settled.\nAction: Finish(yes)"
        _bodies_seen.append(body)
        return "Thought: not enough.\nAction: Replan(look again)"

    _bodies_seen: list[dict] = []
    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 20)
        code, _, err = await _bench(llm, wiki, "hotpotqa", _dataset(tmp_path, ["1"]), tmp_path / "one.json")
        assert code == 0, err
        assert len(_bodies(llm, "planner")) == 1  # the original's loop: range(max_replans) rounds
        record = json.loads((tmp_path / "one.json").read_text())["1"]
        assert not record["answer"] and "after the last allowed round" in record["error"]

    _bodies_seen.clear()
    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 20)
        code, _, err = await _bench(llm, wiki, "movie", _dataset(tmp_path, ["1"]), tmp_path / "two.json")
        assert code == 0, err
        assert len(_bodies(llm, "planner")) == 2
        first_join = _text(_bodies(llm, "joiner")[0])
        assert "FIXTURE-MOVIE-JOINER" in first_join
        assert "built in 1620." in first_join and "Ashford" not in first_join  # one_sentence=True
    assert json.loads((tmp_path / "two.json").read_text())["1"]["answer"] == "yes"


async def test_parallelqa_style_math_chain_runs(tmp_path):
    """generate_tools(args, model_name) with src.chains.llm_math_chain.LLMMathChain and
    src.utils.model_utils.get_model: the math tool asks the run's model and evaluates."""

    def respond(body: dict) -> str:
        role = _role(body)
        if role == "planner":
            return _plan(body, math=True)
        if role == "math":
            assert "240 metres" in _text(body)
            return "```text\n240 - 190\n```"
        return "Thought: the difference is known.\nAction: Finish(50)"

    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 20)
        store = tmp_path / "results.json"
        code, _, err = await _bench(llm, wiki, "parallelqa", _dataset(tmp_path, ["2"]), store)
        assert code == 0, err
        assert "Observation: 50" in _text(_bodies(llm, "joiner")[0])
    record = json.loads(store.read_text())["2"]
    assert record["answer"] == "50" and record["error"] is None


async def test_react_style_suite_runs_with_react(tmp_path):
    """A `*_react` folder: CONFIGS['prompt'] holding langchain PromptTemplates (served from
    langchain-core), a sync `Search` tool on DocstoreExplorer.search."""

    def respond(body: dict) -> str:
        assert _role(body) == "react"
        assert "FIXTURE-REACT-GPT" in _text(body) and "{input}" not in _text(body)
        steps = body["messages"][-1]["content"].count("Observation:")
        entities = ENTITIES[_qid(body)]
        if steps < len(entities):
            return f'Thought: next.\nAction: Search("{entities[steps]}")'
        return "Thought: 1620 is before 1790.\nAction: Finish(yes)"

    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 20)
        store = tmp_path / "react.json"
        code, _, err = await _bench(llm, wiki, "hotpotqa_react", _dataset(tmp_path, ["1"]), store, "--react")
        assert code == 0, err
        assert len(wiki.requests) >= 2 and "Unclosed" not in err
    record = json.loads(store.read_text())["1"]
    assert record["answer"] == "yes" and record["error"] is None and record["method"] == "react"


# -- loading, in process -------------------------------------------------------------------


def _leftovers() -> set[str]:
    return {n for n in sys.modules if n == "src" or n.startswith(("src.", "configs."))}


def test_loading_leaves_no_src_or_configs_modules_behind():
    before = _leftovers()
    for name in ("hotpotqa", "movie", "parallelqa"):
        suite = load_suite(FIXTURES / name)
        assert suite.original and suite.warnings == []
        assert suite.prompts()[0].startswith("Question:")
        assert "FIXTURE-JOINER-LLAMA" in load_suite(FIXTURES / "hotpotqa").prompts(llama=True)[1]
    assert _leftovers() == before
    assert [load_suite(FIXTURES / n).replans() for n in ("hotpotqa", "movie")] == [0, 1]
    assert set(as_tools(load_suite(FIXTURES / "parallelqa").tools(SuiteContext()))) == {"search", "math"}


def test_configs_imported_before_are_restored(monkeypatch):
    """The repository's own `configs` package, imported before, is what `configs` is after."""
    import importlib

    monkeypatch.syspath_prepend(str(ROOT))
    ours = importlib.import_module("configs.hotpotqa.configs")
    suite = load_suite(FIXTURES / "hotpotqa")
    assert "FIXTURE-JOINER-GPT" in suite.prompts()[1]
    assert sys.modules["configs.hotpotqa.configs"] is ours and ours.CONFIGS["name"] == "hotpotqa"


def _copy(name: str, target: Path) -> Path:
    folder = target / "configs" / name
    folder.mkdir(parents=True)
    for file in (FIXTURES / name).glob("*.py"):
        (folder / file.name).write_text(file.read_text())
    return folder


def test_a_real_src_package_is_not_shadowed(tmp_path, monkeypatch):
    folder = _copy("hotpotqa", tmp_path / "suite")
    mine = tmp_path / "project" / "src"
    mine.mkdir(parents=True)
    (mine / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(mine.parent))
    try:
        with pytest.raises(ConfigurationError, match=r"No module named 'src\..*the src package at .*project/src/__init__.py is imported instead"):
            load_suite(folder)
    finally:
        sys.modules.pop("src", None)  # the user's, imported by the suite; gone with its sys.path entry


def test_what_the_original_would_refuse_or_load_empty(tmp_path):
    folder = _copy("hotpotqa", tmp_path)
    configs = (folder / "configs.py").read_text()
    (folder / "configs.py").write_text(configs.replace('"max_replans": 1', '"max_replans": 0'))
    with pytest.raises(ConfigurationError, match="max_replans is 0; in an original-style suite it counts planning"):
        load_suite(folder)
    folder = _copy("hotpotqa", tmp_path / "second")  # a loaded folder's files are not read again in one process
    (folder / "gpt_prompts.py").write_text("PLANNER_PROMPT = ''\nOUTPUT_PROMPT = 'x'\n")
    warnings = load_suite(folder).warnings
    assert warnings == [f"warning: {folder}/configs.py: CONFIGS['prompts']['gpt']['planner_prompt'] is empty or missing"]


def test_imports_of_a_renamed_folder_say_what_to_change(tmp_path):
    folder = tmp_path / "configs" / "renamed"
    folder.mkdir(parents=True)
    for file in (FIXTURES / "hotpotqa").glob("*.py"):
        (folder / file.name).write_text(file.read_text())
    with pytest.raises(ConfigurationError, match=r"No module named 'configs.hotpotqa'.*configs\.renamed\.NAME"):
        load_suite(folder)


def test_our_suite_with_original_prompt_names_and_empty_examples(tmp_path):
    (tmp_path / "tools.py").write_text("def get_tools(context):\n    return []\n")
    assert load_suite(tmp_path).warnings == [
        f"warning: the suite {str(tmp_path)!r} has no gpt_prompts.py: the planner and joiner get no examples"
    ]
    tmp_path = tmp_path / "with_prompts"  # a loaded folder is not read again in one process
    tmp_path.mkdir()
    (tmp_path / "tools.py").write_text("def get_tools(context):\n    return []\n")
    (tmp_path / "gpt_prompts.py").write_text("PLANNER_PROMPT = 'plan'\nOUTPUT_PROMPT = 'join'\n")
    suite = load_suite(tmp_path)
    assert not suite.original and suite.prompts() == ("plan", "join") and suite.warnings == []
    (tmp_path / "llama_prompts.py").write_text("OTHER = 1\n")
    assert len(load_suite(tmp_path).warnings) == 2


async def test_an_original_results_file_evaluates(tmp_path):
    """A file as the original run_llm_compiler.py wrote it: `stats: null`, "ERROR" answers,
    --k larger than the file."""
    path = tmp_path / "original.json"
    path.write_text(json.dumps({
        "0": {"question": "a", "label": "yes", "answer": "Yes.", "time": 1.0, "stats": None},
        "1": {"question": "b", "label": "3.0", "answer": "3.2", "time": 2.0, "stats": None},
        "2": {"question": "c", "label": "Paris", "answer": "ERROR", "time": 3.0, "stats": None},
    }))  # fmt: skip
    code, out, err = await run_script("evaluate_results.py", "--file", str(path), "--k", "10", "--detail")
    assert code == 0, err
    assert "Raw: 2 / 3 = 0.6667" in out and "Mean time: 2" in out and "Average input tokens" not in out
    assert "the original script printed Raw: 2 / 10 = 0.2" in out
    assert "Errors: 1 (2)" in out and "2: ERROR <> Paris" in out
