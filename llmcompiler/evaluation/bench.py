"""The benchmark command: `run_llm_compiler.py` (and `llmcompiler bench`) in one place.

    python run_llm_compiler.py --benchmark_name hotpotqa --store results.json --stream
    python evaluate_results.py --file results.json

Every flag of the original script is accepted. A user mistake (missing key, unknown
benchmark, bad config, corrupt store, bad dataset) prints one line and exits with status 2;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmcompiler._argparse import ArgumentParser, count, nonnegative_count, nonnegative_seconds, port, positive_seconds
from llmcompiler.evaluation.suite import PLAN_GRAMMARS
from llmcompiler.exceptions import LLMCompilerError
from llmcompiler.llm.replies import REPLIES_HELP

BENCHMARKS = ("hotpotqa", "movie", "parallelqa")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    p = ArgumentParser(prog=prog, description="Run LLMCompiler (or ReAct) over a benchmark and store the results.")
    p.add_argument(
        "--benchmark_name", "--benchmark", dest="benchmark_name", choices=BENCHMARKS, help="a built-in suite"
    )
    p.add_argument("--config", help="a tool suite folder or module (instead of --benchmark_name)")
    p.add_argument("--store", required=True, help="results JSON file (resumed if it exists)")
    p.add_argument("--dataset", help="a local dataset JSON file instead of the suite's dataset")
    p.add_argument("--N", type=count, default=None, help="only the first N questions (N >= 1)")
    p.add_argument("--react", action="store_true", help="run the ReAct baseline instead")
    stream = p.add_mutually_exclusive_group()
    stream.add_argument("--stream", dest="stream", action="store_true", default=True, help="stream the plan (default)")
    stream.add_argument(
        "--no_stream", dest="stream", action="store_false", help="wait for the whole plan before running it"
    )
    p.add_argument("--logging", action="store_true", help="print each question's plan, answer and time")
    p.add_argument(
        "--model_type",
        default="openai",
        help="openai | azure | vllm | friendli | langchain | scripted (with --replies FILE)",
    )
    p.add_argument(
        "--model_name",
        default=None,
        help="model (default: the suite's default_model); a,b[,c]: a cascade, cheapest first",
    )
    p.add_argument("--replies", metavar="FILE", default=None, help=REPLIES_HELP)
    p.add_argument("--vllm_port", type=port, default=None, help="a local vLLM server's port (--model_type vllm)")
    p.add_argument("--base_url", default=None, help="an OpenAI-compatible server's address")
    p.add_argument("--api_key", default=None, help="API key (default: the provider's environment variable)")
    p.add_argument("--endpoint", choices=("chat", "completions"), default="chat", help="completions for base models")
    p.add_argument(
        "--prompts",
        choices=("gpt", "llama"),
        default=None,
        help="prompt set (default: llama for --endpoint completions, and for an original-style suite "
        "with --model_type vllm or friendli)",
    )
    add_model_flags(p)
    add_rate_flags(p)
    add_cascade_flags(p)
    p.add_argument("--do_benchmark", action="store_true", help="also store per-phase timings of every run")
    p.add_argument(
        "--sleep_per_iter", type=nonnegative_seconds, default=0.0, help="seconds to wait after each question"
    )
    p.add_argument(
        "--concurrency", type=count, default=1, help="questions in flight at once (1 = the paper's sequential timing)"
    )
    p.add_argument(
        "--wikipedia_url",
        default=None,
        help="MediaWiki api.php address (default: $LLMCOMPILER_WIKIPEDIA_URL or Wikipedia)",
    )
    p.add_argument("--search_cache", default=None, help="SQLite file caching Wikipedia lookups across runs")
    p.add_argument(
        "--max_replans",
        type=nonnegative_count,
        default=None,
        help="extra plans the joiner may ask for (0 = one plan), overriding the suite's setting",
    )
    p.add_argument("--timeout", type=positive_seconds, default=None, help="seconds allowed per question")
    p.add_argument("--no_progress", action="store_true", help="no progress line")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="answer the questions on a Ray cluster: alone, a local one started for this run; "
        'auto or HOST:PORT, an existing one (pip install "llmcompiler[ray]")',
    )
    p.add_argument(
        "--ray_workers",
        type=count,
        default=None,
        metavar="N",
        help="--ray: worker actors, each with its own models and tools (default: the cluster's CPUs); "
        "--concurrency stays the questions in flight in all",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """The flags for models served over HTTP, shared by `ask` and `bench`."""
    p.add_argument(
        "--max_tokens",
        type=count,
        default=None,
        help="completion limit of every model call (default: planner 1024, joiner and ReAct 512); always sent",
    )
    p.add_argument(
        "--plan_grammar",
        choices=PLAN_GRAMMARS,
        default="off",
        help="constrain the planner to the plan format: vllm (structured-output regex) or gbnf (llama.cpp grammar)",
    )
    p.add_argument(
        "--no_system_role",
        action="store_true",
        help="send the instructions in the first user message, for chat templates that drop the system role (Gemma)",
    )


def pool_options(args: argparse.Namespace) -> dict[str, Any]:
    """`ModelPool`'s options from the flags `ask` and `bench` share (the model's address and
    key, endpoint, limits, the rate flags)."""
    return {
        "base_url": args.base_url,
        "api_key": args.api_key,
        "vllm_port": args.vllm_port,
        "endpoint": args.endpoint,
        "react": args.react,
        "max_tokens": args.max_tokens,
        "system_role": not args.no_system_role,
        "rpm": args.rpm,
        "tpm": args.tpm,
        "window": args.rate_window,
    }


def add_rate_flags(p: argparse.ArgumentParser) -> None:
    """The provider's rate limits (`ask`, `bench`): one limiter per model, shared by the whole run."""
    p.add_argument(
        "--rpm",
        type=count,
        default=None,
        metavar="N",
        help="at most N requests a minute to each model, shared by all questions (default: no limit)",
    )
    p.add_argument(
        "--tpm",
        type=count,
        default=None,
        metavar="N",
        help="at most N tokens a minute to each model (prompt + max_tokens held, then the usage; default: no limit)",
    )
    p.add_argument(
        "--rate_window",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="the span --rpm and --tpm are counted over (default 60: no 60 s holds more than N); "
        "Azure counts its limits over 1-10 s windows, so there give its per-window share and window",
    )


EVALS = ("none", "llm", "human")


def add_cascade_flags(p: argparse.ArgumentParser) -> None:
    """The cascade's and the memory's flags, shared by `ask` and `bench` (docs/cascade.md)."""
    group = p.add_argument_group(
        "cascade and memory (--model_name a,b,c runs a, then b when a fails, then c)",
    )
    group.add_argument(
        "--eval",
        choices=EVALS,
        default="none",
        help="who says an answer solved the question: none (any answer does; only failures go on), "
        "llm (--judge_model says yes or no), human (you, on the terminal)",
    )
    group.add_argument(
        "--judge_model", default=None, metavar="NAME", help="--eval llm: the judge (default: the last --model_name)"
    )
    group.add_argument(
        "--solution_demonstration",
        action="store_true",
        help="store every solved question and show the most similar solved ones of the suite to the planner",
    )
    group.add_argument(
        "--memory", default=None, metavar="PATH", help="the memory's SQLite file (default: memory.sqlite3 in the cache)"
    )
    group.add_argument(
        "--memory_k", type=count, default=None, metavar="K", help="solved questions shown per question (3)"
    )


def model_names(text: str | None, default: str | None) -> list[str]:
    """`--model_name a,b,c` as a list (one name without a comma is a list of one); "" is the
    backend's own default (a suite that names none: Azure's deployment variable)."""
    from llmcompiler.exceptions import ConfigurationError

    if not text:
        return [default or ""]
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise ConfigurationError(f"--model_name {text!r}: an empty name in the list (write a,b,c)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigurationError(f"--model_name {text!r}: {', '.join(repeated)} is listed twice")
    return names


def check_cascade_options(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """Refuse flags that cannot work together; return warnings for a cascade or a judge model.

    A model of a cascade missing from the price table still runs (self-hosted models have no
    list price): its cost is reported as unknown, and the warning says so before anything
    runs; so does a cascade whose list prices do not rise from level to level.
    """
    from llmcompiler.exceptions import ConfigurationError
    from llmcompiler.llm.pricing import price_for

    if args.judge_model is not None and args.eval != "llm":
        raise ConfigurationError("--judge_model needs --eval llm")
    if not args.solution_demonstration and (args.memory is not None or args.memory_k is not None):
        raise ConfigurationError("--memory and --memory_k need --solution_demonstration")
    scripted = (args.model_type or "").strip().lower() == "scripted"
    if scripted and (len(names) > 1 or args.eval == "llm"):
        raise ConfigurationError(
            "--model_type scripted answers from one replies file; a cascade (--model_name a,b) or --eval llm "
            "needs models served over HTTP"
        )
    if scripted or not (len(names) > 1 or args.eval == "llm"):
        return []  # one model: what it always was (its cost unknown in the report if unpriced)
    warnings = []
    judge = [judge_name(args, names)] if args.eval == "llm" else []
    for name in dict.fromkeys([*names, *judge]):
        if name and price_for(name) is None:
            warnings.append(
                f"warning: {name!r} is not in the price table (llmcompiler/llm/pricing.py); "
                "its cost will be reported as unknown"
            )
    priced = [(name, price_for(name)) for name in names]
    for (a, price_a), (b, price_b) in zip(priced, priced[1:], strict=False):
        if price_a is not None and price_b is not None and price_a.output_per_million > price_b.output_per_million:
            warnings.append(
                f"warning: the cascade runs {a!r} before {b!r}, which is cheaper; order --model_name cheapest first"
            )
    return warnings


def judge_name(args: argparse.Namespace, names: Sequence[str]) -> str:
    return str(args.judge_model or names[-1])


def wants_cascade(args: argparse.Namespace, names: Sequence[str]) -> bool:
    """A cascade runs when there are levels, a judge or a memory; else the plain agent (as before)."""
    return len(names) > 1 or args.eval != "none" or bool(args.solution_demonstration)


def open_memory(args: argparse.Namespace) -> Any:
    """The memory of solutions for --solution_demonstration, or None."""
    if not args.solution_demonstration:
        return None
    from llmcompiler.memory import SolutionMemory

    return SolutionMemory(path=args.memory)


def make_judge(args: argparse.Namespace, open_model: Any) -> Any:
    """The judge --eval names; `open_model(name)` opens the judge model (--eval llm)."""
    from llmcompiler.agents.cascade import HumanJudge, ModelJudge, NoJudge

    if args.eval == "llm":
        return ModelJudge(open_model())
    if args.eval == "human":
        return HumanJudge(sys.stdin, sys.stderr)
    return NoJudge()


def make_cascade(
    args: argparse.Namespace,
    agents: Sequence[Any],
    names: Sequence[str],
    *,
    pool: Any,
    pools: list[Any],
    memory: Any,
    suite: str,
) -> Any:
    """The `Cascade` of `ask` and `bench`: one level per model, the judge --eval names (its
    model's pool, opened only if asked for, joins `pools` so that it is closed with them)."""
    from llmcompiler.agents.cascade import Cascade

    def judge_model() -> Any:
        judge_pool = pool(judge_name(args, names))
        pools.append(judge_pool)
        return judge_pool.new("joiner")

    return Cascade(
        agents,
        names=names,
        judge=make_judge(args, judge_model),
        memory=memory,
        suite=suite,
        warn=lambda line: print(f"warning: {line}", file=sys.stderr),
    )


def memory_options(memory: Any, args: argparse.Namespace) -> dict[str, Any]:
    """`build_agent`'s memory arguments (none at all without a memory, so suites predating it work)."""
    if memory is None:
        return {}
    return {"memory": memory, "memory_k": args.memory_k or 3}


def main(argv: Sequence[str] | None = None, *, configs_dir: Path | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return asyncio.run(_main(args, configs_dir))
    except KeyboardInterrupt:
        print(
            f"interrupted; the questions that finished are in {args.store} (the same command resumes)", file=sys.stderr
        )
        return 130
    except (LLMCompilerError, ValueError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _default_prompts(args: argparse.Namespace, *, original: bool) -> str:
    """llama for completion endpoints; for an original-style suite also for vLLM and Friendli,
    the model types the original gave its llama prompts."""
    if args.endpoint == "completions":
        return "llama"
    if original and (args.model_type or "").strip().lower() in ("vllm", "friendli"):
        return "llama"
    return "gpt"


def _suite_spec(args: argparse.Namespace, configs_dir: Path | None) -> str:
    from llmcompiler.exceptions import ConfigurationError

    if args.config:
        return args.config
    if not args.benchmark_name:
        raise ConfigurationError("give --benchmark_name (hotpotqa, movie, parallelqa) or --config PATH")
    if configs_dir is None:  # shipped in the package, so an installed command finds it too
        return f"llmcompiler.suites.{args.benchmark_name}"
    folder = configs_dir / args.benchmark_name
    if not folder.is_dir():
        raise ConfigurationError(f"no suite folder {folder}; pass --config PATH")
    return str(folder)


class BenchAgent:
    """The suite, model pools, tools' context and agent of one process: the driver's, or each
    Ray worker's (llmcompiler/evaluation/cluster.py), built from the same parsed args.

    `limiter`: the rate limiter the pools share instead of their own (a Ray worker's proxy
    of the run's limiter actor); `warn`: print the suite's and the cascade's warnings (the
    driver does, once). `open()` checks the credentials and opens the tools' context;
    `agent(memory)` builds the tools and the agent (or cascade); `aclose()` closes it all.
    """

    def __init__(
        self, args: argparse.Namespace, configs_dir: Path | None, *, limiter: Any = None, warn: bool = True
    ) -> None:
        from llmcompiler.evaluation.suite import ModelPool, load_suite
        from llmcompiler.llm.replies import scripted_models

        self.args = args
        self.suite = suite = load_suite(_suite_spec(args, configs_dir))
        if warn:
            for warning in suite.warnings:  # an empty prompt, an unused key: said once, before anything runs
                print(warning, file=sys.stderr)
        names = model_names(args.model_name, suite.setting("default_model"))
        warnings = check_cascade_options(args, names)  # before anything runs
        if warn:
            for warning in warnings:
                print(warning, file=sys.stderr)
        scripted = scripted_models(args.model_type, args.replies, react=args.react, name=args.model_name)
        self.scripted = scripted
        if scripted is not None:
            names = [scripted.name]
        self.names = names
        self.llama = (args.prompts or _default_prompts(args, original=suite.original)) == "llama"

        def pool(name: str) -> Any:
            return ModelPool(args.model_type, name or None, stream=args.stream, limiter=limiter, **pool_options(args))

        self.pool = pool
        self.pools: list[Any] = [scripted] if scripted is not None else [pool(name) for name in names]
        self.context: Any = None

    def open(self) -> None:
        from llmcompiler.evaluation.suite import SuiteContext

        args, pools, scripted = self.args, self.pools, self.scripted
        planner = pools[0].first()  # credentials are checked here, before any question
        for other in pools[1:]:
            other.first()
        tools_model = scripted.tools_model() if scripted is not None else planner
        self.context = SuiteContext(
            model=tools_model,
            open_model=None if scripted is not None else lambda: pools[0].detached(),
            args=args,
            wikipedia_url=wikipedia_url(args),
            search_cache=args.search_cache,
        )

    def agent(self, memory: Any) -> Any:
        args = self.args
        tools = self.suite.tools(self.context)
        agents = [
            self.suite.build_agent(
                tools,
                models,
                react=args.react,
                llama=self.llama,
                max_replans=args.max_replans,
                timeout=args.timeout,
                stream=args.stream,
                plan_grammar=args.plan_grammar,
                **memory_options(memory, args),
            )
            for models in self.pools
        ]
        if wants_cascade(args, self.names):
            return make_cascade(
                args, agents, self.names, pool=self.pool, pools=self.pools, memory=memory, suite=self.suite.name
            )
        return agents[0]

    async def aclose(self) -> None:
        try:
            if self.context is not None:
                await self.context.aclose()
        finally:
            for models in self.pools:
                await models.aclose()


def wikipedia_url(args: argparse.Namespace) -> str | None:
    return args.wikipedia_url or os.environ.get("LLMCOMPILER_WIKIPEDIA_URL") or None


async def _main(args: argparse.Namespace, configs_dir: Path | None) -> int:
    from llmcompiler.evaluation.datasets import load_dataset
    from llmcompiler.evaluation.report import format_summary, summarize
    from llmcompiler.evaluation.runner import (
        BenchmarkAborted,
        BenchmarkRun,
        Progress,
        finished,
        producer,
        run_benchmark,
    )
    from llmcompiler.evaluation.store import ResultStore
    from llmcompiler.exceptions import ConfigurationError

    if args.ray is not None:
        from llmcompiler.evaluation.cluster import check_ray_options

        check_ray_options(args)  # before anything runs
    elif args.ray_workers is not None:
        raise ConfigurationError("--ray_workers needs --ray")
    setup = BenchAgent(args, configs_dir)
    suite, names = setup.suite, setup.names
    store: ResultStore | None = None
    memory: Any = None
    try:
        setup.open()
        store = ResultStore(args.store)  # a corrupt store, or one another run writes, stops here, untouched
        memory = open_memory(args)  # a corrupt or locked memory stops here too
        dataset_spec = suite.setting("dataset")
        if not (args.dataset or dataset_spec):
            raise ConfigurationError(f"the suite {suite.name!r} names no dataset; pass --dataset PATH")
        # a local path wins over the suite's dataset; a download must not block the loop
        examples = await asyncio.to_thread(load_dataset, dataset_spec, path=args.dataset)
        run_by = producer(
            method="react" if args.react else "llmcompiler",
            suite=suite.name,
            examples=examples,
            model=f"{args.model_type}:{','.join(name or 'None' for name in names)}",
            endpoint=args.endpoint,
            prompts="llama" if setup.llama else "gpt",
            stream=args.stream,
        )
        if args.eval != "none":  # absent by default, so stores written before the cascade still match
            run_by["eval"] = args.eval
        unknown = store.expect(run_by)  # a store of another method, suite, dataset or model stops here
        if unknown:
            print(
                f"warning: {unknown} of the {len(store)} records in {args.store} do not say what produced them "
                f"(an older file); they are taken as results of this run",
                file=sys.stderr,
            )
        if args.N is not None:
            examples = examples[: args.N]
        method = "react" if args.react else "llmcompiler"
        label = "ReAct" if args.react else "LLMCompiler"
        shown = " -> ".join(f"{args.model_type}:{name}" for name in names)
        print(
            f"{label} on {suite.name}: {len(examples)} questions, model{'s' if len(names) > 1 else ''} {shown}, "
            f"concurrency {args.concurrency}, store {args.store}",
            file=sys.stderr,
        )
        pending = sum(1 for e in examples if not finished(store, str(e["id"])))
        progress = Progress(pending, enabled=not args.no_progress and pending > 0)
        done: BenchmarkRun
        try:
            if args.ray is not None:
                from llmcompiler.evaluation.cluster import run_with_ray

                done = await run_with_ray(
                    args, configs_dir, examples, store, method=method, progress=progress, on_log=print
                )
            else:
                done = await run_benchmark(
                    setup.agent(memory),
                    examples,
                    store,
                    method=method,
                    concurrency=args.concurrency,
                    sleep_per_iter=args.sleep_per_iter,
                    progress=progress,
                    timings=args.do_benchmark,
                    on_result=_log if args.logging else None,
                )
        except BenchmarkAborted as exc:
            print(f"error: stopped: {exc}", file=sys.stderr)
            return 2
    finally:
        try:
            if store is not None:
                store.close()
            if memory is not None:
                memory.close()
        finally:
            await setup.aclose()
    if done.skipped:
        print(f"resumed: {done.skipped} questions already in {args.store}", file=sys.stderr)
    ids = [str(e["id"]) for e in examples]
    everything = store.records
    records = {i: everything[i] for i in ids if i in everything}
    print(format_summary(summarize(records)))
    return 0


def _log(example: Mapping[str, Any], result: Any, record: Mapping[str, Any]) -> None:
    print(log_text(example, result))


def log_text(example: Mapping[str, Any], result: Any) -> str:
    """What --logging prints of one question (a Ray worker sends it to the driver to print)."""
    from llmcompiler.evaluation.scoring import normalize_answer

    lines = [f"--- {example['id']}: {example['question']}"]
    levels = getattr(result, "levels", None)
    runs = [level.result for level in levels] if levels is not None else [result]
    for run in runs:
        lines.extend(str(plan) for plan in run.plans)
    lines.append(f"Answer: {result.answer}")
    lines.append(f"{normalize_answer(result.answer)} <> {normalize_answer(example['answer'])}")
    lines.append(f"time: {result.duration:.3f}s" + (f"  error: {result.error}" if result.error else ""))
    return "\n".join(lines)
