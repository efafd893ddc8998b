"""`run_llm_compiler.py` and `evaluate_results.py` end to end, as a user runs them.

The scripts run as subprocesses against two loopback servers started by the test: the
OpenAI-compatible server (scripting plans, joiner answers and ReAct steps) and the
MediaWiki api.php server (the search tool's pages).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from llmcompiler.testing import OpenAIServer, WikipediaServer

ROOT = Path(__file__).resolve().parent.parent

PAGES = {
    "Alder Vance": "Alder Vance (born 1931) is a Canadian architect.",
    "Brisa Okoro": "Brisa Okoro (born 1958) is a Nigerian architect.",
    "Cato Lindqvist": "Cato Lindqvist (1902-1977) was a Swedish painter.",
    "Dara Pellen": "Dara Pellen (1910-1988) was a Swedish painter.",
    "Ember Falls": "Ember Falls is a waterfall in Norway, 240 metres high.",
    "Juniper Falls": "Juniper Falls is a waterfall in Chile, 190 metres high.",
}

# question -> (entities to search, the answer the scripted joiner gives, the label)
QUESTIONS = {
    "q1": ("Were Alder Vance and Brisa Okoro of the same nationality?", ["Alder Vance", "Brisa Okoro"], "no", "no"),
    "q2": ("Were Cato Lindqvist and Dara Pellen of the same nationality?", ["Cato Lindqvist", "Dara Pellen"], "yes", "yes"),
    "q3": ("Which waterfall is higher, Ember Falls or Juniper Falls?", ["Ember Falls", "Juniper Falls"], "Ember Falls", "Ember Falls"),
    "q4": ("Who was born first, Alder Vance or Cato Lindqvist?", ["Alder Vance", "Cato Lindqvist"], "Cato Lindqvist", "Cato Lindqvist"),
    "q5": ("Are Brisa Okoro and Dara Pellen both painters?", ["Brisa Okoro", "Dara Pellen"], "yes", "no"),  # wrong on purpose
}


def question_of(body: dict) -> str:
    text = body["messages"][-1]["content"]
    return re.search(r"Question: (.*)", text).group(1).strip()


def entry_for(question: str):
    return next(v for v in QUESTIONS.values() if v[0] == question)


def respond(body: dict) -> str:
    """The scripted model: plans, joins and ReAct steps, chosen by the system prompt."""
    system = body["messages"][0]["content"]
    _, entities, answer, _ = entry_for(question_of(body))
    if system.startswith("You plan how to answer"):
        calls = "".join(f'{i}. search("{e}")\n' for i, e in enumerate(entities, start=1))
        return f"Thought: look both up at once.\n{calls}{len(entities) + 1}. join()<END_OF_PLAN>"
    if system.startswith("You read the results"):
        return f"Thought: the results settle it.\nAction: Finish({answer})"
    done = body["messages"][-1]["content"].count("Observation:")
    if done < len(entities):
        return f'Thought: next one.\nAction: search("{entities[done]}")'
    return f"Thought: that is enough.\nAction: Finish({answer})"


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "five.json"
    records = [{"id": key, "question": q, "answer": label, "level": "easy" if key < "q3" else "hard"} for key, (q, _, _, label) in QUESTIONS.items()]
    path.write_text(json.dumps(records))
    return path


@pytest.fixture
async def servers():
    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 200)
        yield llm, wiki


async def run_script(script: str, *args: str, env: dict | None = None) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_"))}
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / script),
        *args,
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, out.decode(), err.decode()


def bench_args(servers, dataset, store, *extra):
    llm, wiki = servers
    return (
        "--benchmark_name", "hotpotqa", "--store", str(store), "--dataset", str(dataset),
        "--model_name", "scripted-gpt", "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url,
        "--stream", *extra,
    )  # fmt: skip


async def test_llmcompiler_and_react_runs_then_evaluate(servers, dataset, tmp_path):
    llm, wiki = servers
    env = {"OPENAI_API_KEY": "test-key"}
    compiler_store = tmp_path / "compiler.json"
    code, out, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, compiler_store), env=env)
    assert code == 0, err
    results = json.loads(compiler_store.read_text())
    assert list(results) == ["q1", "q2", "q3", "q4", "q5"]
    first = results["q1"]
    assert first["answer"] == "no" and first["label"] == "no" and first["method"] == "llmcompiler"
    assert first["error"] is None and first["time"] > 0 and first["level"] == "easy"
    assert first["stats"]["tasks"] == 2 and first["stats"]["total"]["input_tokens"] > 0
    assert set(first["stats"]) >= {"planner", "joiner", "total", "cost", "rounds"}
    assert "accuracy 0.800" in err  # the progress line
    assert wiki.requests  # the search tool really went to the MediaWiki server

    react_store = tmp_path / "react.json"
    code, out, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, react_store, "--react"), env=env)
    assert code == 0, err
    react = json.loads(react_store.read_text())
    assert react["q3"]["answer"] == "Ember Falls" and react["q3"]["method"] == "react"
    assert react["q3"]["stats"]["react"]["calls"] == 3  # two searches, then Finish

    code, out, err = await run_script("evaluate_results.py", "--file", str(compiler_store))
    assert code == 0, err
    assert "Raw: 4 / 5 = 0.8" in out

    code, out, err = await run_script("evaluate_results.py", "--file", str(compiler_store), str(react_store))
    assert code == 0, err
    assert out.count("Raw: 4 / 5 = 0.8") == 2


async def test_resume_skips_finished_questions(servers, dataset, tmp_path):
    llm, _ = servers
    env = {"OPENAI_API_KEY": "test-key"}
    store = tmp_path / "resume.json"
    code, _, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, store, "--N", "3"), env=env)
    assert code == 0, err
    assert list(json.loads(store.read_text())) == ["q1", "q2", "q3"]
    planner_calls = sum(1 for r in llm.requests if r.json["messages"][0]["content"].startswith("You plan"))
    assert planner_calls == 3

    code, _, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, store, "--concurrency", "2"), env=env)
    assert code == 0, err
    assert "resumed: 3 questions already in" in err
    assert sorted(json.loads(store.read_text())) == ["q1", "q2", "q3", "q4", "q5"]
    assert sum(1 for r in llm.requests if r.json["messages"][0]["content"].startswith("You plan")) == 5


async def test_user_errors_are_one_line_and_lose_nothing(servers, dataset, tmp_path):
    llm, _ = servers
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"q1": {"question": "half')
    code, _, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, corrupt), env={"OPENAI_API_KEY": "k"})
    assert code == 2
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    assert corrupt.read_text() == '{"q1": {"question": "half'

    store = tmp_path / "never.json"
    code, _, err = await run_script("run_llm_compiler.py", *bench_args(servers, dataset, store))
    assert code == 2
    assert "set the environment variable OPENAI_API_KEY" in err and "Traceback" not in err
    assert not store.exists() and not llm.requests

    code, _, err = await run_script("run_llm_compiler.py", "--config", str(tmp_path / "nope"), "--store", str(store))
    assert code == 2 and "cannot load the tool suite" in err and "Traceback" not in err

    code, _, err = await run_script("evaluate_results.py", "--file", str(corrupt))
    assert code == 2 and "Traceback" not in err
