"""benchmarks/real_server.py against the loopback OpenAI server, with scripted plans.

The real runs (llama.cpp, vLLM) are by hand, not in CI: docs/real-server.md. This keeps the
script's core working: what it sends, what it counts, and its report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import real_server as rs  # noqa: E402
from llmcompiler.testing import OpenAIServer  # noqa: E402

MODEL = "tiny-local"
PLANS = {
    rs.QUESTIONS[0].text: '1. population("Paris")\n2. population("Berlin")\n3. add($1, $2)\n4. join()<END_OF_PLAN>',
    rs.QUESTIONS[1].text: "Thought: two lookups\n1. height('Mount Everest')\n2. height('K2')\n3. subtract($1, $2)\n4. join()",
}
ANSWERS = {rs.QUESTIONS[0].text: "5980750", rs.QUESTIONS[1].text: "238"}


def _prompt(body: dict) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    return str(body.get("prompt", ""))


def _question(prompt: str) -> str:
    # the last "Question:" of the prompt is the one asked (the examples come before it)
    asked = prompt.rsplit("Question: ", 1)[1]
    return next(q for q in PLANS if asked.startswith(q))


def reply(body: dict) -> str:
    prompt = _prompt(body)
    question = _question(prompt)
    if "You plan how to answer" in prompt:
        return PLANS[question]
    return f"Thought: the results answer it.\nAction: Finish({ANSWERS[question]})"


def _is_planner(request) -> bool:
    return "You plan how to answer" in _prompt(request.json)


async def test_every_configuration_parses_streams_and_sends_its_grammar() -> None:
    configs = [rs.Config(e, g) for e in rs.ENDPOINTS for g in rs.GRAMMARS] + [rs.Config("chat", "gbnf", stream=False)]
    async with OpenAIServer(chunk_delay=0.002) as server:
        server.script(None, *[reply] * (2 * 2 * len(configs)))
        results = await rs.run_matrix(server.base_url, MODEL, configs, rs.QUESTIONS[:2], max_tokens=300)
        requests = [r for r in server.requests if r.path.endswith("completions")]

    assert list(results) == [c.label for c in configs]
    for label, runs in results.items():
        summary = rs.summarise(runs)
        assert summary["plans_parsed"] == 2 and summary["correct"] == 2 and summary["errors"] == 0, label
        assert summary["started"] == 6
        assert summary["usage_from_server"]  # the loopback server reports usage, streamed or not
        planner = summary["tokens"]["planner"]
        assert planner["recorded_in"] > 0 and planner["ours_in"] > 0 and planner["recorded_out"] > 0
        for run in runs:
            assert [c.role for c in run.calls] == ["planner", "joiner"]
            assert not run.calls[0].recorded["estimated"]
    # streamed: the tool calls started while the plan was still being written
    assert rs.summarise(results["chat, grammar off"])["started_early"] >= 4

    assert len(requests) == 4 * len(configs)
    assert all(r.json["max_tokens"] == 300 for r in requests)
    assert {r.path for r in requests} == {"/v1/chat/completions", "/v1/completions"}
    by_config = [requests[4 * k : 4 * k + 4] for k in range(len(configs))]
    for config, sent in zip(configs, by_config, strict=True):
        for request in sent:
            planner = _is_planner(request)
            assert request.json.get("stream", False) is config.stream
            assert ("grammar" in request.json) == (planner and config.grammar == "gbnf"), config
            assert ("structured_outputs" in request.json) == (planner and config.grammar == "vllm"), config
            if "grammar" in request.json:
                assert request.json["grammar"] == rs.plan_gbnf(rs.TOOL_NAMES)
                assert 'plan-tool ::= "add" | "height" | "multiply" | "population" | "subtract"' in request.json["grammar"]


async def test_a_plan_cut_at_max_tokens_is_an_error_not_a_short_plan() -> None:
    async with OpenAIServer() as server:
        server.script(None, reply, reply)
        run = await rs.run_question(rs.QUESTIONS[0], rs.Config("completions", "off"), server.base_url, MODEL, max_tokens=6)
    assert not run.parsed
    assert run.error is not None and "planner" in run.error
    assert run.started <= 2  # what had parsed before the cut may have run; no more
    assert [c.role for c in run.calls] == ["planner"]


async def test_unknown_tools_and_bad_arguments_count_as_not_parsed() -> None:
    bad = '1. population("Paris")\n2. lookup("Berlin")\n3. add($1, 2 +)\n4. join()'
    async with OpenAIServer() as server:
        server.script(None, bad, "Thought: no.\nAction: Finish(unknown)")
        run = await rs.run_question(rs.QUESTIONS[0], rs.Config("chat", "off"), server.base_url, MODEL, max_tokens=100)
    assert not run.parsed and not run.correct
    assert len(run.task_errors) == 2 and "unknown tool 'lookup'" in run.task_errors[0]


async def test_main_writes_the_report(tmp_path: Path) -> None:
    out, md = tmp_path / "r.json", tmp_path / "r.md"
    async with OpenAIServer() as server:
        server.script(MODEL, *[reply] * 8)  # a named queue: GET /v1/models lists it
        argv = [server.base_url, "--questions", "2", "--endpoints", "chat", "--grammars", "off,gbnf",
                "--out", str(out), "--markdown", str(md), "--quiet", "--server", "loopback"]
        assert await rs.amain(argv) == 0
    report = json.loads(out.read_text())
    assert report["model"] == MODEL and report["server"] == "loopback"
    assert set(report["summary"]) == {"chat, grammar off", "chat, grammar gbnf"}
    assert report["summary"]["chat, grammar gbnf"]["plans_parsed"] == 2
    text = md.read_text()
    assert "| chat, grammar gbnf | 2/2 |" in text and "3. add($1, $2)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["http://127.0.0.1:9/v1", "--grammars", "regex"], "--grammars must be a comma-separated list of off, gbnf, vllm"),
        (["http://127.0.0.1:9/v1", "--questions", "0"], "--questions must be a whole number >= 1"),
        (["http://127.0.0.1:9/v1", "--questions", "9", "--model", "m"], "--questions must be at most 5"),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = rs.main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_server_that_is_not_there_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert rs.main([f"http://127.0.0.1:{port}/v1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot list the models of") and len(err.splitlines()) == 1
