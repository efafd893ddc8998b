"""`llmcompiler memory list|show|clear|export` (llmcompiler.memory.command.main)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.llm import ScriptedModel
from llmcompiler.memory import SolutionMemory
from llmcompiler.memory.command import main


@tool
def search(entity: str) -> str:
    """Look an entity up."""
    return f"{entity} is a mountain."


async def remember(path, question: str, suite: str) -> None:
    agent = LLMCompiler(
        tools=[search],
        planner=ScriptedModel([f'1. search("{question}")\n2. join()<END_OF_PLAN>']),
        joiner=ScriptedModel(["Thought: done.\nAction: Finish(a mountain)"]),
    )
    result = await agent.ainvoke(question)
    with SolutionMemory(path) as memory:
        assert await memory.aremember(question, result, suite=suite, model="gpt-4o-mini") is not None


@pytest.fixture
async def stored(tmp_path):
    path = tmp_path / "memory.sqlite3"
    await remember(path, "What is K2?", "general")
    await remember(path, "What is Everest? " + "very " * 30 + "long", "hotpotqa")
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(stored, capsys):
    code, out, err = run(capsys, "list", "--memory", str(stored))
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0].split() == ["ID", "SUITE", "AGENT", "MODEL", "STORED", "QUESTION"]
    assert "What is K2?" in lines[1] and "general" in lines[1] and "gpt-4o-mini" in lines[1]
    assert lines[2].endswith("...") and len(lines) == 4 and lines[3] == f"2 solutions in {stored}"
    code, out, _ = run(capsys, "list", "--suite", "general", "--memory", str(stored))
    assert code == 0 and "K2" in out and "Everest" not in out
    code, out, _ = run(capsys, "list", "--suite", "movie", "--memory", str(stored))
    assert code == 0 and out == f"no solutions of suite 'movie' in {stored}\n"


def test_show(stored, capsys):
    code, out, err = run(capsys, "show", "1", "--memory", str(stored))
    assert code == 0 and err == ""
    assert out.startswith("solution 1: suite 'general', llmcompiler with gpt-4o-mini, stored ")
    assert "question: What is K2?\nanswer: a mountain\n" in out
    assert 'plan 1:\n1. search("What is K2?")\n2. join()\n' in out
    assert out.rstrip().endswith('1. search("What is K2?")\n2. join()<END_OF_PLAN>')


def test_clear_and_export(stored, tmp_path, capsys):
    target = tmp_path / "out.jsonl"
    code, out, _ = run(capsys, "export", str(target), "--memory", str(stored))
    assert code == 0 and out == f"wrote 2 solutions to {target}\n"
    assert [json.loads(line)["question"] for line in target.read_text().splitlines()][0] == "What is K2?"
    code, out, _ = run(capsys, "clear", "--suite", "hotpotqa", "--memory", str(stored))
    assert code == 0 and out == f"removed 1 solution of suite 'hotpotqa' from {stored}\n"
    code, out, _ = run(capsys, "clear", "--memory", str(stored))
    assert code == 0 and out == f"removed 1 solution from {stored}\n"
    code, out, _ = run(capsys, "export", str(target), "--memory", str(stored))
    assert code == 0 and target.read_text() == ""


def test_a_memory_not_written_yet_is_empty_and_stays_absent(tmp_path, capsys):
    path = tmp_path / "none.sqlite3"
    assert run(capsys, "list", "--memory", str(path)) == (
        0,
        f"no solutions: {path} does not exist (nothing stored yet)\n",
        "",
    )
    assert run(capsys, "clear", "--memory", str(path))[0] == 0
    target = tmp_path / "out.jsonl"
    assert run(capsys, "export", str(target), "--memory", str(path))[0] == 0 and target.read_text() == ""
    code, _, err = run(capsys, "show", "3", "--memory", str(path))
    assert code == 2 and err == f"error: no solution 3: {path} does not exist (nothing stored yet)\n"
    assert not path.exists()


def test_errors_are_one_line(stored, tmp_path, capsys):
    code, _, err = run(capsys, "show", "9", "--memory", str(stored))
    assert (code, err) == (2, f"error: no solution 9 in {stored}\n")
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"\x00\xff garbage " * 500)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()
    for path, wanted in [(corrupt, "not a readable SQLite file"), (other, "not a memory of solutions")]:
        for argv in (["list"], ["show", "1"], ["clear"], ["export", str(tmp_path / "x.jsonl")]):
            code, out, err = run(capsys, *argv, "--memory", str(path))
            assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: ") and wanted in err
    code, _, err = run(capsys, "export", str(tmp_path / "no" / "such" / "dir.jsonl"), "--memory", str(stored))
    assert code == 2 and err.startswith("error: cannot write ") and err.count("\n") == 1


def test_a_locked_memory_is_one_line(stored, capsys):
    holder = sqlite3.connect(stored, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, out, err = run(capsys, "list", "--memory", str(stored), "--wait", "0.05")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 2 and out == "" and err.count("\n") == 1 and "is locked by another program" in err


@pytest.mark.parametrize(
    "argv, wanted",
    [
        ([], "the following arguments are required"),
        (["forget"], "invalid choice: 'forget'"),
        (["show", "x"], "must be a solution id (a whole number), got 'x'"),
        (["show", "0"], "must be a solution id (a whole number >= 1), got '0'"),
        (["export"], "the following arguments are required: FILE"),
        (["list", "--wait", "-1"], "--wait must be"),
    ],
)
def test_usage_errors_are_one_line(argv, wanted, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.count("\n") == 1 and wanted in err
