"""Real-server benchmark: LLMCompiler against any OpenAI-compatible server, with local tools.

    python benchmarks/real_server.py http://127.0.0.1:8011/v1 --model gemma-3-270m
    python benchmarks/real_server.py URL --endpoints chat --grammars off,gbnf,vllm --questions 5

A few questions with small local tools (lookup tables and arithmetic: no network beyond
URL) are answered by LLMCompiler on each endpoint (chat, completions) with each planner
grammar (off; gbnf: llama.cpp's `grammar` field; vllm: vLLM's structured-output regex),
streamed or not (`--streams on,off`: servers that send no usage chunk when streaming report
usage in a whole JSON reply). The grammar constrains the planner only; the joiner is the
same model without one. Reported per configuration:

- **plans parsed**: plans whose every task parsed without an error and that end in `join()`
  (a planner call that failed, e.g. cut at `max_tokens`, counts as not parsed);
- **started early**: tool calls started before the plan ended, from the run's events
  (`TaskStarted` before `PlannerFinished`), out of all tool calls started;
- **tokens**: input/output tokens as the run recorded them (the server's usage, or our
  offline count marked estimated where the server reported none) next to our offline count
  of the same calls, so the estimate can be compared with the server where it reports usage;
- errors (the run's, e.g. truncation) and answers (a 270M model answers badly: the point is
  protocol behaviour and parse rate).

It prints Markdown tables and writes them to `--markdown` (default
benchmarks/results/real-server.md) and a JSON report to `--out`. The results for
llama-cpp-python with Gemma 3 270M, and how to run it, are in docs/real-server.md. Not in CI:
tests/test_real_server_benchmark.py runs the same code against the loopback test server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shlex
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script, or loaded from its path
    sys.path.insert(0, str(ROOT))

from llmcompiler import LLMCompiler  # noqa: E402
from llmcompiler._argparse import ArgumentParser, count, positive_seconds  # noqa: E402
from llmcompiler.exceptions import ConfigurationError  # noqa: E402
from llmcompiler.llm import get_model  # noqa: E402
from llmcompiler.llm.base import Message, Usage  # noqa: E402
from llmcompiler.llm.tokens import counted_usage  # noqa: E402
from llmcompiler.plan import JOIN, plan_gbnf, plan_regex  # noqa: E402

ENDPOINTS = ("chat", "completions")
GRAMMARS = ("off", "gbnf", "vllm")

# -- the tools: lookup tables and arithmetic, all local ------------------------------------

_POPULATION = {"paris": 2_102_650, "berlin": 3_878_100, "tokyo": 14_187_176, "madrid": 3_422_416, "rome": 2_755_309}
_HEIGHT_M = {"mount everest": 8849, "k2": 8611, "mont blanc": 4806, "kilimanjaro": 5895, "denali": 6190}


def _lookup(table: dict[str, int], key: Any, what: str) -> int:
    name = str(key).strip().strip("\"'").lower()
    if name not in table:
        raise KeyError(f"no {what} for {key!r}; known: {', '.join(sorted(table))}")
    return table[name]


async def population(city: str) -> int:
    """The number of people living in a city (Paris, Berlin, Tokyo, Madrid, Rome)."""
    return _lookup(_POPULATION, city, "population")


async def height(mountain: str) -> int:
    """The height of a mountain in metres (Mount Everest, K2, Mont Blanc, Kilimanjaro, Denali)."""
    return _lookup(_HEIGHT_M, mountain, "height")


async def add(a: float, b: float) -> float:
    """a + b."""
    return a + b


async def subtract(a: float, b: float) -> float:
    """a - b."""
    return a - b


async def multiply(a: float, b: float) -> float:
    """a * b."""
    return a * b


TOOLS = [population, height, add, subtract, multiply]
TOOL_NAMES = [t.__name__ for t in TOOLS]


@dataclass(frozen=True)
class Question:
    text: str
    answer: str  # the expected answer as it would be written: a number or a name


QUESTIONS = [
    Question("What is the combined population of Paris and Berlin?", "5980750"),
    Question("How many metres higher is Mount Everest than K2?", "238"),
    Question("What is 17 times 23, plus 100?", "491"),
    Question("Which city has more people, Tokyo or Madrid?", "Tokyo"),
    Question("What is the height of Mont Blanc plus the height of Denali, in metres?", "10996"),
]

# Examples use other cities and numbers than the questions, so that copying them is not answering.
PLANNER_EXAMPLES = """\
Question: What is the combined population of Madrid and Rome?
1. population("Madrid")
2. population("Rome")
3. add($1, $2)
4. join()<END_OF_PLAN>
###
Question: How many metres higher is Kilimanjaro than Mont Blanc, times 2?
Thought: Both heights are independent lookups; the arithmetic needs both.
1. height("Kilimanjaro")
2. height("Mont Blanc")
3. subtract($1, $2)
4. multiply($3, 2)
5. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: What is the combined population of Madrid and Rome?

Plan and results:
1. population("Madrid")
Observation: 3422416
2. population("Rome")
Observation: 2755309
3. add($1, $2)
Observation: 6177725
Thought: The sum of both populations is 6177725.
Action: Finish(6177725)
###"""


# -- one configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    endpoint: str
    grammar: str  # off | gbnf | vllm
    stream: bool = True

    @property
    def label(self) -> str:
        return f"{self.endpoint}, grammar {self.grammar}" + ("" if self.stream else ", not streamed")


@dataclass
class CallRecord:
    """One model call: what the run recorded (the server's usage, or an estimate) and our count."""

    role: str
    recorded: dict[str, Any]
    ours: dict[str, int]


@dataclass
class QuestionRun:
    question: str
    expected: str
    plan: str
    parsed: bool
    task_errors: list[str]
    started: int
    started_early: int
    answer: str
    correct: bool
    error: str | None
    seconds: float
    calls: list[CallRecord] = field(default_factory=list)


class _Metered:
    """Passes a model's stream through and keeps, per call, its usage and our own count."""

    def __init__(self, model: Any, role: str, sink: list[CallRecord]) -> None:
        self.model = model
        self.name = model.name
        self.role = role
        self.sink = sink

    async def stream(self, messages: Sequence[Message], *, stop: Sequence[str] = ()) -> AsyncIterator[str | Usage]:
        parts: list[str] = []
        usage: Usage | None = None
        try:
            async for item in self.model.stream(messages, stop=stop):
                if isinstance(item, Usage):
                    usage = item
                else:
                    parts.append(item)
                yield item
        finally:  # a truncated reply yields its usage and then raises: record it all the same
            ours = counted_usage(messages, "".join(parts), self.name)
            recorded = (
                {"input": usage.input_tokens, "output": usage.output_tokens, "estimated": usage.estimated}
                if usage
                else None
            )
            self.sink.append(
                CallRecord(self.role, recorded or {}, {"input": ours.input_tokens, "output": ours.output_tokens})
            )


def _model(
    config: Config,
    url: str,
    name: str,
    *,
    max_tokens: int,
    api_key: str | None,
    system_role: bool,
    planner: bool,
    timeout: float,
) -> Any:
    constraint: dict[str, Any] = {}
    if planner and config.grammar == "gbnf":
        constraint["grammar"] = plan_gbnf(TOOL_NAMES)
    elif planner and config.grammar == "vllm":
        constraint["regex"] = plan_regex(TOOL_NAMES)
    return get_model(
        "vllm",
        name,
        base_url=url,
        api_key=api_key,
        endpoint=config.endpoint,
        max_tokens=max_tokens,
        stream=config.stream,
        system_role=system_role,
        max_retries=1,
        request_timeout=timeout,
        **constraint,
    )


def _correct(answer: str, expected: str) -> bool:
    if expected.isdigit():
        digits = "".join(c for c in answer if c.isdigit() or c in ".-")
        try:
            return float(digits) == float(expected)
        except ValueError:
            return False
    return expected.lower() in answer.lower()


async def run_question(
    question: Question,
    config: Config,
    url: str,
    name: str,
    *,
    max_tokens: int,
    api_key: str | None = None,
    system_role: bool = True,
    timeout: float = 300.0,
) -> QuestionRun:
    calls: list[CallRecord] = []
    planner = _model(
        config,
        url,
        name,
        max_tokens=max_tokens,
        api_key=api_key,
        system_role=system_role,
        planner=True,
        timeout=timeout,
    )
    joiner = _model(
        config,
        url,
        name,
        max_tokens=max_tokens,
        api_key=api_key,
        system_role=system_role,
        planner=False,
        timeout=timeout,
    )
    try:
        agent = LLMCompiler(
            tools=TOOLS,
            planner=_Metered(planner, "planner", calls),
            joiner=_Metered(joiner, "joiner", calls),
            planner_examples=PLANNER_EXAMPLES,
            joiner_examples=JOINER_EXAMPLES,
            max_replans=0,  # one plan per question: the parse rate is about first plans
            timeout=timeout,
        )
        result = await agent.ainvoke(question.text)
    finally:
        for model in (planner, joiner):
            await model.aclose()
    ledger = result.ledger
    assert ledger is not None  # (ainvoke's results always carry it)
    parsed = ledger.plan  # every task of the one round, join() included
    plan_end = ledger.plan_done.get(1)
    plan_error = next((c.error for c in ledger.model_calls if c.role == "planner" and c.round == 1), None)
    starts = [r.started_at for r in ledger.parsed if r.started_at is not None]
    early = [t for t in starts if plan_end is not None and t < plan_end]
    errors = [f"${t.idx}: {t.error}" for t in parsed if t.error]
    plan_ok = plan_end is not None and plan_error is None and bool(parsed) and not errors and parsed[-1].tool == JOIN
    return QuestionRun(
        question=question.text,
        expected=question.answer,
        plan=result.plans[0] if result.plans else "",
        parsed=plan_ok,
        task_errors=errors,
        started=len(starts),
        started_early=len(early),
        answer=result.answer,
        correct=result.error is None and _correct(result.answer, question.answer),
        error=result.error,
        seconds=round(result.duration, 2),
        calls=calls,
    )


async def run_matrix(
    url: str,
    name: str,
    configs: Sequence[Config],
    questions: Sequence[Question],
    *,
    max_tokens: int,
    api_key: str | None = None,
    system_role: bool = True,
    timeout: float = 300.0,
    progress: Callable[[str], Any] = lambda _msg: None,
) -> dict[str, list[QuestionRun]]:
    """Every question under every configuration, one run at a time (a local server has one slot)."""
    out: dict[str, list[QuestionRun]] = {}
    for config in configs:
        runs = out.setdefault(config.label, [])
        for k, question in enumerate(questions, start=1):
            run = await run_question(
                question,
                config,
                url,
                name,
                max_tokens=max_tokens,
                api_key=api_key,
                system_role=system_role,
                timeout=timeout,
            )
            runs.append(run)
            progress(
                f"[{config.label}] {k}/{len(questions)}: parsed={run.parsed} early={run.started_early}/{run.started} "
                f"{run.seconds:.1f}s error={run.error}"
            )
    return out


# -- report -----------------------------------------------------------------------------------


def summarise(runs: Sequence[QuestionRun]) -> dict[str, Any]:
    def total(role: str, source: str, part: str) -> int:
        return sum(int(getattr(c, source).get(part, 0)) for r in runs for c in r.calls if c.role == role)

    recorded_estimated = any(c.recorded.get("estimated", True) for r in runs for c in r.calls)
    return {
        "questions": len(runs),
        "plans_parsed": sum(r.parsed for r in runs),
        "started": sum(r.started for r in runs),
        "started_early": sum(r.started_early for r in runs),
        "correct": sum(r.correct for r in runs),
        "errors": sum(r.error is not None for r in runs),
        "mean_seconds": round(sum(r.seconds for r in runs) / len(runs), 2) if runs else 0.0,
        "tokens": {
            role: {
                "recorded_in": total(role, "recorded", "input"),
                "recorded_out": total(role, "recorded", "output"),
                "ours_in": total(role, "ours", "input"),
                "ours_out": total(role, "ours", "output"),
            }
            for role in ("planner", "joiner")
        },
        "usage_from_server": not recorded_estimated,
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"{report['generated']}: `{report['command']}`",
        "",
        f"Model `{report['model']}` at {report['url']}"
        + (f" ({report['server']})" if report["server"] else "")
        + f"; client: {m['platform']}, Python {m['python']}, {m['cpu']}.",
        "",
        "| configuration | plans parsed | started early | correct | errors | mean s | planner in/out (recorded) "
        "| planner in/out (ours) | joiner in/out (recorded) | joiner in/out (ours) | usage from |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, s in report["summary"].items():
        p, j = s["tokens"]["planner"], s["tokens"]["joiner"]
        source = "server" if s["usage_from_server"] else "estimate"
        lines.append(
            f"| {label} | {s['plans_parsed']}/{s['questions']} | {s['started_early']}/{s['started']} | "
            f"{s['correct']}/{s['questions']} | {s['errors']} | {s['mean_seconds']:.1f} | "
            f"{p['recorded_in']}/{p['recorded_out']} "
            f"| {p['ours_in']}/{p['ours_out']} | {j['recorded_in']}/{j['recorded_out']} | "
            f"{j['ours_in']}/{j['ours_out']} "
            f"| {source} |"
        )
    lines += ["", "Runs:", ""]
    for label, runs in report["runs"].items():
        lines.append(f"**{label}**")
        lines.append("")
        for r in runs:
            outcome = (
                f"error: {_one_line(r['error'])}"
                if r["error"]
                else f"answer {_one_line(r['answer'])!r} (expected {r['expected']})"
            )
            lines.append(
                f"- {r['question']} — plan {'parsed' if r['parsed'] else 'NOT parsed'}, "
                f"{r['started_early']}/{r['started']} started early, {r['seconds']:.1f} s; {outcome}"
            )
            for problem in r["task_errors"][:3]:
                lines.append(f"  - {_one_line(problem)}")
            plan = r["plan"].strip() or "(empty)"
            if len(plan) > 600:
                plan = plan[:600] + " …"
            lines += ["", "  ```text", *("  " + line for line in plan.splitlines()), "  ```", ""]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + " …"


def build_report(
    results: dict[str, list[QuestionRun]], *, url: str, model: str, argv: Sequence[str], server: str | None
) -> dict[str, Any]:
    return {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "benchmarks/real_server.py", *argv]),
        "url": url,
        "model": model,
        "server": server,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpu": _cpu()},
        "summary": {label: summarise(runs) for label, runs in results.items()},
        "runs": {label: [asdict(r) for r in runs] for label, runs in results.items()},
    }


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- command line -----------------------------------------------------------------------------


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of {', '.join(allowed)}, got {text!r}")
        return list(dict.fromkeys(items))

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="real_server.py",
        description="LLMCompiler against an OpenAI-compatible server: plan parse rate, tasks started while the "
        "plan streams, and token usage, on chat and completions endpoints with and without a planner grammar.",
    )
    parser.add_argument("url", help="the server's OpenAI base URL, e.g. http://127.0.0.1:8011/v1")
    parser.add_argument("--model", help="the model name to send (default: the first one the server lists)")
    parser.add_argument(
        "--questions", type=count, default=3, help=f"how many questions (1-{len(QUESTIONS)}, default 3)"
    )
    parser.add_argument(
        "--max_tokens", type=count, default=200, help="the completion limit of every call (default 200)"
    )
    parser.add_argument(
        "--endpoints", type=_choices(ENDPOINTS), default=list(ENDPOINTS), help="chat,completions (default both)"
    )
    parser.add_argument(
        "--grammars",
        type=_choices(GRAMMARS),
        default=["off", "gbnf"],
        help="planner grammars: off, gbnf (llama.cpp), vllm (regex); default off,gbnf",
    )
    parser.add_argument(
        "--streams",
        type=_choices(("on", "off")),
        default=["on"],
        help="on: stream (tasks start while the plan is written); off: one JSON reply per call, "
        "which servers that send no usage when streaming do report usage for; default on",
    )
    parser.add_argument(
        "--no_system_role",
        action="store_true",
        help="send the system prompt inside the first user message (chat templates that drop it)",
    )
    parser.add_argument("--api_key", help="the server's key, if it needs one")
    parser.add_argument("--timeout", type=positive_seconds, default=300.0, help="seconds per question (default 300)")
    parser.add_argument("--server", help="a note on the server for the report, e.g. 'llama-cpp-python 0.3.36, chatml'")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "real-server.json", help="JSON report"
    )
    parser.add_argument(
        "--markdown", type=Path, default=ROOT / "benchmarks" / "results" / "real-server.md", help="Markdown report"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


async def _first_model(url: str, api_key: str | None) -> str:
    import openai

    async with openai.AsyncOpenAI(base_url=url, api_key=api_key or "EMPTY", max_retries=0, timeout=30) as client:
        page = await client.models.list()
        for entry in page.data:
            return entry.id
    raise ConfigurationError(f"{url} lists no models; pass --model")


async def amain(argv: Sequence[str]) -> int:
    """`main` for a running event loop."""
    argv = list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.questions > len(QUESTIONS):
        parser.error(f"--questions must be at most {len(QUESTIONS)}")
    import openai

    try:
        name = args.model or await _first_model(args.url, args.api_key)
    except (openai.APIError, ConfigurationError) as exc:
        print(
            f"error: cannot list the models of {args.url}: {exc} (is the server running? or pass --model)",
            file=sys.stderr,
        )
        return 2
    configs = [Config(e, g, s == "on") for s in args.streams for e in args.endpoints for g in args.grammars]
    results = await run_matrix(
        args.url,
        name,
        configs,
        QUESTIONS[: args.questions],
        max_tokens=args.max_tokens,
        api_key=args.api_key,
        system_role=not args.no_system_role,
        timeout=args.timeout,
        progress=log,
    )
    report = build_report(results, url=args.url, model=name, argv=argv, server=args.server)
    text = markdown(report)
    await asyncio.to_thread(_write, {args.out: json.dumps(report, indent=2), args.markdown: text})
    print(text)
    return 0


def _write(files: dict[Path, str]) -> None:
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    began = time.perf_counter()
    status = asyncio.run(amain(argv))
    if status == 0 and "--quiet" not in argv:
        print(f"done in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
