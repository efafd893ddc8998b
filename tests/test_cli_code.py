"""The code interpreter through the installed `llmcompiler` command, against the loopback OpenAI server.

The server's replies are functions of the request: the planner's plan, the programmer's code
and the joiner's answer, which it reads off the observations the real code produced. The
examples are EvalGPT's offline ones: a sha256, the average of a piped CSV, an image converted
with --file, a line chart. Most runs use the subprocess backend; the chart and Ctrl-C run on
Jupyter kernels.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.demo_code import AVERAGE_DAU, DAU_CSV, SHA256_HELLO_WORLD, png_bytes
from llmcompiler.testing import OpenAIServer

PLANNER = "You plan how to answer"
JOINER = "You read the results"
PROGRAMMER = "You write Python code"


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("llmcompiler")
    found = str(script) if script.exists() else shutil.which("llmcompiler")
    assert found, "the llmcompiler console script is not installed (pip install -e .)"
    return [found]


async def run_cli(*args: str, cwd: Path, stdin: bytes | None = None, timeout: float = 90) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "LLMCOMPILER_"))}
    environment["OPENAI_API_KEY"] = "k"
    environment["TMPDIR"] = str(cwd)  # the default workspace folder is made there, not in /tmp
    process = await asyncio.create_subprocess_exec(
        *entry_point(),
        *args,
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=timeout)
    return process.returncode, out.decode(), err.decode()


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def last_match(pattern: str, text: str) -> str:
    found = re.findall(pattern, text)
    return found[-1] if found else "nothing found"


class Script:
    """What the scripted planner, programmer and joiner write for one question."""

    def __init__(self, plan: str, code: dict[str, str] | None = None, answer: str = r"(.+)") -> None:
        self.plan, self.code, self.answer = plan, code or {}, answer

    def __call__(self, body: dict) -> str:
        system = body["messages"][0]["content"]
        last = body["messages"][-1]["content"]
        if system.startswith(PLANNER):
            return self.plan
        if system.startswith(PROGRAMMER):
            task = body["messages"][1]["content"]
            return fenced(next(code for key, code in self.code.items() if key in task))
        assert system.startswith(JOINER), system[:80]
        return f"Thought: read off the output.\nAction: Finish({last_match(self.answer, last)})"


@pytest.fixture
async def llm():
    async with OpenAIServer() as server:
        yield server


def model_args(server: OpenAIServer) -> list[str]:
    return ["--model_name", "scripted", "--base_url", server.base_url]


def created(out: str) -> list[Path]:
    return [Path(line.removeprefix("created file: ")) for line in out.splitlines() if line.startswith("created file: ")]


def workspace_of(out: str) -> Path:
    return Path(last_match(r"workspace: (.+)", out))


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working directory is `folder` (a kernel runs there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_sha256_with_config_code(llm, tmp_path):
    plan = (
        '1. python("import hashlib\\nprint(hashlib.sha256(b\'hello,world\').hexdigest())")\n'
        '2. python("import os\\nprint(\'key:\', os.environ.get(\'OPENAI_API_KEY\'))")\n3. join()<END_OF_PLAN>'
    )
    llm.script(None, *[Script(plan, answer=r"Observation: ([0-9a-f]{64})")] * 2)
    code, out, err = await run_cli(
        "ask", "-q", 'sha256 of "hello,world"', "--config", "code", "--code_backend", "subprocess", *model_args(llm),
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == SHA256_HELLO_WORLD
    workspace = workspace_of(out)
    assert workspace.parent == tmp_path and workspace.name.startswith("llmcompiler-workspace-") and created(out) == []
    tools = llm.requests[0].json["messages"][0]["content"]
    assert "python(code: str)" in tools and "NO state is kept" in tools and "code(task: str" in tools
    assert "Observation: key: None" in llm.requests[1].json["messages"][-1]["content"]  # the CLI had the key


async def test_code_timeout_stops_a_cell_and_the_joiner_sees_why(llm, tmp_path):
    plan = '1. python("while True:\\n    pass")\n2. join()<END_OF_PLAN>'
    llm.script(None, *[Script(plan, answer=r"(ERROR: ToolError: [^\n]+)")] * 2)
    code, out, err = await run_cli(
        "ask", "-q", "loop", "--code_backend", "subprocess", "--code_timeout", "0.5", *model_args(llm), cwd=tmp_path
    )
    assert code == 0, err
    assert out.splitlines()[0] == "ERROR: ToolError: the code ran past its time limit and was stopped"
    scratchpad = llm.requests[1].json["messages"][-1]["content"]
    assert "timed out: the cell ran past its timeout of 0.5 s" in scratchpad


async def test_the_average_of_a_piped_csv(llm, tmp_path):
    plan = '1. code("the average of column dau of the CSV in stdin.txt, printed as Average DAU: <value>")\n2. join()<END_OF_PLAN>'
    average = (
        "import csv\nrows = list(csv.DictReader(open('stdin.txt')))\n"
        "print('Average DAU:', sum(float(r['dau']) for r in rows) / len(rows))"
    )
    llm.script(None, *[Script(plan, {"stdin.txt": average}, answer=r"Average DAU: \d[\d.]*")] * 3)
    code, out, err = await run_cli(
        "ask", "-q", "calculate the average dau", "--code_backend", "subprocess", *model_args(llm),
        cwd=tmp_path, stdin=DAU_CSV.encode(),
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == AVERAGE_DAU
    workspace = workspace_of(out)
    assert (workspace / "stdin.txt").read_text() == DAU_CSV
    question = llm.requests[0].json["messages"][-1]["content"]
    assert "Context:\ndate,dau\n2024-03-04,1200" in question
    assert "Files in the workspace (the code's working directory):\n- stdin.txt (121 bytes), first lines:" in question
    programmer = llm.requests[1].json["messages"]
    assert programmer[0]["content"].startswith(PROGRAMMER) and "stdin.txt" in programmer[0]["content"]


async def test_a_large_piped_input_is_quoted_only_in_part_and_kept_whole_in_the_workspace(llm, tmp_path):
    rows = "".join(f"2024-01-{i % 28 + 1:02d},{1000 + i}\n" for i in range(5000))
    piped = "date,dau\n" + rows
    plan = '1. code("the number of rows of stdin.txt")\n2. join()<END_OF_PLAN>'
    count = "print('rows:', sum(1 for _ in open('stdin.txt')) - 1)"
    llm.script(None, *[Script(plan, {"stdin.txt": count}, answer=r"rows: \d+")] * 3)
    code, out, err = await run_cli(
        "ask", "-q", "how many rows?", "--code_backend", "subprocess", *model_args(llm),
        cwd=tmp_path, stdin=piped.encode(),
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == "rows: 5000"
    assert (workspace_of(out) / "stdin.txt").read_text() == piped
    question = llm.requests[0].json["messages"][-1]["content"]
    assert "Context:\ndate,dau\n2024-01-01,1000" in question
    assert f"[... the rest of the {len(piped):,} characters piped in is in stdin.txt]" in question
    assert len(question) < len(piped) // 10


async def test_an_image_via_file_is_converted_and_the_new_file_reported(llm, tmp_path):
    (tmp_path / "pictures").mkdir()
    (tmp_path / "pictures" / "a.png").write_bytes(png_bytes())
    (tmp_path / "run").mkdir()
    plan = '1. code("convert a.png to WebP, saved as a.webp")\n2. join()<END_OF_PLAN>'
    convert = "from PIL import Image\nImage.open('a.png').save('a.webp')\nprint('wrote a.webp')"
    llm.script(None, *[Script(plan, {"a.png": convert}, answer=r"created file: (\S+)")] * 3)
    code, out, err = await run_cli(
        "ask", "-q", "convert a.png to webp", "--file", "../pictures/a.png", "--code_backend", "subprocess",
        "--workspace", "ws", *model_args(llm), cwd=tmp_path / "run",
    )  # fmt: skip
    assert code == 0, err
    workspace = (tmp_path / "run" / "ws").resolve()
    assert out.splitlines() == ["a.webp", f"created file: {workspace / 'a.webp'}", f"workspace: {workspace}"]
    assert (workspace / "a.webp").read_bytes()[8:12] == b"WEBP"
    assert sorted(p.name for p in workspace.iterdir() if not p.name.startswith(".")) == ["a.png", "a.webp"]
    assert "- a.png (12.5 KiB, binary)" in llm.requests[0].json["messages"][-1]["content"]


@pytest.mark.timeout(120)
async def test_a_line_chart_from_a_csv_on_jupyter(llm, tmp_path):
    (tmp_path / "dau.csv").write_text(DAU_CSV)
    plan = (
        "Thought: the chart and the mean are independent.\n"
        '1. code("draw dau over date from dau.csv as a line chart saved as dau.png")\n'
        '2. code("print the mean of dau in dau.csv")\n3. join()<END_OF_PLAN>'
    )
    chart = (
        "import csv\nimport matplotlib.pyplot as plt\nrows = list(csv.DictReader(open('dau.csv')))\n"
        "plt.plot([r['date'] for r in rows], [int(r['dau']) for r in rows])\nplt.savefig('dau.png')\nprint('saved')"
    )
    mean = "import csv\nrows = list(csv.DictReader(open('dau.csv')))\nprint('mean', sum(int(r['dau']) for r in rows) / len(rows))"
    llm.script(None, *[Script(plan, {"line chart": chart, "mean": mean}, answer=r"mean \S+")] * 4)
    code, out, err = await run_cli("ask", "-q", "chart the dau", "--file", "dau.csv", *model_args(llm), cwd=tmp_path)
    assert code == 0, err  # the default backend: Jupyter
    assert out.splitlines()[0] == "mean 1360.0"
    files = {path.name: path for path in created(out)}
    assert "dau.png" in files and files["dau.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the kernel also shows the figure still open at the cell's end: written as output-N-K.png
    assert all(name == "dau.png" or re.fullmatch(r"output-\d+-\d+\.png", name) for name in files), files
    assert "IPython" in llm.requests[1].json["messages"][0]["content"]  # the programmer was told: a kernel
    assert processes_in(workspace_of(out)) == []  # no kernel outlives the command


async def test_a_missing_file_is_one_line_before_anything_starts(llm, tmp_path):
    code, out, err = await run_cli("ask", "-q", "x", "--file", "nope.csv", *model_args(llm), cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == "error: --file nope.csv: no such file\n"
    assert llm.requests == []
    code, _, err = await run_cli("ask", "-q", "x", "--file", str(tmp_path), *model_args(llm), cwd=tmp_path)
    assert code == 2 and err.strip().endswith("not a file") and len(err.strip().splitlines()) == 1


async def test_a_python_without_ipykernel(llm, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    python = bare / "bin" / "python"
    code, out, err = await run_cli("ask", "-q", "x", "--python_interpreter", str(python), *model_args(llm), cwd=tmp_path)
    assert code == 2 and out == ""
    assert "ipykernel is not installed in" in err and str(python) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

    plan = '1. python("import sys\\nprint(\'prefix\', sys.prefix)")\n2. join()<END_OF_PLAN>'
    llm.script(None, *[Script(plan, answer=r"prefix (\S+)")] * 2)
    code, out, err = await run_cli(
        "ask", "-q", "which python?", "--python_interpreter", str(python), "--code_backend", "subprocess",
        *model_args(llm), cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    assert Path(out.splitlines()[0]).resolve() == bare.resolve()  # the subprocess backend needs no ipykernel


def test_without_jupyter_the_default_backend_is_one_line_naming_the_extra(tmp_path):
    # the packages made unimportable in a fresh interpreter, as where they are not installed
    blocked = (
        "import sys\nsys.modules['jupyter_client'] = sys.modules['ipykernel'] = None\n"
        "from llmcompiler.cli import main\nsys.exit(main(sys.argv[1:]))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, "-c", blocked, "ask", "-q", "x", "--file", __file__, "--base_url", "http://127.0.0.1:9/v1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env={**environment, "OPENAI_API_KEY": "k"},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: the Jupyter code backend needs jupyter_client and ipykernel: "
        'pip install "llmcompiler[code]", or use the subprocess backend (--code_backend subprocess)\n'
    )


@pytest.mark.timeout(120)
async def test_ctrl_c_stops_the_cell_and_shuts_the_kernels_down(llm, tmp_path):
    workspace = tmp_path / "ws"
    plan = '1. code("wait")\n2. join()<END_OF_PLAN>'
    wait = "import pathlib, time\npathlib.Path('started.txt').write_text('1')\ntime.sleep(60)"
    llm.script(None, Script(plan, {"wait": wait}), Script(plan, {"wait": wait}))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLMCOMPILER_"))}
    process = await asyncio.create_subprocess_exec(
        *entry_point(), "ask", "-q", "wait", "--workspace", str(workspace), *model_args(llm),
        cwd=tmp_path, env={**environment, "OPENAI_API_KEY": "k"},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(3000):  # bounded: the cell writes the file once its kernel runs it
            if (workspace / "started.txt").exists():
                break
            await asyncio.sleep(0.02)
        assert (workspace / "started.txt").exists(), "the cell never started"
        kernels = processes_in(workspace.resolve())
        assert kernels, "no kernel runs in the workspace"
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, err.decode()
    assert f"the workspace is kept at {workspace.resolve()}" in err.decode()
    assert processes_in(workspace.resolve()) == []
