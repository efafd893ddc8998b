"""The cascade and the memory through `run_llm_compiler.py`, `llmcompiler ask` and
`evaluate_results.py`, as a user runs them: subprocesses against the loopback OpenAI and
MediaWiki servers, the real `openai` client in between."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from llmcompiler.testing import HTTPError, OpenAIServer, WikipediaServer

ROOT = Path(__file__).resolve().parent.parent
CHEAP, STRONG = "gpt-4o-mini", "gpt-4o"

PAGES = {
    "Ember Falls": "Ember Falls is a waterfall in Norway, 240 metres high.",
    "Juniper Falls": "Juniper Falls is a waterfall in Chile, 190 metres high.",
    "Lark Falls": "Lark Falls is a waterfall in Peru, 310 metres high.",
    "Alder Vance": "Alder Vance (born 1931) is a Canadian architect.",
    "Cato Lindqvist": "Cato Lindqvist (1902-1977) was a Swedish painter.",
}
ANSWERS = {"Ember Falls": "Ember Falls", "Lark Falls": "Lark Falls", "Alder Vance": "Cato Lindqvist"}
DATASET = [
    {"id": "q1", "question": "Which waterfall is higher, Ember Falls or Juniper Falls?", "answer": "Ember Falls"},
    {"id": "q2", "question": "Which waterfall is higher, Lark Falls or Juniper Falls?", "answer": "Lark Falls"},
    {"id": "q3", "question": "Who was born first, Alder Vance or Cato Lindqvist?", "answer": "Cato Lindqvist"},
]


def question_of(body: dict) -> str:
    return re.findall(r"Question: (.*)", body["messages"][-1]["content"])[-1].strip()


def is_planner(body: dict) -> bool:
    return body["messages"][0]["content"].startswith("You plan how to answer")


def model(fails: set[str] = frozenset()):
    """Plans two searches; answers, or keeps asking to replan on questions naming one of `fails`."""

    def respond(body: dict) -> str:
        question = question_of(body)
        names = sorted((n for n in PAGES if n in question), key=question.index)
        if is_planner(body):
            calls = "".join(f'{i}. search("{n}")\n' for i, n in enumerate(names, start=1))
            return f"Thought: both at once.\n{calls}{len(names) + 1}. join()<END_OF_PLAN>"
        if any(name in question for name in fails):
            return "Thought: unclear.\nAction: Replan(search again)"
        return f"Thought: settled.\nAction: Finish({ANSWERS[names[0]]})"

    return respond


@pytest.fixture
async def servers():
    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        yield llm, wiki


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "falls.json"
    path.write_text(json.dumps(DATASET))
    return path


async def run(*args: str, stdin: bytes | None = None, entry: str = "run_llm_compiler.py") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_"))}
    env["OPENAI_API_KEY"] = "test-key"
    command = [sys.executable, str(ROOT / entry)] if entry.endswith(".py") else [sys.executable, "-m", entry]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    return process.returncode, out.decode(), err.decode()


async def ask(servers, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    llm, wiki = servers
    return await run(
        "ask", *args, "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url, stdin=stdin, entry="llmcompiler.cli"
    )


def bench_args(servers, dataset, store, *extra: str) -> list[str]:
    llm, wiki = servers
    return [
        "--benchmark_name", "hotpotqa", "--store", str(store), "--dataset", str(dataset),
        "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url, "--no_progress", *extra,
    ]  # fmt: skip


def asks(prompt: str) -> str:
    """The question a planner prompt asks (its last "Question:")."""
    return prompt.rsplit("Question:", 1)[1].strip().splitlines()[0].strip()


def planner_prompts(llm, name: str) -> list[str]:
    bodies = [r.json for r in llm.requests if r.json.get("model") == name and is_planner(r.json)]
    return ["\n".join(m["content"] for m in body["messages"]) for body in bodies]


async def test_bench_cascade_records_levels_and_evaluate_reports_them(servers, dataset, tmp_path):
    llm, _ = servers
    llm.script(CHEAP, *[model(fails={"Ember Falls"})] * 20)
    llm.script(STRONG, *[model()] * 20)
    store = tmp_path / "cascade.json"
    code, out, err = await run(*bench_args(servers, dataset, store, "--model_name", f"{CHEAP},{STRONG}"))
    assert code == 0, err
    assert f"models openai:{CHEAP} -> openai:{STRONG}" in err and "warning" not in err
    records = json.loads(store.read_text())
    first, second = records["q1"], records["q2"]
    assert [lv["model"] for lv in first["levels"]] == [CHEAP, STRONG]
    assert [lv["verdict"] for lv in first["levels"]] == ["failed", "solved"] and first["solved_by"] == STRONG
    assert first["answer"] == "Ember Falls" and first["error"] is None
    cheap, strong = first["levels"]
    assert cheap["input_tokens"] > 0 and strong["output_tokens"] > 0 and cheap["cost"] > 0 and strong["seconds"] > 0
    assert "after the last allowed round" in cheap["error"]
    assert first["stats"]["total"]["input_tokens"] == cheap["input_tokens"] + strong["input_tokens"]
    assert first["stats"]["cost"] == pytest.approx(cheap["cost"] + strong["cost"])
    assert [lv["model"] for lv in second["levels"]] == [CHEAP] and second["solved_by"] == CHEAP
    assert first["produced_by"]["model"] == f"openai:{CHEAP},{STRONG}"
    assert sum(1 for r in llm.requests if r.json["model"] == STRONG) == 2  # q1 only: planner and joiner

    code, out, err = await run("--file", str(store), entry="evaluate_results.py")
    assert code == 0, err
    assert "Raw: 3 / 3 = 1.0" in out
    assert f"Cascade (3 questions, {CHEAP} -> {STRONG}):" in out
    assert f"  {CHEAP}: reached 3, solved 2 (2 match the label)" in out
    assert f"  {STRONG}: reached 1, solved 1 (1 match the label)" in out
    assert f"{STRONG} alone (estimated): $" in out and "the cascade costs" in out

    # the same command resumes the same store; a store of a single model is another run
    code, _, err = await run(*bench_args(servers, dataset, store, "--model_name", f"{CHEAP},{STRONG}"))
    assert code == 0 and "resumed: 3 questions" in err
    code, _, err = await run(*bench_args(servers, dataset, store, "--model_name", CHEAP))
    assert code == 2 and "pass a new --store" in err and len(err.strip().splitlines()) == 1


async def test_bench_solution_demonstration_shows_the_stored_solution_in_the_suite_only(servers, dataset, tmp_path):
    llm, _ = servers
    llm.script(CHEAP, *[model(fails={"Ember Falls"})] * 40)
    llm.script(STRONG, *[model()] * 40)
    memory = tmp_path / "memory.sqlite3"
    store = tmp_path / "memory-run.json"
    flags = ["--model_name", f"{CHEAP},{STRONG}", "--solution_demonstration", "--memory", str(memory)]
    code, _, err = await run(*bench_args(servers, dataset, store, *flags, "--N", "2"))
    assert code == 0, err
    prompts = planner_prompts(llm, CHEAP)
    first = [p for p in prompts if asks(p) == DATASET[0]["question"]]
    assert first and all(p.count(DATASET[0]["question"]) == 1 for p in first)  # nothing was stored yet
    q2 = next(p for p in prompts if asks(p) == DATASET[1]["question"])
    assert DATASET[0]["question"] in q2 and 'search("Ember Falls")' in q2  # q1's solution, by the strong model

    code, out, err = await run("memory", "list", "--memory", str(memory), entry="llmcompiler.cli")
    assert code == 0, err
    assert "hotpotqa" in out and STRONG in out

    other = tmp_path / "general.json"
    other.write_text(json.dumps([dict(DATASET[1], id="g1")]))
    before = len(planner_prompts(llm, CHEAP))
    code, _, err = await run(
        "--config", "general", "--store", str(tmp_path / "general-run.json"), "--dataset", str(other),
        "--base_url", llm.base_url, "--wikipedia_url", servers[1].api_url, "--no_progress",
        "--model_name", CHEAP, "--solution_demonstration", "--memory", str(memory),
    )  # fmt: skip
    assert code == 0, err
    prompt = planner_prompts(llm, CHEAP)[before]
    assert DATASET[0]["question"] not in prompt  # another suite's solutions are not shown


async def test_ask_cascade_with_an_unknown_model_in_the_list(servers):
    llm, _ = servers
    llm.script("no-such-model", HTTPError(404, "The model `no-such-model` does not exist"))
    llm.script(STRONG, *[model()] * 4)
    code, out, err = await ask(servers, "-v", "--model_name", f"no-such-model,{STRONG}", DATASET[0]["question"])
    assert code == 0, err
    assert out.strip() == "Ember Falls"
    lines = err.splitlines()
    assert (
        lines[0].startswith("warning: 'no-such-model' is not in the price table")
        and "cost will be reported as unknown" in lines[0]
    )
    assert any(line.startswith("level 1 no-such-model: failed") and "404" in line for line in lines)
    assert any(line.startswith(f"level 2 {STRONG}: solved;") and "$" in line for line in lines)
    assert any(line.startswith(f"cascade: solved by {STRONG}") and "cost unknown" in line for line in lines)


async def test_ask_bad_cascade_flags_are_one_line(servers):
    for args, message in [
        (["--model_name", f"{CHEAP},,{STRONG}"], "an empty name in the list"),
        (["--model_name", f"{CHEAP},{CHEAP}"], "is listed twice"),
        (["--judge_model", STRONG], "--judge_model needs --eval llm"),
        (["--memory", "x.sqlite3"], "need --solution_demonstration"),
    ]:
        code, out, err = await ask(servers, *args, "a question")
        assert code == 2 and err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1, err
    assert not servers[0].requests


async def test_ask_with_the_llm_judge(servers):
    llm, _ = servers
    llm.script(CHEAP, *[model()] * 2)
    llm.script(STRONG, *[model()] * 2)
    llm.script("judge-model", "No, it is not.", "yes")
    question = DATASET[0]["question"]
    code, out, err = await ask(
        servers, "--model_name", f"{CHEAP},{STRONG}", "--eval", "llm", "--judge_model", "judge-model", question
    )
    assert code == 0, err
    assert out.strip() == "Ember Falls"
    assert "warning: 'judge-model' is not in the price table" in err
    assert sum(1 for r in llm.requests if r.json["model"] == STRONG) == 2  # the judge said no to the cheap answer


async def test_ask_with_the_human_judge_via_a_pipe_and_a_closed_stdin(servers):
    llm, _ = servers
    llm.script(CHEAP, *[model()] * 4)
    llm.script(STRONG, HTTPError(500, "must not be asked"))
    question = DATASET[0]["question"]
    code, out, err = await ask(servers, "--model_name", f"{CHEAP},{STRONG}", "--eval", "human", question, stdin=b"y\n")
    assert code == 0, err
    assert out.strip() == "Ember Falls" and "Is this question solved? [y/n]" in err

    code, out, err = await ask(servers, "--model_name", f"{CHEAP},{STRONG}", "--eval", "human", question)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "error: --eval human: standard input is closed, so nobody can judge the answer"
    assert not any(r.json["model"] == STRONG for r in llm.requests)


async def test_bench_human_judge_with_a_closed_stdin_stores_the_question_and_stops(servers, dataset, tmp_path):
    llm, _ = servers
    llm.script(CHEAP, *[model()] * 10)
    store = tmp_path / "human.json"
    code, _, err = await run(
        *bench_args(servers, dataset, store, "--model_name", f"{CHEAP},{STRONG}", "--eval", "human")
    )
    assert code == 2
    assert (
        err.splitlines()[-1] == "error: stopped: --eval human: standard input is closed, so nobody can judge the answer"
    )
    records = json.loads(store.read_text())
    assert list(records) == ["q1"]  # stored as it ended: the answer, the level, the judge's error
    assert records["q1"]["answer"] == "Ember Falls" and "standard input is closed" in records["q1"]["error"]
    assert [lv["verdict"] for lv in records["q1"]["levels"]] == ["unclear"] and records["q1"]["solved_by"] is None
    assert records["q1"]["produced_by"]["eval"] == "human"
    assert not any(r.json["model"] == STRONG for r in llm.requests)


def react_model(body: dict) -> str:
    """ReAct steps: one search per title, then the answer."""
    question = question_of(body)
    names = sorted((n for n in PAGES if n in question), key=question.index)
    done = body["messages"][-1]["content"].count("Observation:")
    if done < len(names):
        return f'Thought: next one.\nAction: search("{names[done]}")'
    return f"Thought: that is enough.\nAction: Finish({ANSWERS[names[0]]})"


async def test_ask_react_cascade(servers):
    llm, _ = servers
    llm.script(CHEAP, HTTPError(400, "this model cannot do it"))
    llm.script(STRONG, *[react_model] * 3)
    code, out, err = await ask(servers, "--react", "-v", "--model_name", f"{CHEAP},{STRONG}", DATASET[0]["question"])
    assert code == 0, err
    assert out.strip() == "Ember Falls"
    assert any(line.startswith(f"level 1 {CHEAP}: failed") and "HTTP 400" in line for line in err.splitlines())
    assert any(line.startswith(f"level 2 {STRONG}: solved;") for line in err.splitlines())


async def test_bench_with_a_corrupt_memory_is_one_line_before_any_question(servers, dataset, tmp_path):
    llm, _ = servers
    memory = tmp_path / "memory.sqlite3"
    memory.write_bytes(b"not a database, just bytes " * 100)
    store = tmp_path / "never.json"
    code, _, err = await run(*bench_args(servers, dataset, store, "--solution_demonstration", "--memory", str(memory)))
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert str(memory) in err and not store.exists() and not llm.requests
