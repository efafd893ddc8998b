"""`llmcompiler serve --demo`: scripted models for the web UI, so it runs with no key.

The script is picked by the question's words (the user's own question, not the context the
server adds to it):

- the rivers (`llmcompiler.demo.QUESTION`): four simulated searches at once, then `math`;
- "sha256": one `python(...)` call;
- "average": a `code(...)` task reads the uploaded CSV and writes `average.txt`;
- "chart"/"plot": two `code(...)` tasks at once, a line chart of the uploaded CSV and its numbers;
- anything else: an answer naming the questions the demo knows.

The planner, joiner and programmer are `ScriptedModel`s streaming at the demos' speeds
(`speed` divides every latency); the code is real and runs in the session's workspace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from llmcompiler import demo as search_demo
from llmcompiler import demo_code
from llmcompiler.agents import LLMCompiler
from llmcompiler.llm.base import Message
from llmcompiler.llm.scripted import ScriptedModel

if TYPE_CHECKING:
    from llmcompiler.code.tools import Interpreter

__all__ = ["DEMO_QUESTIONS", "demo_agent", "needs_interpreter"]

DEMO_QUESTIONS = (
    search_demo.QUESTION,
    'What is the sha256 hex digest of "hello,world"?',
    "Upload a CSV, then: what is the average of each column of the CSV? (the result goes to average.txt)",
    "Upload a CSV, then: draw the CSV as a line chart, and give me its min, max and mean.",
)

_HELP = (
    "This is the offline demo: its models are scripted and know four questions. Ask about the combined "
    "length of the Aldermoor, Brennic, Caldwyn and Dunmere rivers; ask for the sha256 digest of "
    '"hello,world"; upload a CSV and ask for its average, written to average.txt; or upload a CSV and '
    "ask for a line chart of it."
)

_AVERAGE_CODE = """\
import csv
from pathlib import Path

table = sorted(Path(".").glob("*.csv"))
if not table:
    raise FileNotFoundError("no CSV file was uploaded")
with table[0].open(newline="") as handle:
    rows = list(csv.DictReader(handle))
lines = []
for column in rows[0]:
    try:
        values = [float(row[column]) for row in rows]
    except (TypeError, ValueError):
        continue
    lines.append(f"Average {column.strip()}: {sum(values) / len(values)}")
if not lines:
    raise ValueError(f"{table[0].name} has no numeric column")
Path("average.txt").write_text("\\n".join(lines) + "\\n")
print(f"{table[0].name}, {len(rows)} rows")
print("\\n".join(lines))
"""

_CHART_CODE = """\
import csv
from pathlib import Path

table = sorted(Path(".").glob("*.csv"))[0]
with table.open(newline="") as handle:
    rows = list(csv.DictReader(handle))
columns = list(rows[0])
values = [float(row[columns[-1]]) for row in rows]
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    low, high = min(values), max(values)
    step = 360 / max(len(values) - 1, 1)
    scale = 160 / ((high - low) or 1)
    points = " ".join(f"{20 + i * step:.1f},{180 - (v - low) * scale:.1f}" for i, v in enumerate(values))
    Path("chart.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200">'
        f'<polyline fill="none" stroke="steelblue" stroke-width="2" points="{points}"/></svg>'
    )
    print("Saved a line chart as chart.svg")
else:
    figure, axes = plt.subplots(figsize=(6, 3.5))
    axes.plot([row[columns[0]] for row in rows], values, marker="o")
    axes.set_xlabel(columns[0])
    axes.set_ylabel(columns[-1])
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig("chart.png", dpi=100)
    plt.close(figure)
    print("Saved a line chart as chart.png")
"""

_STATS_CODE = """\
import csv
import statistics
from pathlib import Path

table = sorted(Path(".").glob("*.csv"))[0]
with table.open(newline="") as handle:
    rows = list(csv.DictReader(handle))
column = list(rows[0])[-1]
values = [float(row[column]) for row in rows]
print(f"{column} over {len(values)} rows: min {min(values):g}, max {max(values):g}, mean {statistics.mean(values):.1f}")
"""


def _programmer(messages: list[Message]) -> str:
    """The scripted model behind `code(...)`: the code for the task it is given."""
    task = messages[1].content if len(messages) > 1 else messages[-1].content
    if "average" in task:
        code = _AVERAGE_CODE
    elif "line chart" in task:
        code = _CHART_CODE
    else:
        code = _STATS_CODE
    return f"```python\n{code}```"


def _average_joiner(scratchpad: str) -> str:
    averages = re.findall(r"Average [^:\n]+: -?[\d.]+(?:e-?\d+)?", scratchpad)
    seen = list(dict.fromkeys(averages))
    answer = "; ".join(seen) + " (written to average.txt)" if seen else None
    missing = "no average was printed" + (" because no CSV was uploaded" if "no CSV file" in scratchpad else "")
    return demo_code.finish_reply("The code read the uploaded CSV and wrote the averages.", answer, missing)


def _chart_joiner(scratchpad: str) -> str:
    chart = demo_code.last_match(r"Saved a line chart as (chart\.\w+)", scratchpad)
    stats = demo_code.last_match(r"\S+ over \d+ rows: [^\n]+", scratchpad)
    answer = f"The line chart is in {chart}. {stats}" if chart and stats else None
    return demo_code.finish_reply(
        "Task 1 drew the chart while task 2 computed the numbers.", answer, "a part is missing"
    )


def _help_joiner(scratchpad: str) -> str:
    return f"Thought: The question is none of the demo's.\nAction: Finish({_HELP})"


_SHA_PLAN = "1. python(\"import hashlib\\nprint(hashlib.sha256(b'hello,world').hexdigest())\")\n2. join()<END_OF_PLAN>"
_AVERAGE_PLAN = (
    "Thought: The uploaded CSV is in the workspace; code reads it and writes the result file.\n"
    '1. code("compute the average of every numeric column of the uploaded CSV, write them to average.txt '
    "and print them as 'Average <column>: <value>'\")\n"
    "2. join()<END_OF_PLAN>"
)
_CHART_PLAN = (
    "Thought: The chart and the numbers do not need each other, so they run at the same time.\n"
    '1. code("draw the last column of the uploaded CSV as a line chart saved as chart.png")\n'
    '2. code("print the min, max and mean of the last column of the uploaded CSV")\n'
    "3. join()<END_OF_PLAN>"
)
_HELP_PLAN = "Thought: This is none of the demo's questions; nothing to look up.\n1. join()<END_OF_PLAN>"


def script_for(question: str) -> str:
    """Which script answers `question`: rivers, sha256, average, chart or help."""
    words = question.lower()
    if "river" in words or any(name.lower() in words for name in search_demo.FACTS):
        return "rivers"
    if "sha256" in words or "sha-256" in words:
        return "sha256"
    if "chart" in words or "plot" in words:
        return "chart"
    if "average" in words or "mean" in words:
        return "average"
    return "help"


def needs_interpreter(question: str) -> bool:
    return script_for(question) in ("sha256", "average", "chart")


def _model(
    reply: Callable[[list[Message]], str], name: str, *, ttft: float, rate: float, speed: float
) -> ScriptedModel:
    return ScriptedModel(reply, ttft=ttft / speed, tokens_per_second=rate * speed, name=name)


def _scratchpad_reader(read: Callable[[str], str]) -> Callable[[list[Message]], str]:
    """A joiner's reply function from one that reads its scratchpad (the last message)."""
    return lambda messages: read(messages[-1].content)


def demo_agent(question: str, *, interpreter: Interpreter | None, speed: float = 1.0) -> LLMCompiler:
    """The scripted LLMCompiler for `question` (the user's words); code scripts need `interpreter`."""
    script = script_for(question)
    if script == "rivers":
        ttft, rate = search_demo.TTFT, search_demo.TOKENS_PER_SECOND
        tools = [search_demo.make_search_tool(speed), search_demo.make_demo_math_tool(speed)]
        plan, joiner = search_demo.PLAN, (lambda _: search_demo.JOINER_REPLY)
    else:
        ttft, rate = demo_code.TTFT, demo_code.TOKENS_PER_SECOND
        plans: dict[str, tuple[str, Callable[[str], str]]] = {
            "sha256": (_SHA_PLAN, demo_code.sha256_joiner),
            "average": (_AVERAGE_PLAN, _average_joiner),
            "chart": (_CHART_PLAN, _chart_joiner),
            "help": (_HELP_PLAN, _help_joiner),
        }
        plan, read = plans[script]
        joiner = _scratchpad_reader(read)
        tools = []
        if interpreter is not None:
            programmer = _model(_programmer, "simulated-programmer", ttft=ttft, rate=rate, speed=speed)
            tools = [interpreter.python_tool(), interpreter.code_tool(programmer)]
    return LLMCompiler(
        tools=tools,
        planner=_model(lambda _: plan, "simulated-planner", ttft=ttft, rate=rate, speed=speed),
        joiner=_model(joiner, "simulated-joiner", ttft=ttft, rate=rate, speed=speed),
        max_replans=0,
    )
