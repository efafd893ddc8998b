"""Ctrl-C: the commands save what finished, say so in one line and exit with status 130.

Each test starts the installed command, waits until it has demonstrably started the slow
part (a line it writes), sends SIGINT and checks what it left behind. The exit is checked
with a generous bound only; the 0.5 s requirement is measured by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from llmcompiler.runtime import events as ev
from llmcompiler.trace import load_trace

ROOT = Path(__file__).resolve().parent.parent
SLOW_TOOLS = '''
import asyncio, sys

def quick(x: str) -> str:
    """Returns x in capitals at once."""
    return x.upper()

async def slow(x: str) -> str:
    """Takes a minute."""
    print("slow tool started", file=sys.stderr, flush=True)
    await asyncio.sleep(60)
    return x

TOOLS = [quick, slow]
'''
REPLIES = {"planner": '1. quick("a")\n2. slow("$1")\n3. join()<END_OF_PLAN>', "joiner": "Action: Finish(done)"}


def entry_point() -> str:
    script = Path(sys.executable).with_name("llmcompiler")
    found = str(script) if script.exists() else shutil.which("llmcompiler")
    assert found, "the llmcompiler console script is not installed (pip install -e .)"
    return found


def _default_sigint() -> None:
    # a shell's background job starts with SIGINT ignored, and Python keeps it ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def interrupt(*command: str, cwd: Path, when: str, stream: str = "stderr") -> tuple[int, str, str, float]:
    """Run `command`, send SIGINT once `when` appears on `stream`; (status, out, err, seconds to exit)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_"))}
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    watched = process.stderr if stream == "stderr" else process.stdout
    before: list[bytes] = []
    try:
        while True:
            line = await asyncio.wait_for(watched.readline(), timeout=30)
            assert line, f"the command ended before {when!r}: {b''.join(before).decode()}"
            before.append(line)
            if when.encode() in line:
                break
        process.send_signal(signal.SIGINT)
        sent = time.perf_counter()
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        took = time.perf_counter() - sent
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = b"".join(before).decode()
    if stream == "stderr":
        return process.returncode, out.decode(), err.decode(), took
    return process.returncode, text + out.decode(), err.decode(), took


def setup(tmp_path: Path) -> list[str]:
    (tmp_path / "slowtools.py").write_text(SLOW_TOOLS)
    (tmp_path / "replies.json").write_text(json.dumps(REPLIES))
    return ["ask", "capitals?", "--tools", "slowtools:TOOLS", "--model_type", "scripted", "--replies", "replies.json"]


async def test_ask_with_trace_writes_what_finished(tmp_path):
    argv = setup(tmp_path)
    code, out, err, took = await interrupt(entry_point(), *argv, "--trace", "t.json", cwd=tmp_path, when="slow tool started")
    assert code == 130
    assert err.strip().splitlines() == ["interrupted; wrote the trace of what finished to t.json"]
    assert out == "" and took < 5
    events = load_trace(tmp_path / "t.json")
    finished = [e.idx for e in events if isinstance(e, ev.TaskFinished)]
    started = [e.idx for e in events if isinstance(e, ev.TaskStarted)]
    assert finished == [1] and started == [1, 2]  # $1 done, $2 was running
    assert isinstance(events[-1], ev.RunFinished) and events[-1].cancelled


async def test_ask_without_verbose_or_trace_says_one_line(tmp_path):
    argv = setup(tmp_path)
    code, out, err, took = await interrupt(entry_point(), *argv, cwd=tmp_path, when="slow tool started")
    assert code == 130 and out == "" and took < 5
    assert err.strip().splitlines() == ["interrupted; nothing was saved (--trace FILE keeps the events of an interrupted run)"]


async def test_ask_verbose_shows_the_cancelled_run_then_the_line(tmp_path):
    argv = setup(tmp_path)
    code, _, err, _ = await interrupt(entry_point(), *argv, "-v", "--trace", "t.json", cwd=tmp_path, when="slow tool started")
    assert code == 130
    lines = err.strip().splitlines()
    assert lines[-1] == "interrupted; wrote the trace of what finished to t.json"
    assert any("cancelled" in line for line in lines[:-1]) and "Traceback" not in err
    assert (tmp_path / "t.json").exists()


async def test_demo_interrupted_in_the_react_half_keeps_the_first_half(tmp_path):
    command = [entry_point(), "demo", "--plain", "--speed", "4", "--out", "demo"]
    code, out, err, took = await interrupt(*command, cwd=tmp_path, when="== ReAct ==", stream="stdout")
    assert code == 130 and took < 5
    [line] = err.strip().splitlines()
    assert line.startswith("interrupted; kept the files of what finished in demo: demo-llmcompiler.trace.json")
    kept = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert "demo-llmcompiler.trace.json" in kept and not any(name.startswith("demo-react") for name in kept)
    events = load_trace(tmp_path / "demo" / "demo-llmcompiler.trace.json")
    assert events[-1].answer == "1050 km"
    assert "Speedup" not in out  # no closing text for a run that did not finish


async def test_bench_interrupted_keeps_the_finished_questions(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "tools.py").write_text(SLOW_TOOLS.replace("TOOLS = [quick, slow]", "def get_tools(context):\n    return [quick, slow]"))
    (suite / "configs.py").write_text('CONFIGS = {"name": "slow", "max_replans": 0}')
    (tmp_path / "questions.json").write_text(
        json.dumps([{"id": "1", "question": "fast?", "answer": "A"}, {"id": "2", "question": "slow?", "answer": "A"}])
    )
    replies = {"planner": ['1. quick("a")\n2. join()<END_OF_PLAN>', REPLIES["planner"]], "joiner": "Action: Finish(A)"}
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    command = [
        sys.executable, str(ROOT / "run_llm_compiler.py"), "--config", "suite", "--dataset", "questions.json",
        "--store", "out.json", "--model_type", "scripted", "--replies", "replies.json", "--no_progress",
    ]  # fmt: skip
    code, _, err, took = await interrupt(*command, cwd=tmp_path, when="slow tool started")
    assert code == 130 and took < 5
    assert err.strip().splitlines()[-1] == "interrupted; the questions that finished are in out.json (the same command resumes)"
    records = json.loads((tmp_path / "out.json").read_text())
    assert list(records) == ["1"] and records["1"]["answer"] == "A"
