"""`llmcompiler demo --code`: the code interpreter offline. Scripted models, real code, a real kernel.

    llmcompiler demo --code                          # Jupyter kernels (the `code` extra)
    llmcompiler demo --code --code_backend subprocess

The planner, the joiner and the model behind `code(...)` are `ScriptedModel`s: their replies
are functions of the messages they get, written in advance, so no model is called and no
key is needed. Everything else is real: the plans are parsed and scheduled as any plan is,
the code they write runs in a Jupyter kernel (or a fresh Python process), and the answers
are read off what the code printed. Four questions, the offline examples of code-interpreter
tools (EvalGPT's):

1. the sha256 of "hello,world": one `python(...)` call;
2. the average DAU of a CSV piped in (saved as `stdin.txt`, as `llmcompiler ask` does): the
   first code the model writes uses a wrong column name, the traceback goes back to it and
   the second try works;
3. an image put into the workspace (as `--file a.png` does) converted: to WebP with Pillow
   (`a.webp`); to BMP where Pillow cannot write WebP; to PPM by a pure-Python PNG decoder
   where Pillow is missing (the demo asks the interpreter which it has);
4. a line chart of the CSV saved as PNG (matplotlib; a hand-written SVG without it) and its
   summary numbers, as two `code(...)` tasks that run at the same time.
"""

from __future__ import annotations

import json
import re
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from llmcompiler.agents import LLMCompiler, RunResult
from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.code.tools import Interpreter
from llmcompiler.llm.base import Message
from llmcompiler.llm.scripted import ScriptedModel
from llmcompiler.view import make_view

__all__ = ["DAU_CSV", "SHA256_HELLO_WORLD", "CodeDemoReport", "Example", "ExampleResult", "run_code_demo"]

SHA256_HELLO_WORLD = "77df263f49123356d28a4a8715d25bf5b980beeeb503cab46ea61ac9f3320eda"
# a week of daily active users; the mean is 1360.0
DAU_CSV = """\
date,dau
2024-03-04,1200
2024-03-05,1350
2024-03-06,1420
2024-03-07,1280
2024-03-08,1510
2024-03-09,1390
2024-03-10,1370
"""
AVERAGE_DAU = "Average DAU: 1360.0"

TTFT = 0.2  # seconds to the first token of every scripted reply
TOKENS_PER_SECOND = 150.0

_FILES_NOTE = "Files in the workspace (the code's working directory):"


@dataclass(frozen=True)
class Example:
    title: str
    question: str
    plan: str
    joiner: Callable[[str], str]  # the scratchpad the joiner is shown -> its reply
    expect: str  # what the answer must contain


@dataclass
class ExampleResult:
    example: Example
    run: RunResult
    created: tuple[Path, ...]
    parallel: tuple[int, ...] = ()  # ids of code tasks that ran at the same time

    @property
    def ok(self) -> bool:
        return self.run.error is None and self.example.expect in self.run.answer


@dataclass
class CodeDemoReport:
    backend: str
    workspace: Path
    results: list[ExampleResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


# -- what the interpreter has ------------------------------------------------------------------

_PROBE = """\
import importlib.util, json
found = {"pillow": importlib.util.find_spec("PIL") is not None,
         "matplotlib": importlib.util.find_spec("matplotlib") is not None, "webp": False}
if found["pillow"]:
    from PIL import features
    found["webp"] = bool(features.check("webp"))
print(json.dumps(found))
"""


async def _probe(interpreter: Interpreter) -> dict[str, bool]:
    """Ask the code's own Python which image libraries it has (it may not be ours)."""
    result = await interpreter.executor.run(_PROBE, session="probe")
    await interpreter.executor.release("probe")
    try:
        found = json.loads(result.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        found = {}
    return {key: bool(found.get(key)) for key in ("pillow", "matplotlib", "webp")}


# -- the scripted code model --------------------------------------------------------------------

_DAU_FIRST_TRY = """\
import csv

with open("stdin.txt", newline="") as handle:
    rows = list(csv.DictReader(handle))
values = [float(row["DAU"]) for row in rows]
print(f"Average DAU: {sum(values) / len(values)}")
"""

_DAU_FIXED = """\
import csv

with open("stdin.txt", newline="") as handle:
    rows = list(csv.DictReader(handle))
column = next(name for name in rows[0] if name.strip().lower() == "dau")
values = [float(row[column]) for row in rows]
print(f"Average DAU: {sum(values) / len(values)}")
"""

_TO_WEBP = """\
import os
from PIL import Image

Image.open("a.png").save("a.webp", "WEBP", lossless=True)
print(f"a.png: {os.path.getsize('a.png')} bytes -> a.webp: {os.path.getsize('a.webp')} bytes")
"""

_TO_BMP = """\
import os
from PIL import Image

Image.open("a.png").convert("RGB").save("a.bmp")
print(f"a.png: {os.path.getsize('a.png')} bytes -> a.bmp: {os.path.getsize('a.bmp')} bytes")
"""

_TO_PPM = """\
import os
import struct
import zlib

data = open("a.png", "rb").read()
if data[:8] != b"\\x89PNG\\r\\n\\x1a\\n":
    raise ValueError("a.png is not a PNG file")
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
if (depth, color, interlace) != (8, 2, 0):
    raise ValueError("this converter reads 8-bit RGB PNGs without interlacing only")
raw, stride = zlib.decompress(idat), width * 3
rows, previous = [], bytearray(stride)
for y in range(height):
    start = y * (stride + 1)
    kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
    for i in range(stride):
        left = line[i - 3] if i >= 3 else 0
        up = previous[i]
        corner = previous[i - 3] if i >= 3 else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 2:
            line[i] = (line[i] + up) & 255
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 255
        elif kind == 4:
            guess = left + up - corner
            near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner))
            line[i] = (line[i] + near[2]) & 255
    rows.append(bytes(line))
    previous = line
with open("a.ppm", "wb") as out:
    out.write(b"P6 %d %d 255\\n" % (width, height) + b"".join(rows))
print(f"a.png: {os.path.getsize('a.png')} bytes -> a.ppm: {os.path.getsize('a.ppm')} bytes")
"""

_CHART_PNG = """\
import csv
import matplotlib.pyplot as plt

with open("dau.csv", newline="") as handle:
    rows = list(csv.DictReader(handle))
dates = [row["date"][5:] for row in rows]
dau = [int(row["dau"]) for row in rows]
figure, axes = plt.subplots(figsize=(6, 3.5))
axes.plot(dates, dau, marker="o")
axes.set_xlabel("date")
axes.set_ylabel("daily active users")
axes.set_title("DAU by day")
figure.tight_layout()
figure.savefig("dau-chart.png", dpi=100)
plt.close(figure)
print(f"Saved a line chart of {len(dau)} days as dau-chart.png")
"""

_CHART_SVG = """\
import csv

with open("dau.csv", newline="") as handle:
    rows = list(csv.DictReader(handle))
dau = [int(row["dau"]) for row in rows]
low, high = min(dau), max(dau)
points = " ".join(
    f"{20 + i * 360 / (len(dau) - 1):.1f},{180 - (v - low) * 160 / ((high - low) or 1):.1f}" for i, v in enumerate(dau)
)
svg = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">'
    f'<polyline fill="none" stroke="steelblue" stroke-width="2" points="{points}"/></svg>'
)
open("dau-chart.svg", "w").write(svg)
print(f"Saved a line chart of {len(dau)} days as dau-chart.svg")
"""

_STATS = """\
import csv
import statistics

with open("dau.csv", newline="") as handle:
    dau = [int(row["dau"]) for row in csv.DictReader(handle)]
print(f"DAU over {len(dau)} days: min {min(dau)}, max {max(dau)}, mean {statistics.mean(dau):.1f}")
"""

_CONVERSIONS = {"WebP": _TO_WEBP, "BMP": _TO_BMP, "PPM": _TO_PPM}


def _code_reply(messages: list[Message]) -> str:
    """What the scripted programmer writes for a task (and writes again after a traceback)."""
    task = messages[1].content
    tries = sum(1 for m in messages if m.role == "assistant")
    if "average" in task:
        code = _DAU_FIRST_TRY if tries == 0 else _DAU_FIXED
    elif "convert" in task:
        code = next(code for name, code in _CONVERSIONS.items() if f"to {name}" in task)
    elif "line chart" in task:
        code = _CHART_PNG if ".png" in task else _CHART_SVG
    else:
        code = _STATS
    return f"```python\n{code}```"


# -- the examples -----------------------------------------------------------------------------


def last_match(pattern: str, text: str) -> str | None:
    """The last match of `pattern` in `text` (its group, if it has one)."""
    matches = re.findall(pattern, text)
    return matches[-1] if matches else None


def finish_reply(thought: str, answer: str | None, missing: str) -> str:
    """A scripted joiner's reply: Finish(answer), or Finish(no answer: ...) saying what is missing."""
    if answer is None:
        return f"Thought: {missing}\nAction: Finish(no answer: {missing})"
    return f"Thought: {thought}\nAction: Finish({answer})"


def sha256_joiner(scratchpad: str) -> str:
    digest = last_match(r"Observation: ([0-9a-f]{64})\b", scratchpad)
    return finish_reply("The code printed the digest.", digest, "the code printed no digest")


def _dau_joiner(scratchpad: str) -> str:
    average = last_match(r"Average DAU: \d[\d.]*", scratchpad)
    return finish_reply("The code read the piped CSV and printed the average.", average, "no average was printed")


def _image_joiner(target: str) -> Callable[[str], str]:
    def reply(scratchpad: str) -> str:
        sizes = last_match(rf"a\.png: \d+ bytes -> a\.{target}: \d+ bytes", scratchpad)
        answer = f"Converted a.png to a.{target} ({sizes})" if sizes else None
        return finish_reply(f"The code wrote a.{target}.", answer, f"a.{target} was not written")

    return reply


def _chart_joiner(chart: str) -> Callable[[str], str]:
    def reply(scratchpad: str) -> str:
        stats = last_match(r"DAU over \d+ days: [^\n]+", scratchpad)
        drawn = f"created file: {chart}" in scratchpad
        answer = f"The line chart is in {chart}. {stats}" if stats and drawn else None
        thought = "Task 1 drew the chart; task 2 computed the numbers at the same time."
        return finish_reply(thought, answer, "a part is missing")

    return reply


def _examples(found: dict[str, bool]) -> tuple[list[Example], list[str]]:
    notes = []
    target = "WebP" if found["webp"] else "BMP" if found["pillow"] else "PPM"
    if target != "WebP":
        why = "Pillow cannot write WebP there" if found["pillow"] else "Pillow is not installed there"
        notes.append(f"The image is converted to {target}, not WebP: {why}.")
    chart = "dau-chart.png" if found["matplotlib"] else "dau-chart.svg"
    if not found["matplotlib"]:
        notes.append("matplotlib is not installed where the code runs, so the chart is a hand-written SVG.")
    extension = target.lower()
    piped = f"calculate the average dau\n\nContext:\n{DAU_CSV.strip()}"
    return [
        Example(
            "sha256",
            'What is the sha256 hex digest of "hello,world"?',
            "1. python(\"import hashlib\\nprint(hashlib.sha256(b'hello,world').hexdigest())\")\n2. join()<END_OF_PLAN>",
            sha256_joiner,
            SHA256_HELLO_WORLD,
        ),
        Example(
            "the average of a piped CSV (cat dau.csv | llmcompiler ask -q 'calculate the average dau')",
            piped,
            '1. code("calculate the average of the dau column of the CSV in stdin.txt and print it as '
            "'Average DAU: <value>'\")\n2. join()<END_OF_PLAN>",
            _dau_joiner,
            AVERAGE_DAU,
        ),
        Example(
            f"an image converted (--file a.png): PNG to {target}",
            f"Convert a.png to {target}.",
            f'1. code("convert a.png to {target}, saved as a.{extension}, and print both file sizes")\n'
            "2. join()<END_OF_PLAN>",
            _image_joiner(extension),
            f"a.{extension}",
        ),
        Example(
            "a line chart from a CSV, and its numbers, as two code tasks at the same time",
            "Draw the daily active users in dau.csv as a line chart, and give me their min, max and mean.",
            "Thought: The chart and the numbers do not need each other, so they run at the same time.\n"
            f'1. code("draw dau over date from dau.csv as a line chart saved as {chart}")\n'
            '2. code("print the min, max and mean of the dau column of dau.csv")\n'
            "3. join()<END_OF_PLAN>",
            _chart_joiner(chart),
            chart,
        ),
    ], notes


# -- running them -----------------------------------------------------------------------------


def png_bytes(width: int = 96, height: int = 64) -> bytes:
    """A small RGB gradient as a PNG file's bytes (written by hand: no imaging library needed)."""
    rows = b"".join(
        b"\x00" + bytes(value for x in range(width) for value in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _model(reply: Callable[[list[Message]], str], name: str, speed: float) -> ScriptedModel:
    return ScriptedModel(reply, ttft=TTFT / speed, tokens_per_second=TOKENS_PER_SECOND * speed, name=name)


def _overlapping(run: RunResult) -> tuple[int, ...]:
    """Ids of code tasks whose run times overlap another code task's."""
    spans = [
        (t.idx, t.started_at, t.finished_at)
        for t in run.tasks
        if t.tool == "code" and t.started_at is not None and t.finished_at is not None
    ]
    return tuple(
        i
        for i, start, end in spans
        if any(j != i and start < other_end and other_start < end for j, other_start, other_end in spans)
    )


async def _run_example(
    example: Example,
    interpreter: Interpreter,
    code_model: ScriptedModel,
    *,
    speed: float,
    stream: IO[str],
    live: bool | None,
) -> ExampleResult:
    tools = [interpreter.python_tool(), interpreter.code_tool(code_model)]
    joiner = _model(lambda messages: example.joiner(messages[-1].content), "simulated-joiner", speed)
    compiler = LLMCompiler(
        tools=tools, planner=_model(lambda _: example.plan, "simulated-planner", speed), joiner=joiner, max_replans=0
    )
    listing = interpreter.describe()
    question = f"{example.question}\n\n{_FILES_NOTE}\n{listing}"
    before = interpreter.workspace.snapshot()
    with make_view(stream=stream, live=live, title=example.title, agent="llmcompiler") as view:
        run = await compiler.ainvoke(question, on_event=view)
    return ExampleResult(example, run, interpreter.workspace.changed_since(before), _overlapping(run))


async def run_code_demo(
    *,
    config: InterpreterConfig | None = None,
    workspace: str | Path | None = None,
    speed: float = 1.0,
    stream: IO[str] | None = None,
    live: bool | None = False,
    started: list[Path] | None = None,
) -> CodeDemoReport:
    """Run the four examples in one workspace and print each question, answer and created file.

    `started` gets the workspace folder as soon as it exists (for a caller interrupted midway).
    """
    stream = stream if stream is not None else sys.stdout
    async with Interpreter(config=config, workspace=workspace) as interpreter:
        if started is not None:
            started.append(interpreter.root)
        report = CodeDemoReport(interpreter.config.backend, interpreter.root)
        _write(stream, _intro(interpreter))
        with tempfile.TemporaryDirectory(prefix="llmcompiler-demo-inputs-") as inputs:
            (Path(inputs) / "dau.csv").write_text(DAU_CSV, encoding="utf-8")
            (Path(inputs) / "a.png").write_bytes(png_bytes())
            interpreter.add_files([Path(inputs) / "dau.csv", Path(inputs) / "a.png"])
        interpreter.add_text("stdin.txt", DAU_CSV)
        examples, report.notes = _examples(await _probe(interpreter))
        code_model = _model(_code_reply, "simulated-programmer", speed)
        for number, example in enumerate(examples, 1):
            _write(stream, f"\n[{number}/{len(examples)}] {example.title}\n")
            result = await _run_example(example, interpreter, code_model, speed=speed, stream=stream, live=live)
            report.results.append(result)
            _write(stream, _format_result(result, interpreter.root))
    _write(stream, format_report(report))
    return report


def _intro(interpreter: Interpreter) -> str:
    return (
        "Simulated models: the planner, the joiner and the programmer behind code(...) are scripted replies; "
        f"no model is called. The code is real and runs on the {interpreter.config.backend} backend "
        f"in {interpreter.root}.\n"
    )


def _format_result(result: ExampleResult, root: Path) -> str:
    question = result.example.question.split("\n\nContext:")[0]
    lines = [f"Question: {question}"]
    for task in result.run.tasks:
        if task.tool == "join":
            continue
        took = f" ({task.duration:.2f} s)" if task.duration is not None else ""
        lines.append(f"  ${task.idx} {task.tool}{took}: {task.status.value}")
    if len(result.parallel) > 1:
        ids = " and ".join(f"${i}" for i in result.parallel)
        lines.append(f"  {ids} ran at the same time, each in a session of its own")
    for task in result.run.tasks:
        if "worked on try" in str(task.observation):
            lines.append(f"  ${task.idx}: the first code raised; the model read the traceback and fixed it")
    lines.append(f"Answer: {result.run.answer or result.run.error}")
    lines.extend(f"created file: {path}" for path in result.created)
    return "\n".join(lines) + "\n"


def format_report(report: CodeDemoReport) -> str:
    """The closing lines: what was simulated, whether every answer checks out, where the files are."""
    good = sum(r.ok for r in report.results)
    lines = ["", *report.notes]
    lines.append(f"{good} of {len(report.results)} answers check out ({report.backend} backend).")
    lines.append(f"workspace: {report.workspace}")
    return "\n".join(lines) + "\n"


def _write(stream: IO[str], text: str) -> None:
    stream.write(text)
    stream.flush()
