"""`llmcompiler check-suite PATH`: the suite's tools, every example through the runtime's parsers,
one line per problem (file:line), exit status 1 if any. Fixtures in tests/fixtures/check/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.cli import main
from llmcompiler.evaluation.check import check_suite

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "check"


def run(capsys, *paths: str | Path) -> tuple[int, list[str], str]:
    status = main(["check-suite", *map(str, paths)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def problem_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"\S+\.py(:\d+)?: ", line)]


def test_a_good_suite_passes_and_lists_its_tools(capsys):
    status, lines, err = run(capsys, FIXTURES / "good")
    assert status == 0 and err == ""
    assert lines[0] == f"suite cities ({FIXTURES / 'good'})"
    assert "  population(city: str) -> int: Number of inhabitants of a city." in lines
    assert "  add(a: int, b: int) -> int: Sum of two numbers." in lines
    assert problem_lines(lines) == []
    assert lines[-1] == "ok: 2 tools; examples read: 2 planner (gpt), 2 joiner (gpt), 1 ReAct (gpt)"


@pytest.mark.parametrize("suite", ["general", "code", "hotpotqa", "movie", "parallelqa"])
def test_the_packaged_suites_pass(suite, capsys):
    status, lines, _ = run(capsys, suite)
    assert status == 0, "\n".join(lines)
    assert lines[-1].startswith("ok: ") and "planner (gpt)" in lines[-1] and "ReAct (gpt)" in lines[-1]


def test_the_configs_folders_pass(capsys):
    status, lines, _ = run(capsys, *(ROOT / "configs" / name for name in ("hotpotqa", "movie", "parallelqa")))
    assert status == 0 and [line for line in lines if line.startswith("ok: ")] and problem_lines(lines) == []
    assert "planner (llama)" in lines[-1]


def test_an_unknown_tool_fails_with_its_line(capsys):
    status, lines, _ = run(capsys, FIXTURES / "unknown_tool")
    assert status == 1
    prompts = "tests/fixtures/check/unknown_tool/gpt_prompts.py"
    assert problem_lines(lines) == [
        f"{prompts}:6: planner example 1 (gpt): unknown tool 'multiply' (available: add, population): "
        "'3. multiply($1, $2)'",
        f"{prompts}:23: joiner example 1 (gpt): unknown tool 'multiply' (available: add, population): "
        "'3. multiply($1, $2)'",
    ]
    assert lines[-1] == f"2 problems in {FIXTURES / 'unknown_tool'}"
    # the tools are still listed: what the examples should have called
    assert "  add(a: int, b: int) -> int: Sum of two numbers." in lines


def test_a_bad_example_line_fails_with_its_line(capsys):
    status, lines, _ = run(capsys, FIXTURES / "bad_example")
    assert status == 1
    found = problem_lines(lines)
    assert [line.split(": ", 1)[0] for line in found] == [
        "tests/fixtures/check/bad_example/gpt_prompts.py:5",
        "tests/fixtures/check/bad_example/gpt_prompts.py:21",
    ]
    assert all("'Rome' is not a literal" in line and line.endswith("'2. population(Rome)'") for line in found)


def test_a_syntax_error_is_one_line_naming_file_and_line(capsys, tmp_path, monkeypatch):
    # kept as tools.py.broken so that `ruff check .` does not stop at it
    suite = tmp_path / "syntax_error"
    shutil.copytree(FIXTURES / "syntax_error", suite)
    (suite / "tools.py.broken").rename(suite / "tools.py")
    monkeypatch.chdir(tmp_path)
    status, lines, _ = run(capsys, "syntax_error")
    assert status == 1
    assert problem_lines(lines) == ["syntax_error/tools.py:13: syntax error: invalid syntax"]
    assert lines[-1] == "1 problem in syntax_error"


def test_an_original_style_suite_is_checked_with_the_same_parsers(capsys):
    status, lines, _ = run(capsys, FIXTURES / "original")
    assert status == 0, "\n".join(lines)
    assert "  population(city: str) -> int:" in lines
    assert lines[-1] == "ok: 1 tools; examples read: 1 planner (gpt), 1 joiner (gpt)"


def write_suite(folder: Path, planner: str, joiner: str = "", react: str | None = None) -> Path:
    folder.mkdir()
    (folder / "tools.py").write_text((FIXTURES / "good" / "tools.py").read_text())
    (folder / "gpt_prompts.py").write_text(f"PLANNER_EXAMPLES = {planner!r}\nJOINER_EXAMPLES = {joiner!r}\n")
    if react is not None:
        (folder / "react_prompts.py").write_text(f"REACT_EXAMPLES = {react!r}\n")
    return folder


def test_empty_prompts_stray_lines_and_missing_decisions(tmp_path):
    planner = (
        'Question: q?\n1. population("Paris")\nthen add them\n2. join()<END_OF_PLAN>\n###\nQuestion: r?\nThought: x\n'
    )
    joiner = 'Question: q?\n\nPlan and results:\n1. population("Paris")\nObservation: 1\nThought: done.\n###'
    react = (
        'Question: q?\nThought: look.\nAction: population["Paris"]\nObservation: 1\nThought: ok.\nAction: Finish()\n'
    )
    report = check_suite(write_suite(tmp_path / "s", planner, joiner, react))
    messages = [p.message for p in report.problems]
    assert messages == [
        "planner example 1 (gpt): not a plan line (a numbered call or a Thought): 'then add them'",
        "planner example 2 (gpt): the plan calls no tool",
        "joiner example 1 (gpt): no decision the joiner's parser reads (Action: Finish(...) or Replan(...))",
        "ReAct example 1 (gpt): not a tool call: 'population[\"Paris\"]': 'Action: population[\"Paris\"]'",
        "ReAct example 1 (gpt): the last action is not Finish(answer): 'Action: Finish()'",
    ]
    assert [p.line for p in report.problems][0] == 1  # the whole string is on line 1 of gpt_prompts.py
    empty = check_suite(write_suite(tmp_path / "t", "", ""))
    assert [p.message for p in empty.problems] == [
        "the planner (gpt) prompt is empty",
        "the joiner (gpt) prompt is empty",
    ]


def test_a_path_that_is_no_suite_is_status_2(capsys, tmp_path):
    assert main(["check-suite", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_through_the_console_script():
    script = Path(sys.executable).with_name("llmcompiler")
    done = subprocess.run(
        [str(script), "check-suite", "tests/fixtures/check/unknown_tool"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    assert "tests/fixtures/check/unknown_tool/gpt_prompts.py:6: planner example 1 (gpt): unknown tool" in done.stdout
