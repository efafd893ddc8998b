"""The model protocol against servers that behave like real ones: completion limits, streams
that end without a finish reason, grammars and chat templates without a system role.

Everything goes through the real `openai` client to the loopback server.
"""

from __future__ import annotations

import openai
import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.evaluation.suite import ModelPool, load_suite
from llmcompiler.exceptions import ConfigurationError, ModelStreamError
from llmcompiler.llm import complete, get_model, system, user
from llmcompiler.llm.base import DEFAULT_MAX_TOKENS, ROLE_MAX_TOKENS, Message, assistant
from llmcompiler.llm.openai_compat import OpenAIModel, without_system_role
from llmcompiler.plan.grammar import plan_gbnf, plan_regex
from llmcompiler.testing import OpenAIServer, Unfinished
from llmcompiler.testing.openai_server import tokenize

pytestmark = pytest.mark.usefixtures("close_openai_clients")


@tool
async def lookup(city: str) -> int:
    """Population of a city."""
    return {"Paris": 2_102_650, "Rome": 2_746_984}[city]


@tool
def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


# well over 16 word-sized tokens, as any real plan with a thought is
PLAN = (
    "Thought: look up both cities at the same time, then add the two populations together.\n"
    '1. lookup("Paris")\n2. lookup("Rome")\n3. add($1, $2)\n4. join()<END_OF_PLAN>'
)
FINISH = "Thought: the sum is known.\nAction: Finish(4849634)"


def model(server, name, **options):
    options.setdefault("retry_base_delay", 0.001)
    return get_model("openai", name, base_url=server.base_url, api_key="k", **options)


def requests_for(server, name):
    return [r.json for r in server.requests if r.model == name]


# -- item 1: every request names its limit ---------------------------------------------------


async def test_the_server_can_cut_like_llama_cpp_when_no_max_tokens_is_sent():
    async with OpenAIServer(default_max_tokens=16) as server:
        server.script(None, PLAN, PLAN)
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        try:
            bare = await client.completions.create(model="m", prompt="plan")
            limited = await client.completions.create(model="m", prompt="plan", max_tokens=200)
        finally:
            await client.close()
    assert bare.choices[0].finish_reason == "length"
    assert len(tokenize(bare.choices[0].text)) == 16 < len(tokenize(PLAN))
    assert limited.choices[0].finish_reason == "stop" and limited.choices[0].text.startswith("Thought:")


@pytest.mark.parametrize("stream", [True, False])
async def test_a_completions_plan_is_whole_on_a_server_whose_default_is_16_tokens(stream):
    async with OpenAIServer(default_max_tokens=16) as server:
        server.script("planner", PLAN)
        server.script("joiner", FINISH)
        agent = LLMCompiler(
            tools=[lookup, add],
            planner=model(server, "planner", endpoint="completions", stream=stream),
            joiner=model(server, "joiner", endpoint="completions", stream=stream),
        )
        result = await agent.ainvoke("How many people live in Paris and Rome?")
    assert result.error is None, result.error
    assert result.answer == "4849634" and result.task(3).result == 4_849_634
    assert [body["max_tokens"] for body in requests_for(server, "planner") + requests_for(server, "joiner")] == [
        DEFAULT_MAX_TOKENS,
        DEFAULT_MAX_TOKENS,
    ]


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "100"])
def test_max_tokens_must_be_a_positive_integer(bad):
    with pytest.raises(ConfigurationError, match="max_tokens"):
        get_model("openai", "m", base_url="http://127.0.0.1:9/v1", api_key="k", max_tokens=bad)
    with pytest.raises(ConfigurationError, match="max_tokens"):
        OpenAIModel(openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"), "m", max_tokens=bad)


async def test_model_pool_gives_each_role_its_own_limit():
    suite = load_suite("llmcompiler.suites.general")
    async with OpenAIServer() as server:
        server.script(None, PLAN, FINISH, FINISH, FINISH)
        pool = ModelPool("openai", "m", base_url=server.base_url, api_key="k")
        try:
            tools_model = pool.first()
            agent = suite.build_agent([lookup, add], pool, examples=False)
            result = await agent.ainvoke("q")
        finally:
            await pool.aclose()
        assert result.answer == "4849634", result.error
        assert [body["max_tokens"] for body in requests_for(server, "m")] == [ROLE_MAX_TOKENS["planner"], ROLE_MAX_TOKENS["joiner"]]
        assert tools_model.max_tokens == ROLE_MAX_TOKENS["planner"]

        react_pool = ModelPool("openai", "m", base_url=server.base_url, api_key="k", react=True)
        try:
            react = suite.build_agent([lookup, add], react_pool, react=True, examples=False)
            assert (await react.ainvoke("q")).answer == "4849634"
        finally:
            await react_pool.aclose()
        assert requests_for(server, "m")[-1]["max_tokens"] == ROLE_MAX_TOKENS["react"]

        one_limit = ModelPool("openai", "m", base_url=server.base_url, api_key="k", max_tokens=300)
        try:
            assert [one_limit.first().max_tokens, one_limit.new().max_tokens, one_limit.new("react").max_tokens] == [300] * 3
        finally:
            await one_limit.aclose()


# -- item 2: a stream that ends without a finish reason ---------------------------------------


async def test_the_sdk_ends_a_stream_without_done_quietly():
    """Why the backend checks the finish reason itself: the SDK raises nothing here."""
    async with OpenAIServer() as server:
        server.script(None, Unfinished("1. lookup(\"Paris\")\n2. look"))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        try:
            stream = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "plan"}], stream=True
            )
            chunks = [chunk async for chunk in stream]
        finally:
            await client.close()
    assert chunks and all(c.choices[0].finish_reason is None for c in chunks if c.choices)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("look")


async def test_a_stream_without_finish_reason_after_text_is_a_stream_error_and_not_replayed():
    async with OpenAIServer() as server:
        server.script(None, Unfinished("half a rep"), "never asked for")
        with pytest.raises(ModelStreamError, match="ended without a finish reason after it had started"):
            await complete(model(server, "m"), [user("q")])
    assert len(server.requests) == 1


async def test_a_stream_without_finish_reason_before_any_text_is_retried():
    async with OpenAIServer() as server:
        server.script(None, Unfinished(""), "whole answer")
        text, _ = await complete(model(server, "m"), [user("q")])
        assert text == "whole answer" and len(server.requests) == 2

        server.script(None, Unfinished(""), Unfinished(""))
        with pytest.raises(ModelStreamError, match=r"the stream ended without a finish reason \(after 1 retries\)"):
            await complete(model(server, "m", max_retries=1), [user("q")])


async def test_a_plan_stream_without_finish_reason_keeps_what_ran_and_says_why():
    async with OpenAIServer() as server:
        server.script("planner", Unfinished('1. lookup("Paris")\n2. lookup("Rome")\n3. add($1, $'))
        agent = LLMCompiler(tools=[lookup, add], planner=model(server, "planner"), joiner=model(server, "joiner"))
        result = await agent.ainvoke("q")
    assert result.error.startswith("the planner failed in round 1: ModelStreamError:")
    assert "ended without a finish reason" in result.error
    assert [(r.idx, r.result) for r in result.tasks] == [(1, 2_102_650), (2, 2_746_984)]
    assert not requests_for(server, "joiner")


# -- item 4: grammars reach the planner alone ------------------------------------------------


@pytest.mark.parametrize("model_type", ["openai", "vllm", "friendli"])
async def test_get_model_sends_a_gbnf_grammar_on_every_openai_compatible_type(model_type, monkeypatch):
    monkeypatch.setenv("FRIENDLI_TOKEN", "k")
    async with OpenAIServer() as server:
        server.script(None, "ok")
        url = server.friendli_base_url if model_type == "friendli" else server.base_url
        chosen = get_model(model_type, "m", base_url=url, api_key="k", grammar='root ::= "ok"')
        assert (await complete(chosen, [user("q")]))[0] == "ok"
    assert server.requests[0].json["grammar"] == 'root ::= "ok"'


@pytest.mark.parametrize("model_type", ["scripted", "langchain"])
def test_a_grammar_needs_an_openai_compatible_server(model_type):
    with pytest.raises(ConfigurationError, match="OpenAI-compatible"):
        get_model(model_type, "m", grammar='root ::= "ok"', replies=["x"]) if model_type == "scripted" else get_model(
            model_type, "m:x", grammar='root ::= "ok"'
        )
    with pytest.raises(ConfigurationError, match="grammar"):
        get_model("openai", "m", base_url="http://127.0.0.1:9/v1", api_key="k", grammar="  ")


async def test_plan_grammar_gbnf_constrains_the_planner_only():
    suite = load_suite("llmcompiler.suites.general")
    async with OpenAIServer() as server:
        server.script(None, PLAN, FINISH)
        pool = ModelPool("openai", "m", base_url=server.base_url, api_key="k")
        try:
            tools_model = pool.first()
            agent = suite.build_agent([lookup, add], pool, examples=False, plan_grammar="gbnf")
            result = await agent.ainvoke("q")
        finally:
            await pool.aclose()
    assert result.answer == "4849634", result.error
    planner, joiner = requests_for(server, "m")
    assert planner["grammar"] == plan_gbnf(["add", "lookup"])
    assert "grammar" not in joiner and "structured_outputs" not in joiner
    assert tools_model.extra_body is None  # the model tools ask is not constrained either


async def test_plan_grammar_vllm_sends_the_plan_regex_to_the_planner_only():
    suite = load_suite("llmcompiler.suites.general")
    async with OpenAIServer() as server:
        server.script(None, PLAN, FINISH, FINISH)
        pool = ModelPool("vllm", "m", base_url=server.base_url)
        try:
            result = await suite.build_agent([lookup, add], pool, examples=False, plan_grammar="vllm").ainvoke("q")
            react = await suite.build_agent([lookup, add], pool, react=True, examples=False, plan_grammar="vllm").ainvoke("q")
        finally:
            await pool.aclose()
    assert result.answer == react.answer == "4849634"
    planner, joiner, react_step = requests_for(server, "m")
    assert planner["structured_outputs"] == {"regex": plan_regex(["add", "lookup"])}
    assert "structured_outputs" not in joiner and "structured_outputs" not in react_step


def test_plan_grammar_values_are_checked():
    suite = load_suite("llmcompiler.suites.general")
    pool = ModelPool("openai", "m", base_url="http://127.0.0.1:9/v1", api_key="k")
    with pytest.raises(ConfigurationError, match="plan_grammar must be one of off, vllm, gbnf"):
        suite.build_agent([lookup, add], pool, plan_grammar="lark")
    with pytest.raises(ConfigurationError, match="vLLM feature"):
        suite.build_agent([lookup, add], pool, plan_grammar="vllm")


# -- item 5: chat templates without a system role ----------------------------------------------


async def test_no_system_role_sends_the_instructions_in_the_first_user_message():
    messages = [system("You plan."), user("Question: q")]
    async with OpenAIServer() as server:
        server.script(None, "a", "b", "c", "d")
        await complete(model(server, "m"), messages)
        await complete(model(server, "m", system_role=False), messages)
        await complete(model(server, "m", endpoint="completions"), messages)
        await complete(model(server, "m", endpoint="completions", system_role=False), messages)
    with_role, without_role, prompt, prompt_without = (r.json for r in server.requests)
    assert [m["role"] for m in with_role["messages"]] == ["system", "user"]
    assert without_role["messages"] == [{"role": "user", "content": "You plan.\n\nQuestion: q"}]
    assert prompt["prompt"] == prompt_without["prompt"]  # completions flatten anyway


def test_without_system_role_keeps_every_message_and_the_order():
    merged = without_system_role(
        [system("a"), system("b"), user("c"), assistant("d"), system("e"), assistant("f"), system("g")]
    )
    assert merged == [
        Message("user", "a\n\nb\n\nc"),
        Message("assistant", "d"),
        Message("user", "e"),
        Message("assistant", "f"),
        Message("user", "g"),
    ]


@pytest.mark.parametrize("model_type", ["scripted", "langchain"])
def test_system_role_false_is_for_openai_compatible_servers(model_type):
    with pytest.raises(ConfigurationError, match="system_role=False"):
        get_model(model_type, "m:x", system_role=False)
