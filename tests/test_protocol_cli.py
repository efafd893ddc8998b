"""`ask` and `bench` flags of the model protocol (--max_tokens, --plan_grammar, --no_system_role),
run in-process (in a worker thread, each command has its own event loop) against the loopback
server, so that what reached the server can be read back."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest

from llmcompiler import cli
from llmcompiler.plan.grammar import plan_gbnf
from llmcompiler.testing import OpenAIServer

PLAN = "Thought: one call.\n1. double(21)\n2. join()<END_OF_PLAN>"
FINISH = "Thought: done.\nAction: Finish(42)"


def respond(body: dict) -> str:
    first = body["messages"][0]["content"]
    if first.startswith("You plan how to answer"):
        return PLAN
    if first.startswith("You read the results"):
        return FINISH
    return "Thought: enough.\nAction: Finish(42)"  # ReAct


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "configs.py").write_text('CONFIGS = {"name": "tiny", "default_model": "m", "max_replans": 0}\n')
    (folder / "tools.py").write_text(
        textwrap.dedent(
            '''
            from llmcompiler import tool

            @tool
            def double(x: int) -> int:
                """Twice x."""
                return 2 * x

            TOOLS = [double]
            '''
        )
    )
    dataset = tmp_path / "one.json"
    dataset.write_text(json.dumps([{"id": "q1", "question": "What is twice 21?", "answer": "42"}]))
    return folder, dataset


@pytest.fixture
async def server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    async with OpenAIServer() as running:
        running.script(None, *[respond] * 20)
        yield running


def by_role(server):
    """(planner, joiner) request bodies of the one question asked."""
    bodies = [r.json for r in server.requests]
    planner = [b for b in bodies if b["messages"][0]["content"].startswith("You plan")]
    joiner = [b for b in bodies if b["messages"][0]["content"].startswith("You read")]
    assert len(planner) == len(joiner) == 1
    return planner[0], joiner[0]


async def test_ask_sends_per_role_limits_and_the_system_role_by_default(server, suite, capsys):
    folder, _ = suite
    code = await asyncio.to_thread(cli.main, ["ask", "What is twice 21?", "--config", str(folder), "--base_url", server.base_url])
    assert code == 0 and capsys.readouterr().out.strip() == "42"
    planner, joiner = by_role(server)
    assert (planner["max_tokens"], joiner["max_tokens"]) == (1024, 512)
    assert [m["role"] for m in planner["messages"]] == ["system", "user"]
    assert "grammar" not in planner and "grammar" not in joiner


async def test_ask_flags_reach_the_server(server, suite, capsys):
    folder, _ = suite
    argv = ["ask", "What is twice 21?", "--config", str(folder), "--base_url", server.base_url]
    argv += ["--max_tokens", "300", "--no_system_role", "--plan_grammar", "gbnf"]
    code = await asyncio.to_thread(cli.main, argv)
    assert code == 0 and capsys.readouterr().out.strip() == "42"
    planner, joiner = by_role(server)
    assert planner["max_tokens"] == joiner["max_tokens"] == 300
    assert planner["grammar"] == plan_gbnf(["double"]) and "grammar" not in joiner
    for body in (planner, joiner):
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert "Question: What is twice 21?" in body["messages"][0]["content"]


async def test_bench_flags_reach_the_server(server, suite, tmp_path, capsys):
    folder, dataset = suite
    store = tmp_path / "results.json"
    argv = ["bench", "--config", str(folder), "--dataset", str(dataset), "--store", str(store), "--no_progress"]
    argv += ["--base_url", server.base_url, "--max_tokens", "200", "--no_system_role", "--plan_grammar", "gbnf"]
    code = await asyncio.to_thread(cli.main, argv)
    assert code == 0, capsys.readouterr().err
    assert json.loads(store.read_text())["q1"]["answer"] == "42"
    planner, joiner = by_role(server)
    assert planner["max_tokens"] == joiner["max_tokens"] == 200
    assert planner["grammar"] == plan_gbnf(["double"]) and "grammar" not in joiner
    assert [m["role"] for m in planner["messages"]] == ["user"]


async def test_bench_react_gets_its_own_limit_and_no_grammar(server, suite, tmp_path, capsys):
    folder, dataset = suite
    argv = ["bench", "--config", str(folder), "--dataset", str(dataset), "--store", str(tmp_path / "r.json"), "--react"]
    argv += ["--no_progress", "--base_url", server.base_url, "--plan_grammar", "gbnf"]
    code = await asyncio.to_thread(cli.main, argv)
    assert code == 0, capsys.readouterr().err
    (step,) = [r.json for r in server.requests]
    assert step["max_tokens"] == 512 and "grammar" not in step


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max_tokens", "0"], "--max_tokens"),
        (["--max_tokens", "many"], "--max_tokens"),
        (["--plan_grammar", "lark"], "--plan_grammar"),
    ],
)
def test_bad_flag_values_are_one_line_and_exit_2(flags, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["ask", "q", *flags])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1


def test_a_vllm_grammar_on_another_server_type_is_one_line(suite, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    folder, _ = suite
    code = cli.main(["ask", "q", "--config", str(folder), "--base_url", "http://127.0.0.1:9/v1", "--plan_grammar", "vllm"])
    assert code == 2
    err = capsys.readouterr().err
    assert "vLLM feature" in err and len(err.strip().splitlines()) == 1
