"""An offline demo: LLMCompiler and ReAct answer the same question, side by side.

    python -m llmcompiler.demo [--out-dir DIR] [--speed 1] [--plain]

No model is called and no key is needed: the planner, the joiner, the ReAct model and the
math tool's model are `ScriptedModel`s whose replies were written in advance and which
stream them at the speed of a real hosted model. The timings follow the LLMCompiler
paper's measurements (Kim et al., arXiv 2312.04511, Movie Recommendation with
gpt-3.5): about 0.5 s to the first token and 40 word-tokens a second, which makes the
plan take ~1.9 s and the joiner's answer ~1.6 s. The `search` tool looks made-up rivers
up in a small table and sleeps like a Wikipedia request (0.6 s on average, the slowest
1.1 s); `math` is the package's own math tool (`make_math_tool`, evaluating with
`safe_eval`) whose model is scripted too.

The question needs four independent searches and one calculation over all of them.
LLMCompiler runs the searches in parallel while the plan is still streaming; ReAct makes
one model call per step and runs them one after the other. Both runs are shown live,
their traces saved and their timelines drawn.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from llmcompiler._argparse import ArgumentParser, positive_number
from llmcompiler.agents import LLMCompiler, ReActAgent, RunResult
from llmcompiler.llm.base import Message
from llmcompiler.llm.scripted import ScriptedModel
from llmcompiler.tools import Tool
from llmcompiler.tools.math import make_math_tool
from llmcompiler.trace import Timeline, gantt_png, save_trace
from llmcompiler.view import make_view

__all__ = [
    "ANSWER",
    "QUESTION",
    "DemoResult",
    "format_demo",
    "interrupted_demo",
    "main",
    "make_demo_math_tool",
    "make_search_tool",
    "run_demo",
]

# The model's speed (paper-calibrated; see the module docstring and benchmarks/README.md).
TTFT = 0.5  # seconds to the first token
TOKENS_PER_SECOND = 40.0  # word-sized tokens (llmcompiler.llm.base.split_tokens)

QUESTION = "What is the combined length, in kilometres, of the Aldermoor, Brennic, Caldwyn and Dunmere rivers?"
ANSWER = "1050 km"

# entity -> (seconds the lookup takes, the fact it returns). The rivers are made up.
FACTS: dict[str, tuple[float, str]] = {
    "Aldermoor": (
        0.47,
        "The Aldermoor is a river of the Westreach highlands, 412 km long, rising in the Grey Fells "
        "and flowing into the Sea of Marrow.",
    ),
    "Brennic": (
        1.10,
        "The Brennic runs 287 km from Lake Ithel to the port of Calder Haven; its lower course was "
        "canalised in 1871.",
    ),
    "Caldwyn": (
        0.38,
        "The Caldwyn is a 153 km tributary of the Aldermoor, known for the Seven Weirs built by the "
        "monks of Saint Ynes.",
    ),
    "Dunmere": (
        0.47,
        "The Dunmere flows 198 km through the Fenlow Marshes and is the only river of Westreach that "
        "freezes every winter.",
    ),
}
MISSING_SEARCH_SECONDS = 0.6

PLAN = """\
Thought: The four lengths do not depend on each other, so I look all four rivers up at the same time.
1. search("Aldermoor (river)")
2. search("Brennic (river)")
3. search("Caldwyn (river)")
4. search("Dunmere (river)")
Thought: Then I add up the four lengths in km.
5. math("total length of the four rivers in km", context=["$1", "$2", "$3", "$4"])
6. join()<END_OF_PLAN>"""

JOINER_REPLY = """\
Thought: The searches found the Aldermoor (412 km), the Brennic (287 km), the Caldwyn (153 km) and \
the Dunmere (198 km), and the math step added the four lengths up to 1050, so together the four \
rivers are 1050 km long.
Action: Finish(1050 km)"""

REACT_STEPS = [
    'Thought: I need the length of each of the four rivers. I start with the Aldermoor.\n'
    'Action: search("Aldermoor (river)")',
    'Thought: The Aldermoor is 412 km long. Next I need the length of the Brennic.\n'
    'Action: search("Brennic (river)")',
    'Thought: The Brennic is 287 km long. Next I need the length of the Caldwyn.\n'
    'Action: search("Caldwyn (river)")',
    'Thought: The Caldwyn is 153 km long. Last I need the length of the Dunmere.\n'
    'Action: search("Dunmere (river)")',
    'Thought: The Dunmere is 198 km long. Now I add up the four lengths.\n'
    'Action: math("412 + 287 + 153 + 198")',
    "Thought: The four rivers are 412, 287, 153 and 198 km long, 1050 km together.\n"
    "Action: Finish(1050 km)",
]


def _entity(query: str) -> str:
    return re.sub(r"\s*\(.*?\)\s*$", "", query).strip()


def make_search_tool(speed: float = 1.0) -> Tool:
    """`search(entity)`: a fact about one of the demo's made-up rivers, after a simulated delay."""

    async def search(entity: str) -> str:
        name = _entity(str(entity))
        seconds, fact = FACTS.get(name, (MISSING_SEARCH_SECONDS, ""))
        await asyncio.sleep(seconds / speed)
        return fact or f"No entry for {name!r}. Known rivers: {', '.join(FACTS)}."

    return Tool(
        "search",
        search,
        "search(entity: str) -> str:\n"
        " - Looks up one entity and returns a sentence about it (the demo knows four made-up rivers).\n"
        " - One entity per call; independent lookups run at the same time.",
    )


_LENGTH = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*km\b")


def _math_model_reply(messages: list[Message]) -> str:
    """What the simulated math model writes: the sum of the lengths in the context, or, with
    no context, the problem itself (ReAct copies the numbers into its call)."""
    prompt = messages[-1].content
    question = prompt.rsplit("Question:", 1)[-1].strip()
    contexts = re.split(r"\n\nQuestion:", prompt, maxsplit=1)[0] if "Context" in prompt else ""
    numbers = [m.group(1).replace(",", "") for m in _LENGTH.finditer(contexts)]
    expression = " + ".join(numbers) if numbers else question
    return f"```text\n{expression}\n```"


def _model(replies: Sequence[str], name: str, speed: float) -> ScriptedModel:
    return ScriptedModel(list(replies), ttft=TTFT / speed, tokens_per_second=TOKENS_PER_SECOND * speed, name=name)


def make_demo_math_tool(speed: float) -> Tool:
    model = ScriptedModel(
        _math_model_reply, ttft=TTFT / speed, tokens_per_second=TOKENS_PER_SECOND * speed, name="simulated-math"
    )
    return make_math_tool(model, name="math")


@dataclass
class DemoResult:
    compiler: RunResult
    react: RunResult
    speedup: float  # ReAct's latency / LLMCompiler's
    files: list[Path]
    notes: list[str] = field(default_factory=list)  # e.g. why a picture was not drawn
    speed: float = 1.0

    @property
    def answers_match(self) -> bool:
        return self.compiler.error is None and self.react.error is None and self.compiler.answer == self.react.answer

    @property
    def correct(self) -> bool:
        return self.answers_match and self.compiler.answer == ANSWER


async def run_demo(
    *,
    out_dir: str | Path,
    speed: float = 1.0,
    stream: IO[str] | None = None,
    live: bool | None = None,
    saved: list[Path] | None = None,
) -> DemoResult:
    """Run the question with LLMCompiler, then with ReAct, each shown live; save traces and
    timelines into `out_dir`. `speed` divides every latency (2 = twice as fast).

    Each run's files are written as soon as it finishes and appended to `saved`, so a caller
    interrupted during the ReAct run still knows that the LLMCompiler run's files are there.
    """
    if not (speed > 0 and math.isfinite(speed)):
        raise ValueError(f"speed must be a positive number, got {speed!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stream = stream if stream is not None else sys.stdout
    files = saved if saved is not None else []
    notes: list[str] = []
    draw = importlib.util.find_spec("matplotlib") is not None
    if not draw:
        notes.append('matplotlib is not installed, so no timeline pictures were drawn (pip install -e ".[plot]")')
    stream.write(
        "Simulated models: the planner, joiner, ReAct and math models are scripted replies streamed at a "
        "realistic speed; no model is called.\n\n"
    )
    stream.flush()

    compiler = LLMCompiler(
        tools=[make_search_tool(speed), make_demo_math_tool(speed)],
        planner=_model([PLAN], "simulated-planner", speed),
        joiner=_model([JOINER_REPLY], "simulated-joiner", speed),
        max_replans=1,
    )
    with make_view(stream=stream, live=live, title="LLMCompiler", agent="llmcompiler") as view:
        compiled = await compiler.ainvoke(QUESTION, on_event=view)
    stream.write("\n")
    files.extend(await _save(compiled, "llmcompiler", out, draw))

    react = ReActAgent(
        tools=[make_search_tool(speed), make_demo_math_tool(speed)],
        model=_model(REACT_STEPS, "simulated-react", speed),
        max_steps=len(REACT_STEPS) + 2,
    )
    with make_view(stream=stream, live=live, title="ReAct", agent="react") as view:
        reacted = await react.ainvoke(QUESTION, on_event=view)
    stream.write("\n")
    stream.flush()
    # both pictures on one time scale, the longer run's: LLMCompiler's is drawn again to it
    common = max(compiled.duration, reacted.duration)
    files.extend(await _save(reacted, "react", out, draw, xmax=common))
    if draw:
        await _draw(compiled, "llmcompiler", out, xmax=common)

    speedup = reacted.duration / compiled.duration if compiled.duration > 0 else float("inf")
    return DemoResult(compiled, reacted, speedup, list(files), notes, speed)


async def _save(result: RunResult, name: str, out: Path, draw: bool, *, xmax: float | None = None) -> list[Path]:
    """One run's trace and (with matplotlib) its timeline picture."""
    written = [save_trace(result.events, out / f"demo-{name}.trace.json")]
    if draw:
        written.append(await _draw(result, name, out, xmax=xmax))
    return written


async def _draw(result: RunResult, name: str, out: Path, *, xmax: float | None) -> Path:
    label = "LLMCompiler" if name == "llmcompiler" else "ReAct"
    title = f"{label}: {result.duration:.2f} s (simulated models)"
    timeline = Timeline.from_events(result.events)
    # drawing takes a noticeable fraction of a second; the loop stays free for Ctrl-C
    return await asyncio.to_thread(gantt_png, timeline, out / f"demo-{name}.png", title=title, xmax=xmax)


def interrupted_demo(saved: Sequence[Path]) -> str:
    """The one line for a demo stopped by Ctrl-C: which files it kept."""
    if not saved:
        return "interrupted before the LLMCompiler run finished; nothing was saved"
    names = ", ".join(p.name for p in saved)
    return f"interrupted; kept the files of what finished in {saved[0].parent}: {names}"


def format_demo(result: DemoResult) -> str:
    """The closing text: what was simulated, the two latencies, the speedup, the files."""
    c, r = result.compiler, result.react
    lines = [
        "These models are SIMULATED: scripted replies streamed at realistic speeds "
        f"({TTFT:g} s to the first token, {TOKENS_PER_SECOND:g} tokens/s"
        + (f", all {result.speed:g}x faster" if result.speed != 1 else "")
        + "); no model was called. The tools are simulated too.",
        f"LLMCompiler: {c.duration:.2f} s, {c.total_usage.calls} model calls, answer: {c.answer or c.error}",
        f"ReAct:       {r.duration:.2f} s, {r.total_usage.calls} model calls, answer: {r.answer or r.error}",
        f"Speedup: {result.speedup:.2f}x (ReAct's latency / LLMCompiler's).",
    ]
    if not result.answers_match:
        lines.append("WARNING: the two runs did not give the same answer.")
    lines.extend(result.notes)
    if result.files:
        folder = result.files[0].parent
        lines.append(f"Files in {folder}: " + ", ".join(p.name for p in result.files))
    return "\n".join(lines)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m llmcompiler.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default="llmcompiler-demo", help="where traces and timelines go")
    parser.add_argument("--speed", type=positive_number, default=1.0, help="divide every latency by this")
    parser.add_argument("--plain", action="store_true", help="plain lines instead of the live table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    saved: list[Path] = []
    try:
        live = False if args.plain else None
        result = asyncio.run(run_demo(out_dir=args.out_dir, speed=args.speed, live=live, saved=saved))
    except KeyboardInterrupt:
        print(interrupted_demo(saved), file=sys.stderr)
        return 130
    print(format_demo(result))
    return 0 if result.correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
