"""The `llmcompiler` console script, run as a user runs it (subprocess of the installed entry point)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from llmcompiler.testing import OpenAIServer, WikipediaServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "Ada Lovelace": "Augusta Ada King, Countess of Lovelace (1815-1852), was an English mathematician.",
    "Charles Babbage": "Charles Babbage (1791-1871) was an English mathematician and engineer.",
}
QUESTION = "Who was born first, Ada Lovelace or Charles Babbage?"


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("llmcompiler")
    if script.exists():
        return [str(script)]
    found = shutil.which("llmcompiler")
    assert found, "the llmcompiler console script is not installed (pip install -e .)"
    return [found]


def respond(body: dict) -> str:
    system = body["messages"][0]["content"]
    last = body["messages"][-1]["content"]
    if system.startswith("You plan how to answer"):
        return 'Thought: both at once.\n1. search("Ada Lovelace")\n2. search("Charles Babbage")\n3. join()<END_OF_PLAN>'
    if system.startswith("You read the results"):
        return "Thought: 1791 is before 1815.\nAction: Finish(Charles Babbage)"
    if last.count("Observation:") < 2:
        name = "Ada Lovelace" if "Observation:" not in last else "Charles Babbage"
        return f'Thought: look it up.\nAction: search("{name}")'
    return "Thought: 1791 is before 1815.\nAction: Finish(Charles Babbage)"


@pytest.fixture
async def servers():
    async with OpenAIServer() as llm, WikipediaServer(pages=PAGES) as wiki:
        llm.script(None, *[respond] * 50)
        yield llm, wiki


async def run_cli(*args: str, env: dict | None = None, stdin: bytes | None = None, cwd: Path = ROOT):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_", "FRIENDLI_"))}
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        *entry_point(),
        *args,
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=90)
    return process.returncode, out.decode(), err.decode()


def model_args(servers):
    llm, wiki = servers
    return ["--model_name", "scripted", "--base_url", llm.base_url, "--wikipedia_url", wiki.api_url]


async def test_ask_then_trace(servers, tmp_path):
    llm, wiki = servers
    trace = tmp_path / "run.json"
    code, out, err = await run_cli("ask", QUESTION, *model_args(servers), "--trace", str(trace), env={"OPENAI_API_KEY": "k"})
    assert code == 0, err
    assert out.strip() == "Charles Babbage"
    assert len(wiki.requests) >= 2
    assert json.loads(trace.read_text())["format"] == "llmcompiler-trace"

    code, out, err = await run_cli("trace", str(trace), "--out", str(tmp_path / "rendered"))
    assert code == 0, err
    rendered = tmp_path / "rendered"
    assert (rendered / "run.png").stat().st_size > 0
    html = (rendered / "run.html").read_text()
    assert 'search("Ada Lovelace")' in html.replace("&quot;", '"') and 'data-task="2"' in html
    assert (rendered / "run.mmd").read_text().startswith("flowchart")
    assert "flowchart" in out and "Charles Babbage" in out  # Mermaid text and the summary's answer
    assert "critical path" in out.lower()


async def test_ask_verbose_react_and_piped_context(servers):
    llm, _ = servers
    code, out, err = await run_cli("ask", "-q", QUESTION, *model_args(servers), "-v", env={"OPENAI_API_KEY": "k"})
    assert code == 0, err
    assert out.strip() == "Charles Babbage"
    assert re.search(r"\$1 .*search", err) and "Finish" in err  # the live view, as plain lines (no terminal)

    code, out, err = await run_cli("ask", QUESTION, *model_args(servers), "--react", env={"OPENAI_API_KEY": "k"})
    assert code == 0, err
    assert out.strip() == "Charles Babbage"

    code, out, err = await run_cli(
        "ask", QUESTION, *model_args(servers), env={"OPENAI_API_KEY": "k"}, stdin=b"Both were English mathematicians."
    )
    assert code == 0, err
    planner_prompt = llm.requests[-2].json["messages"][-1]["content"]
    assert "Context:\nBoth were English mathematicians." in planner_prompt

    code, out, err = await run_cli("ask", *model_args(servers), env={"OPENAI_API_KEY": "k"}, stdin=QUESTION.encode())
    assert code == 0, err and out.strip() == "Charles Babbage"


async def test_demo_runs_offline(tmp_path):
    code, out, err = await run_cli("demo", "--speed", "40", "--plain", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "simulated" in out.lower()
    assert re.search(r"(\d+\.\d+)x", out)
    pictures = sorted(p.name for p in (tmp_path / "demo").glob("*.png"))
    assert len(pictures) == 2


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["ask", QUESTION], {}, "set the environment variable OPENAI_API_KEY"),
        (["bench", "--benchmark_name", "nope", "--store", "x.json"], {}, "invalid choice: 'nope'"),
        (["ask", QUESTION, "--config", "/no/such/suite"], {"OPENAI_API_KEY": "k"}, "cannot load the tool suite"),
        (["trace", "/no/such/trace.json"], {}, "no trace file"),
        (["ask"], {"OPENAI_API_KEY": "k"}, "no question"),
        (["frobnicate"], {}, "unknown command 'frobnicate'"),
        (["ask", QUESTION, "--model_type", "gpt"], {}, "unknown model_type 'gpt'"),
    ],
)
async def test_user_errors_are_one_line_without_traceback(tmp_path, args, env, message):
    code, out, err = await run_cli(*args, env=env, cwd=tmp_path)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    first = err.strip().splitlines()
    assert first[0].startswith(("error:", "usage:")) or "error:" in first[0]
    if args[0] != "frobnicate":  # that one also prints the command list
        assert len(first) == 1, err


async def test_unreadable_trace_and_debug(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = await run_cli("trace", str(bad))
    assert code == 2 and err.startswith("error: cannot read trace") and len(err.strip().splitlines()) == 1
    code, _, err = await run_cli("trace", str(bad), "--debug")
    assert code == 2 and "Traceback" in err


async def test_bench_runtime_through_the_cli(tmp_path):
    out = tmp_path / "runtime.json"
    code, stdout, err = await run_cli(
        "bench", "runtime", "--workloads", "hotpotqa", "--dag-sizes", "", "--scale", "0.01", "--repeats", "1",
        "--no-plots", "--no-memory", "--no-profile", "--quiet", "--out", str(out), "--markdown", str(tmp_path / "r.md"),
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["mode"] == "full" and "|" in stdout
