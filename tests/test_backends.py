"""Model backends over real HTTP: the loopback OpenAI-compatible server and the real `openai` client."""

from __future__ import annotations

import asyncio

import pytest

from llmcompiler import LLMCompiler, tool
from llmcompiler.exceptions import (
    ConfigurationError,
    MissingCredentialsError,
    ModelConnectionError,
    ModelHTTPError,
    ModelStreamError,
)
from llmcompiler.llm import LangChainModel, Usage, complete, get_model, price_for, user
from llmcompiler.llm.openai_compat import OpenAIModel, RetryPolicy, _retry_after
from llmcompiler.llm.pricing import Price
from llmcompiler.plan import plan_regex
from llmcompiler.runtime import events as ev
from llmcompiler.testing import Break, HTTPError, OpenAIServer, Text

PROVIDER_VARIABLES = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_DEPLOYMENT_NAME",
    "FRIENDLI_TOKEN",
    "FRIENDLI_BASE_URL",
    "VLLM_BASE_URL",
    "VLLM_API_KEY",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


pytestmark = pytest.mark.usefixtures("close_openai_clients")


@pytest.fixture
async def server():
    async with OpenAIServer() as running:
        yield running


def openai_model(server, name, **kwargs):
    kwargs.setdefault("retry_base_delay", 0.001)
    return get_model("openai", name, base_url=server.base_url, api_key="test-key", **kwargs)


def finish(answer):
    return f"Thought: done.\nAction: Finish({answer})"


PLAN = 'Thought: both at once\n1. lookup("Paris")\n2. lookup("Rome")\n3. add($1, $2)\n4. join()<END_OF_PLAN>'


@tool
async def lookup(city: str) -> int:
    """Population of a city."""
    return {"Paris": 2_102_650, "Rome": 2_746_984}[city]


@tool
def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


# -- whole runs ---------------------------------------------------------------------------


async def test_full_run_over_http_streams_tasks_and_records_usage(server):
    server.script("planner-model", Text(PLAN, delay=0.003))
    server.script("joiner-model", finish("4849634"))
    agent = LLMCompiler(
        tools=[lookup, add],
        planner=openai_model(server, "planner-model"),
        joiner=openai_model(server, "joiner-model"),
    )
    result = await agent.ainvoke("How many people live in Paris and Rome?")
    assert result.error is None, result.error
    assert result.answer == "4849634"
    assert result.task(3).result == 4_849_634

    planner_done = next(e for e in result.events if isinstance(e, ev.PlannerFinished)).t
    first_start = next(e for e in result.events if isinstance(e, ev.TaskStarted) and e.idx == 1).t
    assert first_start < planner_done

    planner_request = next(r for r in server.requests if r.model == "planner-model")
    assert planner_request.path == "/v1/chat/completions"
    assert planner_request.json["stream"] is True
    assert planner_request.json["stream_options"] == {"include_usage": True}
    assert planner_request.json["stop"] == ["<END_OF_PLAN>", "###", "\nQuestion:"]
    assert planner_request.headers["authorization"] == "Bearer test-key"

    planner_usage = result.usage["planner"]
    assert planner_usage.calls == 1 and not planner_usage.estimated
    assert planner_usage.output_tokens == len(PLAN.split("<END_OF_PLAN>")[0].split())
    assert planner_usage.input_tokens > 0
    assert result.usage["joiner"].output_tokens == len(finish("4849634").split())
    assert set(result.latency()) == {"planner", "joiner"}


async def test_mid_stream_break_ends_the_run_with_a_clear_error_and_is_not_replayed(server):
    server.script("planner-model", Break('1. lookup("Paris")\n2. lookup("Ro'), PLAN)
    agent = LLMCompiler(
        tools=[lookup, add],
        planner=openai_model(server, "planner-model"),
        joiner=openai_model(server, "joiner-model"),
    )
    result = await agent.ainvoke("q")
    assert result.error.startswith("the planner failed in round 1: ModelStreamError: openai stream for 'planner-model' broke")
    assert [(r.idx, r.result) for r in result.tasks] == [(1, 2_102_650)]
    assert len([r for r in server.requests if r.model == "planner-model"]) == 1


async def test_langchain_chat_model_pointed_at_the_server(server):
    from langchain_openai import ChatOpenAI

    server.script("lc-planner", Text(PLAN, delay=0.002))
    server.script("lc-joiner", finish("4849634"))

    def chat(name):
        return ChatOpenAI(model=name, base_url=server.base_url, api_key="k", max_retries=0, stream_usage=True, temperature=0)

    # A BaseChatModel is accepted wherever a model is.
    agent = LLMCompiler(tools=[lookup, add], planner=chat("lc-planner"), joiner=chat("lc-joiner"))
    assert isinstance(agent.planner, LangChainModel)
    result = await agent.ainvoke("q")
    assert result.error is None and result.answer == "4849634"
    assert result.usage["planner"].output_tokens == len(PLAN.split("<END_OF_PLAN>")[0].split())
    assert not result.usage["planner"].estimated
    assert next(r for r in server.requests if r.model == "lc-planner").json["stop"][0] == "<END_OF_PLAN>"
    assert get_model("langchain", model=chat("x")).name == "x"


async def test_tool_calling_a_model_is_counted_as_tool_usage(server):
    server.script("planner-model", '1. summarise("long text")\n2. join()')
    server.script("helper-model", "short")
    server.script("joiner-model", finish("short"))
    helper = openai_model(server, "helper-model")

    @tool
    async def summarise(text: str) -> str:
        """Summarise with a model."""
        reply, _ = await complete(helper, [user(f"Summarise: {text}")])
        return reply

    agent = LLMCompiler(tools=[summarise], planner=openai_model(server, "planner-model"), joiner=openai_model(server, "joiner-model"))
    result = await agent.ainvoke("q")
    assert result.answer == "short"
    assert result.usage["tool"].calls == 1 and result.usage["tool"].output_tokens == 1
    costs = result.cost(prices={"planner-model": Price(1.0, 2.0), "joiner-model": Price(1.0, 2.0)})
    assert costs["planner"] > 0 and costs["joiner"] > 0
    assert costs["tool"] is None  # no price for helper-model: unknown, not zero


# -- endpoints, stop, streaming off ------------------------------------------------------


async def test_chat_endpoint_stop_sequences(server):
    server.script("m", "alpha beta STOP gamma")
    model = openai_model(server, "m")
    text, usage = await complete(model, [user("go")], stop=["STOP"])
    assert text == "alpha beta "
    assert usage == Usage(1, 3, 1)  # "alpha", " beta", " ": the server counts word-sized pieces


async def test_completions_endpoint_for_base_models(server):
    server.script("llama-2-70b", "1. search('x')\n2. join()<END_OF_PLAN> more")
    model = get_model("vllm", "llama-2-70b", base_url=server.base_url, endpoint="completions")
    text, usage = await complete(model, [user("Question: q")], stop=["<END_OF_PLAN>"])
    assert text == "1. search('x')\n2. join()"
    request = server.requests[-1]
    assert request.path == "/v1/completions"
    assert request.json["prompt"] == "Question: q\n"
    assert request.json["stream"] is True
    assert usage.output_tokens == 4  # "1.", " search('x')", "\n2.", " join()"


async def test_streaming_off_returns_the_whole_text(server):
    server.script("m", "all at once")
    text, usage = await complete(openai_model(server, "m", stream=False), [user("q")])
    assert (text, usage.output_tokens) == ("all at once", 3)
    assert server.requests[-1].json["stream"] is False


async def test_usage_is_counted_when_the_provider_reports_none(server):
    import openai

    server.script("m", "one two three")
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    model = OpenAIModel(client, "m", include_usage=False)
    text, usage = await complete(model, [user("hello there")])
    assert text == "one two three"
    assert usage.estimated and usage.output_tokens >= 3 and usage.input_tokens >= 2
    assert "stream_options" not in server.requests[-1].json


# -- retries -------------------------------------------------------------------------------


async def test_429_and_500_are_retried_then_succeed(server):
    server.script("m", HTTPError(429, "slow down", retry_after=0.01), HTTPError(500, "oops"), "fine")
    text, _ = await complete(openai_model(server, "m"), [user("q")])
    assert text == "fine"
    assert len(server.requests) == 3


async def test_retry_limit_gives_a_translated_error(server):
    server.script("m", *[HTTPError(503, "overloaded")] * 3)
    with pytest.raises(ModelHTTPError, match=r"HTTP 503 \(after 2 retries\): overloaded") as caught:
        await complete(openai_model(server, "m", max_retries=2), [user("q")])
    assert caught.value.status == 503
    assert len(server.requests) == 3


async def test_other_4xx_fail_at_once(server):
    server.script("m", HTTPError(400, "bad request body"), "never")
    with pytest.raises(ModelHTTPError, match="HTTP 400: bad request body"):
        await complete(openai_model(server, "m"), [user("q")])
    assert len(server.requests) == 1


async def test_wrong_key_names_the_variable():
    async with OpenAIServer(api_key="right") as guarded:
        guarded.script("m", "x")
        with pytest.raises(ModelHTTPError, match=r"authentication failed \(401\): check OPENAI_API_KEY"):
            await complete(openai_model(guarded, "m"), [user("q")])


async def test_break_before_any_text_is_retried(server):
    server.script("m", Break(""), "recovered")
    text, _ = await complete(openai_model(server, "m"), [user("q")])
    assert text == "recovered"
    assert len(server.requests) == 2


async def test_break_after_text_fails_the_call(server):
    server.script("m", Break("partial answer"), "never used")
    seen = []
    with pytest.raises(ModelStreamError, match="broke after it had started"):
        async for item in openai_model(server, "m").stream([user("q")]):
            seen.append(item)
    assert "".join(seen) == "partial answer"
    assert len(server.requests) == 1


async def test_connection_refused_is_retried_then_reported():
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = get_model("vllm", "m", vllm_port=port, max_retries=1, retry_base_delay=0.001)
    with pytest.raises(ModelConnectionError, match=r"after 1 retries"):
        await complete(model, [user("q")])


def test_retry_policy_and_retry_after_parsing():
    policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=4.0)
    assert policy.delay(1, 2.5) == 2.5
    assert policy.delay(1, 999) == policy.max_retry_after
    assert all(0 <= policy.delay(n, None) <= min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 8) for _ in range(20))
    assert _retry_after({"retry-after": "3"}) == 3.0
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({}) is None


# -- providers: Azure, Friendli, vLLM, OpenAI environment -----------------------------------


async def test_openai_reads_its_environment(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.script("gpt-4o", "hi")
    text, _ = await complete(get_model("openai", "gpt-4o"), [user("q")])
    assert text == "hi"
    assert server.requests[-1].headers["authorization"] == "Bearer env-key"


async def test_azure_with_the_original_variable_names(server, monkeypatch):
    monkeypatch.setenv("AZURE_ENDPOINT", server.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-06-01")
    monkeypatch.setenv("AZURE_DEPLOYMENT_NAME", "my-deployment")
    server.script("my-deployment", "from azure")
    text, usage = await complete(get_model("azure"), [user("q")])
    assert text == "from azure" and usage.output_tokens == 2
    request = server.requests[-1]
    assert request.path == "/openai/deployments/my-deployment/chat/completions"
    assert request.query["api-version"] == "2024-06-01"
    assert request.headers["api-key"] == "azure-key"


async def test_azure_with_the_standard_variable_names(server, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.azure_endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    server.script("dep-2", "ok")
    text, _ = await complete(get_model("azure", "dep-2"), [user("q")])
    assert text == "ok"
    assert server.requests[-1].query["api-version"] == "2024-10-21"


async def test_friendli(server, monkeypatch):
    monkeypatch.setenv("FRIENDLI_TOKEN", "flp_token")
    monkeypatch.setenv("FRIENDLI_BASE_URL", server.friendli_base_url)
    server.script("meta-llama-3.1-70b-instruct", "from friendli")
    text, _ = await complete(get_model("friendli", "meta-llama-3.1-70b-instruct"), [user("q")])
    assert text == "from friendli"
    assert server.requests[-1].path == "/serverless/v1/chat/completions"
    assert server.requests[-1].headers["authorization"] == "Bearer flp_token"


async def test_vllm_regex_is_sent_only_when_asked(server):
    regex = plan_regex(["search"])
    server.script("llama", "1. join()", "1. join()", "1. join()")
    await complete(get_model("vllm", "llama", base_url=server.base_url), [user("q")])
    assert "structured_outputs" not in server.requests[-1].json and "guided_regex" not in server.requests[-1].json
    await complete(get_model("vllm", "llama", base_url=server.base_url, regex=regex), [user("q")])
    assert server.requests[-1].json["structured_outputs"] == {"regex": regex}
    await complete(get_model("vllm", "llama", base_url=server.base_url, regex=regex, structured_field="guided_regex"), [user("q")])
    assert server.requests[-1].json["guided_regex"] == regex


def test_plan_regex_accepts_plans_and_rejects_other_text():
    import re

    pattern = re.compile(plan_regex(["search", "math"]))
    assert pattern.fullmatch('Thought: go\n1. search("a")\n2. math("$1 + 1")\n3. join()<END_OF_PLAN>')
    assert pattern.fullmatch("1. join()")
    assert not pattern.fullmatch('1. browse("a")\n2. join()')
    assert not pattern.fullmatch('1. search("a")\n')


# -- configuration errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "model_type, name, environment, message",
    [
        ("openai", "gpt-4o", {}, "OpenAI needs an API key: set the environment variable OPENAI_API_KEY"),
        ("friendli", "m", {}, "Friendli needs an API key: set the environment variable FRIENDLI_TOKEN"),
        ("azure", "d", {}, "set the environment variable AZURE_OPENAI_ENDPOINT (or AZURE_ENDPOINT)"),
        ("azure", "d", {"AZURE_ENDPOINT": "http://x"}, "set the environment variable AZURE_OPENAI_API_KEY"),
        (
            "azure",
            "d",
            {"AZURE_ENDPOINT": "http://x", "AZURE_OPENAI_API_KEY": "k"},
            "set the environment variable OPENAI_API_VERSION (or AZURE_OPENAI_API_VERSION)",
        ),
        (
            "azure",
            None,
            {"AZURE_ENDPOINT": "http://x", "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "v"},
            "set the environment variable AZURE_DEPLOYMENT_NAME",
        ),
    ],
)
def test_missing_credentials_name_the_variable(monkeypatch, model_type, name, environment, message):
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(MissingCredentialsError) as caught:
        get_model(model_type, name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_other_configuration_errors():
    with pytest.raises(ConfigurationError, match="unknown model_type 'gpt'; valid: openai, azure, vllm, friendli, langchain, scripted"):
        get_model("gpt", "x")
    with pytest.raises(ConfigurationError, match="vllm_port"):
        get_model("vllm", "x")
    with pytest.raises(ConfigurationError, match="vLLM feature"):
        get_model("openai", "x", api_key="k", regex="a")
    with pytest.raises(ConfigurationError, match="module:attribute"):
        get_model("langchain", "x")
    with pytest.raises(ConfigurationError, match="needs a model_name"):
        get_model("openai", None, api_key="k")


def test_scripted_through_get_model():
    model = get_model("scripted", replies=["hello"], tokens_per_second=1000)
    assert asyncio.run(complete(model, [user("q")]))[0] == "hello"


def test_price_table_matches_longest_prefix():
    assert price_for("gpt-4o-2024-08-06") == price_for("gpt-4o")
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")
    assert price_for("gpt-4-0613") == price_for("gpt-4")
    assert price_for("my-local-llama") is None
    assert price_for("my-local-llama", {"my-local": Price(0.1, 0.1)}) == Price(0.1, 0.1)
