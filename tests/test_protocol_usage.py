"""Usage a server did not report: counted offline, and marked as an estimate wherever shown
(the live view, the trace summary, the evaluation report)."""

from __future__ import annotations

import io
import socket

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.evaluation.report import compare, format_summary, summarize
from llmcompiler.llm import complete, get_model, system, user
from llmcompiler.llm.tokens import count_tokens, counted_usage
from llmcompiler.testing import OpenAIServer
from llmcompiler.trace import load_trace, save_trace
from llmcompiler.trace.summary import summarize_events
from llmcompiler.view import PlainView

LOOPBACK = ("127.0.0.1", "localhost", "::1")


pytestmark = pytest.mark.usefixtures("close_openai_clients")


@pytest.fixture
def offline(monkeypatch):
    """Any connection or name lookup beyond the loopback interface fails, and is recorded."""
    attempts = []
    connect, lookup = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            attempts.append(address)
            raise OSError(f"test is offline: connect to {address}")
        return connect(self, address)

    def guarded_lookup(host, *args, **kwargs):
        if host not in LOOPBACK:
            attempts.append(host)
            raise socket.gaierror(f"test is offline: lookup of {host}")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: guarded_connect(socket.socket(), address))
    return attempts


@tool
async def lookup(city: str) -> int:
    """Population of a city."""
    return {"Paris": 2_102_650, "Rome": 2_746_984}[city]


@tool
def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


PLAN = 'Thought: both at once\n1. lookup("Paris")\n2. lookup("Rome")\n3. add($1, $2)\n4. join()<END_OF_PLAN>'
FINISH = "Thought: the sum is known.\nAction: Finish(4849634)"


def test_counting_never_touches_the_network(offline):
    usage = counted_usage([system("You plan."), user("How many people live in Paris?")], "1. lookup('Paris')", "gpt-4o")
    assert usage.estimated and usage.input_tokens >= 8 and usage.output_tokens >= 2
    assert count_tokens("one two three", "gpt-3.5-turbo") == count_tokens("one two three") >= 3
    assert offline == []


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "not-streamed"])
async def test_a_server_without_usage_gets_offline_estimates(offline, stream):
    async with OpenAIServer(usage=False) as server:
        server.script(None, "one two three four")
        model = get_model("openai", "m", base_url=server.base_url, api_key="k", stream=stream)
        text, usage = await complete(model, [user("count me please")])
    assert text == "one two three four"
    assert usage.estimated and usage.output_tokens >= 4 and usage.input_tokens >= 3
    assert offline == []
    if stream:
        assert server.requests[0].json["stream_options"] == {"include_usage": True}  # asked, not answered


async def run_against(server):
    agent = LLMCompiler(
        tools=[lookup, add],
        planner=get_model("openai", "planner", base_url=server.base_url, api_key="k"),
        joiner=get_model("openai", "joiner", base_url=server.base_url, api_key="k"),
    )
    server.script("planner", PLAN)
    server.script("joiner", FINISH)
    out = io.StringIO()
    result = await agent.ainvoke("q", on_event=PlainView(out))
    assert result.answer == "4849634", result.error
    return result, out.getvalue()


async def test_estimated_tokens_are_marked_in_the_live_view_and_the_trace_summary(offline, tmp_path):
    async with OpenAIServer(usage=False) as server:
        result, shown = await run_against(server)
    assert result.total_usage.estimated
    assert "(estimated: the server reported no usage)" in shown
    assert "~" in shown.split("plan 1 written")[1].splitlines()[0]  # "3 tasks, ~N tokens"

    path = save_trace(result.events, tmp_path / "run.json")
    summary = summarize_events(load_trace(path))
    assert summary.estimated and summary.roles["planner"].estimated
    text = summary.format()
    assert f"~{summary.input_tokens}" in text and "~ estimated: the server reported no usage" in text
    assert offline == []


async def test_reported_tokens_carry_no_mark():
    async with OpenAIServer() as server:
        result, shown = await run_against(server)
    assert not result.total_usage.estimated
    assert "estimated" not in shown and "~" not in shown
    summary = summarize_events(result.events)
    assert not summary.estimated and "estimated" not in summary.format() and "~" not in summary.format()


def record(answer, tokens, *, estimated):
    total = {"input_tokens": tokens, "output_tokens": tokens // 10, "calls": 2}
    return {"answer": answer, "label": "x", "time": 1.0, "stats": {"total": total, "estimated": estimated}}


def test_the_evaluation_report_marks_estimated_tokens():
    exact = summarize({"a": record("x", 100, estimated=False), "b": record("y", 300, estimated=False)})
    mixed = summarize({"a": record("x", 100, estimated=True), "b": record("y", 300, estimated=False)})
    assert exact.n_estimated == 0 and mixed.n_estimated == 1

    plain = format_summary(exact)
    assert "Average input tokens: 200.0" in plain and "estimated" not in plain
    marked = format_summary(mixed)
    assert "Average input tokens: ~200.0" in marked
    assert "Tokens estimated on 1 of 2 records (the server reported no usage; counted here)" in marked

    side_by_side = compare(mixed, exact, names=("local", "api"))
    assert "~200" in side_by_side and "from estimated counts" in side_by_side
    assert "~" not in compare(exact, exact) and "from estimated counts" not in compare(exact, exact)
