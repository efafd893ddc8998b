"""Loading tool suites from folders and module paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmcompiler.evaluation import SuiteContext, load_suite
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm import ScriptedModel
from llmcompiler.plan import PlanParser

ROOT = Path(__file__).resolve().parent.parent


def context():
    return SuiteContext(model=ScriptedModel([]), wikipedia_url="http://127.0.0.1:9/w/api.php")


def test_the_general_suite_loads_by_module_path_and_its_examples_parse():
    suite = load_suite("llmcompiler.suites.general")
    assert suite.name == "general"
    assert [t.name for t in suite.tools(context())] == ["search", "math"]
    planner_examples, joiner_examples = suite.prompts()
    assert "Action: Replan(" in joiner_examples and suite.react_examples()
    for example in planner_examples.split("###"):
        lines = [line for line in example.strip().splitlines() if not line.startswith("Question:")]
        if lines:
            parser = PlanParser(["search", "math"])
            tasks = parser.feed("\n".join(lines) + "\n") + parser.close()
            assert tasks and all(t.error is None for t in tasks) and tasks[-1].is_join


def test_a_folder_without_init_loads_and_two_suites_do_not_clash(tmp_path):
    for name, answer in (("one", 1), ("two", 2)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "tools.py").write_text(
            f"def get_tools(context):\n    def answer() -> int:\n        '''The answer.'''\n        return {answer}\n    return [answer]\n"
        )
        (folder / "configs.py").write_text(f"CONFIGS = {{'name': '{name}', 'max_replans': 0}}\n")
    one, two = load_suite(tmp_path / "one"), load_suite(str(tmp_path / "two"))
    assert (one.name, two.name) == ("one", "two")
    assert one.tools(context())[0]() == 1 and two.tools(context())[0]() == 2
    assert one.prompts() == ("", "") and one.setting("max_replans") == 0


def test_the_benchmark_suites_load_from_their_folders():
    for name in ("hotpotqa", "movie", "parallelqa"):
        suite = load_suite(ROOT / "configs" / name)
        assert suite.name == name and suite.setting("dataset") == name
        assert suite.prompts(llama=True)[0] != suite.prompts()[0]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigurationError, match="no such folder"):
        load_suite(tmp_path / "missing")
    with pytest.raises(ConfigurationError, match="not a folder"):
        load_suite("no_such_module_xyz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="has no tools.py"):
        load_suite(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tools.py").write_text("import not_a_real_module_abc\n")
    with pytest.raises(ConfigurationError, match=r"tools.py failed to load: ModuleNotFoundError"):
        load_suite(broken)
