"""Every number of the Python API is checked: NaN, infinities, negatives, bools and floats
given for counts are refused with a ConfigurationError that names the parameter."""

from __future__ import annotations

import math

import pytest

from llmcompiler import _validate as v
from llmcompiler.agents.compiler import LLMCompiler
from llmcompiler.agents.react import ReActAgent
from llmcompiler.exceptions import ConfigurationError
from llmcompiler.llm.scripted import ScriptedModel
from llmcompiler.runtime.threads import ThreadRunner
from llmcompiler.tools import Tool

NAN, INF = float("nan"), float("inf")


def search(query: str) -> str:
    return query


# -- the shared helpers ------------------------------------------------------------------


@pytest.mark.parametrize("value", [NAN, INF, -INF, 0, -1, True, False, "5", None, [1]])
def test_positive_seconds_refuses(value):
    with pytest.raises(ConfigurationError, match=r"^--timeout must be a finite number of seconds > 0, got "):
        v.positive_seconds("--timeout", value)


def test_positive_seconds_accepts_and_converts():
    assert v.positive_seconds("t", 3) == 3.0 and isinstance(v.positive_seconds("t", 3), float)
    assert v.positive_seconds("t", 1e-9) == 1e-9
    assert v.positive_seconds("t", None, allow_none=True) is None
    with pytest.raises(ConfigurationError, match=r"> 0 or None, got nan"):
        v.positive_seconds("t", NAN, allow_none=True)


def test_non_negative_seconds_and_positive_number():
    assert v.non_negative_seconds("ttft", 0) == 0.0
    for bad in (NAN, INF, -0.5, True):
        with pytest.raises(ConfigurationError, match="ttft must be a finite number of seconds >= 0"):
            v.non_negative_seconds("ttft", bad)
    assert v.positive_number("rate", 2.5) == 2.5
    with pytest.raises(ConfigurationError, match="rate must be a finite number > 0, got nan"):
        v.positive_number("rate", NAN)


@pytest.mark.parametrize("value", [-1, 0, True, 2.0, NAN, INF, "3", None])
def test_positive_int_refuses(value):
    with pytest.raises(ConfigurationError, match=r"^--N must be an int >= 1, got "):
        v.positive_int("--N", value)


def test_int_helpers_accept():
    assert v.positive_int("n", 7) == 7
    assert v.non_negative_int("n", 0) == 0
    assert v.int_at_least("n", 5, 5) == 5
    assert v.positive_int("n", None, allow_none=True) is None
    with pytest.raises(ConfigurationError, match=r"^n must be an int >= 0, got -1$"):
        v.non_negative_int("n", -1)


def test_a_hostile_repr_does_not_hide_the_message():
    class Weird:
        def __repr__(self):
            raise RuntimeError("no")

    with pytest.raises(ConfigurationError, match=r"timeout must be .* got <Weird>"):
        v.positive_seconds("timeout", Weird())


def test_a_long_value_is_shortened():
    with pytest.raises(ConfigurationError) as info:
        v.positive_int("n", "x" * 500)
    assert len(str(info.value)) < 120 and str(info.value).endswith("...")


# -- the API -------------------------------------------------------------------------------


def _compiler(**kw):
    return LLMCompiler(tools=[search], planner=ScriptedModel(["x"]), **kw)


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"timeout": NAN}, "timeout"),
        ({"timeout": INF}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"max_concurrency": 2.0}, "max_concurrency"),
        ({"max_concurrency": INF}, "max_concurrency"),
        ({"max_replans": -1}, "max_replans"),
        ({"max_replans": NAN}, "max_replans"),
        ({"max_replans": True}, "max_replans"),
        ({"threads": 4}, "threads"),
    ],
)
def test_llmcompiler_refuses(kw, name):
    with pytest.raises(ConfigurationError, match=rf"^{name} must be"):
        _compiler(**kw)


def test_llmcompiler_accepts_good_numbers():
    c = _compiler(timeout=2, max_concurrency=3, max_replans=0)
    assert (c.timeout, c.max_concurrency, c.max_replans) == (2.0, 3, 0)
    assert _compiler(timeout=None, max_concurrency=None).timeout is None


@pytest.mark.parametrize(
    "kw, name",
    [({"max_steps": 0}, "max_steps"), ({"max_steps": NAN}, "max_steps"), ({"max_steps": False}, "max_steps"),
     ({"timeout": NAN}, "timeout"), ({"timeout": -INF}, "timeout")],
)
def test_react_refuses(kw, name):
    with pytest.raises(ConfigurationError, match=rf"^{name} must be"):
        ReActAgent(tools=[search], model=ScriptedModel(["x"]), **kw)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"timeout": NAN}, "tool 'search': timeout must be > 0 seconds, got nan"),
        ({"timeout": INF}, "tool 'search': timeout must be a finite number of seconds (None for no limit), got inf"),
        ({"timeout": True}, "tool 'search': timeout must be a number of seconds or None"),
        ({"retries": -1}, "tool 'search': retries must be an int >= 0, got -1"),
        ({"retries": True}, "tool 'search': retries must be an int >= 0, got True"),
        ({"retries": 1.0}, "tool 'search': retries must be an int >= 0, got 1.0"),
        ({"max_concurrency": 0}, "tool 'search': max_concurrency must be an int >= 1 or None, got 0"),
        ({"max_concurrency": NAN}, "tool 'search': max_concurrency must be an int >= 1 or None, got nan"),
    ],
)
def test_tool_refuses(kw, message):
    with pytest.raises(ConfigurationError) as info:
        Tool("search", search, "S.", **kw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"ttft": NAN}, "ScriptedModel ttft"),
        ({"ttft": -1}, "ScriptedModel ttft"),
        ({"ttft": INF}, "ScriptedModel ttft"),
        ({"tokens_per_second": NAN}, "ScriptedModel tokens_per_second"),
        ({"tokens_per_second": 0}, "ScriptedModel tokens_per_second"),
        ({"chunk_tokens": 0}, "ScriptedModel chunk_tokens"),
        ({"chunk_tokens": 1.5}, "ScriptedModel chunk_tokens"),
    ],
)
def test_scripted_model_refuses(kw, name):
    with pytest.raises(ConfigurationError, match=rf"^{name} must be"):
        ScriptedModel(["x"], **kw)


@pytest.mark.parametrize(
    "kw, name",
    [({"max_workers": 0}, "max_workers"), ({"max_workers": NAN}, "max_workers"), ({"max_workers": True}, "max_workers"),
     ({"max_abandoned": -1}, "max_abandoned"), ({"max_abandoned": 1.5}, "max_abandoned")],
)
def test_thread_runner_refuses(kw, name):
    with pytest.raises(ConfigurationError, match=rf"^ThreadRunner {name} must be"):
        ThreadRunner(**kw)


def test_configuration_errors_are_value_errors():
    # callers that caught ValueError before the checks were unified keep working
    with pytest.raises(ValueError):
        Tool("search", search, "S.", timeout=math.nan)
