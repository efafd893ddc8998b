"""Cascade and memory benchmark: a SIMULATION with scripted models, on a benchmark's real questions.

    python benchmarks/cascade.py                        # the movie set's first 200 questions, seconds
    python benchmarks/cascade.py --N 500 --markdown docs/cascade.md   # the table in docs/cascade.md
    python benchmarks/cascade.py --dataset path/to/hotpotqa_comparison.json --suite hotpotqa

What is real: the questions (in the dataset's order), the agents (`LLMCompiler` with the
suite's own planner and joiner prompts, so prompt sizes are the real ones), the `Cascade`,
the `SolutionMemory` (SQLite and BM25, in a temporary folder) and the list prices of
`llmcompiler/llm/pricing.py`. What is simulated: the models and the search tool.

- The cheap model (gpt-4o-mini's prices) fails on a share of the questions (`--cheap_fail`,
  chosen by a seeded hash of the question, so every configuration meets the same hard
  questions): it plans, then its joiner keeps asking for another plan and the run ends
  without an answer. It does not fail when its planner prompt shows a solved question that
  names two of this question's titles (`--overlap`; what `--solution_demonstration` puts there).
- The strong model (gpt-4o's prices) fails on a small share (`--strong_fail`).
- A model that answers, answers right; so the success rate is the share answered.
- Tokens are counted from the prompts and replies (about one token per word), not by a
  provider's tokenizer; the costs are list prices applied to those counts.

It reports, for cheap alone, strong alone, the cascade (cheap, then strong on failure) and
the cascade with the memory of solutions: success rate, cost, and how often the strong
model ran. With keys, the real thing is

    python run_llm_compiler.py --benchmark_name movie --model_name gpt-4o-mini,gpt-4o \\
        --solution_demonstration --store movie-cascade.json
    python evaluate_results.py --file movie-cascade.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(ROOT))

from llmcompiler import LLMCompiler  # noqa: E402
from llmcompiler._argparse import ArgumentParser, count  # noqa: E402
from llmcompiler.agents.cascade import Cascade  # noqa: E402
from llmcompiler.evaluation.suite import load_suite  # noqa: E402
from llmcompiler.llm import ScriptedModel  # noqa: E402
from llmcompiler.llm.base import Message  # noqa: E402
from llmcompiler.llm.pricing import PRICES  # noqa: E402
from llmcompiler.memory import SolutionMemory  # noqa: E402
from llmcompiler.memory.solutions import HEADER  # noqa: E402

CHEAP, STRONG = "gpt-4o-mini", "gpt-4o"
DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "movie_recommendations_formatted.json"


def titles(question: str) -> list[str]:
    """The entities a question names: the movie set's "similar to A, B, C\\nOptions:..." or
    HotpotQA-style capitalised names."""
    first = question.split("\n", 1)[0]
    match = re.search(r"similar to (.*)", first)
    if match:
        return [t.strip() for t in match.group(1).split(",") if t.strip()]
    return re.findall(r"[A-Z][\w'-]+(?: [A-Z][\w'-]+)+", first)[:2] or [first[:60]]


def hard(question: str, model: str, share: float, seed: int) -> bool:
    """Whether `model` fails on `question`: a seeded hash, the same in every configuration."""
    digest = hashlib.sha256(f"{seed}\0{model}\0{question}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _question(messages: list[Message]) -> str:
    """The question of a planner call ("Question: Q") or a joiner call ("Question: Q\n\nPlan and results: ...")."""
    text = messages[-1].content.removeprefix("Question: ")
    return text.rsplit("\n\nPlan and results:", 1)[0].strip()


@dataclass
class SimulatedModel:
    """One simulated model: its planner and joiner, and how it decides to fail."""

    name: str
    fail_share: float
    seed: int
    answers: dict[str, str]
    helped_by_memory: bool
    overlap: int
    suite_examples: str
    failing: set[str] = field(default_factory=set)

    def planner(self) -> ScriptedModel:
        def plan(messages: list[Message]) -> str:
            prompt = messages[0].content  # the instructions and examples; the question is the next message
            if self.suite_examples.strip():  # what is left after the header is the recalled block
                prompt = prompt.replace(self.suite_examples.strip(), "")
            question = _question(messages)
            names = titles(question)
            helped = self.helped_by_memory and HEADER in prompt and _recalls(prompt, names, self.overlap)
            if hard(question, self.name, self.fail_share, self.seed) and not helped:
                self.failing.add(question)
            else:
                self.failing.discard(question)
            calls = "".join(f"{i}. search({name!r})\n" for i, name in enumerate(names, start=1))
            return f"Thought: look every title up at once.\n{calls}{len(names) + 1}. join()<END_OF_PLAN>"

        return ScriptedModel(plan, name=self.name)

    def joiner(self) -> ScriptedModel:
        def join(messages: list[Message]) -> str:
            question = _question(messages)
            if question in self.failing:
                return "Thought: the results do not settle it.\nAction: Replan(look for more)"
            return f"Thought: the results settle it.\nAction: Finish({self.answers[question]})"

        return ScriptedModel(join, name=self.name)


def _recalls(prompt: str, names: Sequence[str], overlap: int) -> bool:
    """A solved question the memory recalled names at least `overlap` of this question's titles
    (or all of them, for a question with fewer)."""
    block = prompt.split(HEADER, 1)[1]
    for recalled in block.split("Question: ")[1:]:
        first = recalled.split("\n", 1)[0]
        if sum(name in first for name in names) >= min(overlap, len(names)):
            return True
    return False


async def search(query: str) -> str:
    """Search Wikipedia for a title (simulated: a fixed sentence)."""
    return f"{query} is a film; its genre and era are described here."


def _agent(sim: SimulatedModel, planner_examples: str, joiner_examples: str, memory: Any, suite: str) -> LLMCompiler:
    options: dict[str, Any] = {}
    if memory is not None:
        options = {"memory": memory, "memory_suite": suite, "memory_k": 3}
    return LLMCompiler(
        tools=[search],
        planner=sim.planner(),
        joiner=sim.joiner(),
        planner_examples=planner_examples,
        joiner_examples=joiner_examples,
        max_replans=0,
        **options,
    )


async def configuration(
    name: str,
    levels: Sequence[str],
    examples: Sequence[dict[str, Any]],
    args: argparse.Namespace,
    *,
    with_memory: bool,
    folder: Path,
) -> dict[str, Any]:
    suite = load_suite(args.suite)
    planner_examples, joiner_examples = suite.prompts()
    answers = {str(e["question"]).strip(): str(e["answer"]) for e in examples}
    memory = SolutionMemory(folder / f"{name}.sqlite3") if with_memory else None
    shares = {CHEAP: args.cheap_fail, STRONG: args.strong_fail}
    try:
        sims = [
            SimulatedModel(m, shares[m], args.seed, answers, m == CHEAP, args.overlap, planner_examples) for m in levels
        ]
        agents = [_agent(sim, planner_examples, joiner_examples, memory, suite.name) for sim in sims]
        cascade = Cascade(agents, names=list(levels), memory=memory, suite=suite.name)
        solved = strong_runs = 0
        dollars = 0.0
        started = time.perf_counter()
        for example in examples:
            result = await cascade.ainvoke(str(example["question"]))
            solved += result.solved and result.answer == str(example["answer"])
            strong_runs += any(level.name == STRONG for level in result.levels)
            spent = result.cost(PRICES)
            assert spent is not None
            dollars += spent
        return {
            "configuration": name,
            "questions": len(examples),
            "solved": solved,
            "success_rate": solved / len(examples),
            "cost": dollars,
            "cost_per_question": dollars / len(examples),
            "strong_runs": strong_runs,
            "seconds": time.perf_counter() - started,
            "stored": len(memory.list()) if memory is not None else 0,
        }
    finally:
        if memory is not None:
            memory.close()


CONFIGURATIONS = (
    ("cheap alone", (CHEAP,), False),
    ("strong alone", (STRONG,), False),
    ("cascade", (CHEAP, STRONG), False),
    ("cascade + memory", (CHEAP, STRONG), True),
)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    data = json.loads(Path(args.dataset).read_text(encoding="utf-8"))
    examples = data[: args.N]
    rows = []
    with tempfile.TemporaryDirectory(prefix="cascade-bench-") as folder:
        for name, levels, with_memory in CONFIGURATIONS:
            rows.append(await configuration(name, levels, examples, args, with_memory=with_memory, folder=Path(folder)))
            if not args.quiet:
                print(f"{name}: done in {rows[-1]['seconds']:.1f}s", file=sys.stderr)
    return rows


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    strong = next(r for r in rows if r["configuration"] == "strong alone")
    lines = [
        "| configuration | success rate | cost (USD) | cost / question | vs strong alone | strong model ran |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["cost"] / strong["cost"] if strong["cost"] else float("nan")
        lines.append(
            f"| {r['configuration']} | {r['success_rate']:.1%} ({r['solved']}/{r['questions']}) | "
            f"${r['cost']:.4f} | ${r['cost_per_question']:.6f} | {ratio:.0%} | {r['strong_runs']} |"
        )
    settings = (
        f"{rows[0]['questions']} questions of `{Path(args.dataset).name}` in order, suite `{args.suite}`, "
        f"cheap model fails {args.cheap_fail:.0%} unless a recalled solved question shares {args.overlap} titles, "
        f"strong model fails {args.strong_fail:.0%}, "
        f"seed {args.seed}; prices {CHEAP} ${PRICES[CHEAP].input_per_million}/"
        f"${PRICES[CHEAP].output_per_million} and {STRONG} ${PRICES[STRONG].input_per_million}/"
        f"${PRICES[STRONG].output_per_million} per million input/output tokens."
    )
    return "\n".join(lines) + "\n\n" + settings + "\n"


BEGIN, END = "<!-- cascade-benchmark -->", "<!-- /cascade-benchmark -->"


def write_table(path: Path, table: str) -> None:
    """Replace the table between the markers of a page that has them; else write the table alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = f"{head}{BEGIN}\n{table}{END}{rest.split(END, 1)[1]}"
    else:
        text = table
    path.write_text(text, encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="cascade.py", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=str(DEFAULT_DATASET), help="a dataset JSON list (default: the movie set)")
    p.add_argument("--suite", default="movie", help="the suite whose prompts the agents use (default: movie)")
    p.add_argument("--N", type=count, default=200, help="the first N questions (200)")
    p.add_argument("--cheap_fail", type=float, default=0.35, help="share of questions the cheap model fails (0.35)")
    p.add_argument("--strong_fail", type=float, default=0.05, help="share the strong model fails (0.05)")
    p.add_argument("--overlap", type=count, default=2, help="titles a recalled solved question must share to help (2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--markdown",
        default=None,
        metavar="FILE",
        help="also write the table to FILE (between its cascade-benchmark markers, as in docs/cascade.md)",
    )
    p.add_argument("--out", default=None, metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not Path(args.dataset).is_file():
        print(f"error: no dataset at {args.dataset}; pass --dataset PATH", file=sys.stderr)
        return 2
    rows = asyncio.run(run(args))
    table = markdown(rows, args)
    print(table)
    if args.markdown:
        write_table(Path(args.markdown), table)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
