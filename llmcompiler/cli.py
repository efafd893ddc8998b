"""The `llmcompiler` command.

    llmcompiler ask "QUESTION" [-v] [--react] [--trace FILE] [--config PATH | --tools module:attribute]
    llmcompiler ask -q "QUESTION" --file a.csv [--code_backend subprocess]   (the code suite)
    llmcompiler bench --benchmark_name hotpotqa --store results.json   (= run_llm_compiler.py)
    llmcompiler bench runtime [--quick]                                 (= benchmarks/runtime.py)
    llmcompiler evaluate --file results.json [other.json]                (= evaluate_results.py)
    llmcompiler trace FILE [--out DIR]
    llmcompiler demo [--code]
    llmcompiler serve [--demo] [--host 127.0.0.1] [--port 8765] [--token TOKEN] [--db PATH]
    llmcompiler ask "QUESTION" --model_name gpt-4o-mini,gpt-4o [--eval none|llm|human] [--solution_demonstration]
    llmcompiler memory list|show ID|clear|export FILE [--suite S] [--memory PATH]
    llmcompiler check-suite PATH                                        (tools, every example parsed)
    llmcompiler --version

A mistake a user can make (missing key, unknown benchmark, bad config path, unreadable
trace) prints one line and exits with status 2; `--debug` shows the traceback instead.
Nothing imports this module.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import stat
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmcompiler._argparse import ArgumentParser, nonnegative_count, port, positive_number, positive_seconds
from llmcompiler.evaluation.bench import add_cascade_flags, add_model_flags, add_rate_flags, pool_options
from llmcompiler.exceptions import LLMCompilerError
from llmcompiler.llm.replies import REPLIES_HELP

USAGE = """\
usage: llmcompiler COMMAND [options]

commands:
  ask QUESTION     answer a question with LLMCompiler (or --react); -v shows the live view
  bench            run a benchmark suite (the flags of run_llm_compiler.py)
  bench runtime    the runtime benchmark on simulated models (benchmarks/runtime.py)
  evaluate         score result files (the flags of evaluate_results.py)
  trace FILE       render a saved trace: timeline PNG + HTML, Mermaid plan, summary
  demo             an offline demo: LLMCompiler and ReAct side by side, no key needed
  demo --code      an offline demo of the code interpreter: scripted models, real code
  serve            the web UI: ask, upload, download and watch the plan run (--demo: no key needed)
  memory           the solved questions --solution_demonstration keeps: list, show, clear, export
  check-suite PATH load a tool suite (ours or the original's layout) and check every example

`llmcompiler COMMAND --help` shows a command's options; `llmcompiler --version` the version.
Every `--long_flag` may also be written `--long-flag`."""

_USER_ERRORS = (LLMCompilerError, ValueError, OSError)


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run a command; `prog` names the program in messages (the root scripts pass theirs)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] in ("--version", "-V", "version"):
        from llmcompiler import __version__

        print(f"llmcompiler {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command == "check-suite":
        from llmcompiler.evaluation.check import main as check_main

        return check_main(rest, prog=prog or "llmcompiler check-suite")
    if command == "memory":
        from llmcompiler.memory.command import main as memory_main

        return memory_main(rest, prog=prog or "llmcompiler memory")
    if command == "bench" and rest[:1] != ["runtime"]:
        from llmcompiler.evaluation.bench import main as bench_main

        return bench_main(rest, prog=prog or "llmcompiler bench")  # says what it kept
    if command in ("bench", "evaluate"):
        try:
            if command == "bench":
                return _bench_runtime(rest[1:])
            from llmcompiler.evaluation.evaluate import main as evaluate_main

            return evaluate_main(rest, prog=prog or "llmcompiler evaluate")
        except KeyboardInterrupt:  # neither writes anything before it has finished
            print("interrupted; nothing was written", file=sys.stderr)
            return 130
    handlers = {
        "ask": (_ask_parser, _ask),
        "trace": (_trace_parser, _trace),
        "demo": (_demo_parser, _demo),
        "serve": (_serve_parser, _serve),
    }
    if command not in handlers:
        print(f"error: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    make_parser, handler = handlers[command]
    options = make_parser().parse_args(rest)
    try:
        return handler(options)
    except KeyboardInterrupt:  # the handlers that can save something say what they saved
        print("interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:
        if options.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _repo_dir(name: str) -> Path | None:
    """`benchmarks/` of a source checkout (editable install), else of the cwd."""
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (base / name).is_dir():
            return base / name
    return None


# -- ask -------------------------------------------------------------------------------------


def _ask_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="llmcompiler ask", description="Answer a question with LLMCompiler or ReAct.")
    p.add_argument("question", nargs="?", help="the question (or -q, or on standard input)")
    p.add_argument("-q", "--question", dest="question_option", help="the question")
    tools = p.add_mutually_exclusive_group()
    tools.add_argument("--config", help="a tool suite folder or module (default: the general suite, search and math)")
    tools.add_argument("--tools", help="module:attribute naming a list of tools (functions, Tools, langchain tools)")
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
    p.add_argument("--base_url", default=None, help="an OpenAI-compatible server's address")
    p.add_argument("--api_key", default=None, help="API key (default: the provider's environment variable)")
    p.add_argument("--vllm_port", type=port, default=None, help="a local vLLM server's port (--model_type vllm)")
    p.add_argument(
        "--endpoint", choices=("chat", "completions"), default="chat", help="completions for base models (chat)"
    )
    add_model_flags(p)
    add_rate_flags(p)
    add_cascade_flags(p)
    p.add_argument("--wikipedia_url", default=None, help="the MediaWiki API the search tool asks (default: Wikipedia)")
    p.add_argument("--max_replans", type=nonnegative_count, default=None, help="override the suite's max_replans")
    p.add_argument("--timeout", type=positive_seconds, default=None, help="seconds allowed for the run")
    p.add_argument("--react", action="store_true", help="run the ReAct baseline instead")
    p.add_argument("-v", "--verbose", action="store_true", help="show the live view of the run")
    p.add_argument("--trace", metavar="FILE", help="save the run's events as JSON (render with `llmcompiler trace`)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    _add_code_flags(p)
    return p


def _add_code_flags(p: argparse.ArgumentParser, *, files: bool = True) -> None:
    title = "code interpreter" + (" (any of these without --config/--tools selects the code suite)" if files else "")
    code = p.add_argument_group(title)
    if files:
        code.add_argument(
            "--file",
            dest="files",
            action="append",
            default=[],
            metavar="PATH",
            help="copy a file into the workspace and tell the planner about it (repeatable)",
        )
    code.add_argument(
        "--code_backend",
        choices=("jupyter", "subprocess"),
        default=None,
        help="jupyter: a kernel per session, state kept between cells (default; needs llmcompiler[code]); "
        "subprocess: a fresh Python per cell",
    )
    code.add_argument(
        "--code_timeout", type=positive_seconds, default=None, metavar="SECONDS", help="seconds a cell may run (60)"
    )
    code.add_argument("--python_interpreter", metavar="PATH", default=None, help="the Python that runs the code")
    code.add_argument(
        "--workspace", metavar="DIR", default=None, help="the folder the code runs in (default: a new temporary one)"
    )


def _wants_code(options: argparse.Namespace) -> bool:
    flags = (options.code_backend, options.code_timeout, options.python_interpreter, options.workspace)
    return bool(getattr(options, "files", None)) or any(flag is not None for flag in flags)


def _interpreter_config(options: argparse.Namespace) -> Any:
    from llmcompiler.code.executor import InterpreterConfig

    settings: dict[str, Any] = {"backend": options.code_backend or "jupyter"}
    if options.code_timeout is not None:
        settings["timeout"] = options.code_timeout
    if options.python_interpreter is not None:
        settings["python_interpreter"] = options.python_interpreter
    return InterpreterConfig(**settings)


def _check_files(paths: Sequence[str]) -> None:
    """Every --file exists and is a file, before anything starts (no empty workspace left behind)."""
    from llmcompiler.exceptions import WorkspaceError

    for name in paths:
        path = Path(name).expanduser()
        if not path.exists():
            raise WorkspaceError(f"--file {name}: no such file")
        if not path.is_file():
            raise WorkspaceError(f"--file {name}: not a file")


# With the code interpreter the whole of piped input is in the workspace as stdin.txt; the
# question quotes only its start, so a large CSV does not become a large prompt.
PIPED_QUOTE_CHARS = 2000


def _question(options: argparse.Namespace) -> tuple[str, str | None]:
    """The question and the piped input that is its context (None when nothing, or it is the question)."""
    from llmcompiler.exceptions import ConfigurationError

    question = options.question_option or options.question
    # --eval human reads its verdicts from stdin: with a question given, stdin is not context
    judging = options.eval == "human" and bool(question)
    piped = sys.stdin.read() if _stdin_is_piped() and not judging else None
    if question and piped and piped.strip():
        return question, piped
    question = question or (piped or "").strip()
    if not question:
        raise ConfigurationError('no question: llmcompiler ask "QUESTION" (or -q, or pipe it in)')
    return question, None


def _stdin_is_piped() -> bool:
    """A pipe or a redirected file on stdin; not a terminal and not /dev/null."""
    if sys.stdin is None:
        return False
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _ask(options: argparse.Namespace) -> int:
    question, piped = _question(options)
    _check_files(options.files)
    events: list[Any] = []  # everything the run emitted, kept here so that Ctrl-C cannot lose it
    workspace: list[Path] = []  # the code's folder, once there is one
    try:
        return asyncio.run(_ask_async(options, question, piped, events, workspace))
    except KeyboardInterrupt:
        kept = f"; the workspace is kept at {workspace[0]}" if workspace else ""
        print(_interrupted_ask(options, events) + kept, file=sys.stderr)
        return 130


def _interrupted_ask(options: argparse.Namespace, events: list[Any]) -> str:
    if not options.trace:
        return "interrupted; nothing was saved (--trace FILE keeps the events of an interrupted run)"
    if not events:
        return "interrupted before the run started; no trace written"
    from llmcompiler.trace import save_trace

    try:
        save_trace(events, options.trace)
    except OSError as exc:
        return f"interrupted; could not write the trace to {options.trace}: {exc}"
    return f"interrupted; wrote the trace of what finished to {options.trace}"


async def _ask_async(
    options: argparse.Namespace, question: str, piped: str | None, events: list[Any], workspace: list[Path]
) -> int:
    from llmcompiler.evaluation.bench import (
        check_cascade_options,
        memory_options,
        model_names,
        open_memory,
        wants_cascade,
    )
    from llmcompiler.evaluation.suite import ModelPool, SuiteContext, load_suite
    from llmcompiler.llm.replies import scripted_models

    default = "llmcompiler.suites.code" if _wants_code(options) and not options.tools else "llmcompiler.suites.general"
    suite = load_suite(options.config or default)
    names = model_names(options.model_name, suite.setting("default_model"))
    for warning in check_cascade_options(options, names):  # before anything runs
        print(warning, file=sys.stderr)
    scripted = scripted_models(options.model_type, options.replies, react=options.react, name=options.model_name)
    if scripted is not None:
        names = [scripted.name]

    def pool(name: str) -> Any:
        return ModelPool(options.model_type, name or None, **pool_options(options))

    pools: list[Any] = [scripted] if scripted is not None else [pool(name) for name in names]
    memory: Any = None
    context: Any = None
    interpreter: Any = None
    try:  # the context's close stops every kernel, on Ctrl-C too
        planner = pools[0].first()  # credentials are checked here, before anything runs
        for other in pools[1:]:
            other.first()
        memory = open_memory(options)  # a corrupt or locked memory: one line, nothing ran
        wikipedia_url = options.wikipedia_url or os.environ.get("LLMCOMPILER_WIKIPEDIA_URL")
        context = SuiteContext(
            model=scripted.tools_model() if scripted is not None else planner,
            wikipedia_url=wikipedia_url,
            interpreter_config=_interpreter_config(options),
            workspace=options.workspace,
        )
        tools = _load_tools(options.tools) if options.tools else suite.tools(context)
        if context.has_interpreter or options.files:
            interpreter = context.interpreter()
            interpreter.start()  # the kernels warm up while the planner writes
            workspace.append(interpreter.root)
            question = _with_files(question, interpreter, options.files, piped)
        elif piped is not None:
            question = f"{question}\n\nContext:\n{piped.strip()}"
        agents = [
            suite.build_agent(
                tools,
                models,
                react=options.react,
                llama=options.endpoint == "completions",
                examples=not options.tools,
                max_replans=options.max_replans,
                timeout=options.timeout,
                plan_grammar=options.plan_grammar,
                **memory_options(memory, options),
            )
            for models in pools
        ]
        if wants_cascade(options, names):
            result = await _ask_cascade(options, question, agents, names, suite.name, memory, pools, pool, events)
        else:
            result = await _ask_one(options, question, agents[0], events)
    finally:
        try:
            if memory is not None:
                memory.close()
            if context is not None:
                await context.aclose()
        finally:
            for models in pools:
                await models.aclose()
    if options.trace:
        from llmcompiler.trace import save_trace

        save_trace(result.result.events if hasattr(result, "levels") else result.events, options.trace)
    if result.error is None:
        print(result.answer)
    if interpreter is not None:
        _print_files(interpreter)
    if result.error is not None:
        print(f"error: {result.error}", file=sys.stderr)
        return 2 if _judge_failed(result) else 1
    if getattr(result, "memory_error", None) is not None:  # answered, but not remembered
        print(f"error: the answer was not stored in the memory: {result.memory_error}", file=sys.stderr)
        return 2
    return 0


def _judge_failed(result: Any) -> bool:
    from llmcompiler.exceptions import JudgeError

    return isinstance(getattr(result, "exception", None), JudgeError)


async def _ask_one(options: argparse.Namespace, question: str, agent: Any, events: list[Any]) -> Any:
    if not options.verbose:
        return await agent.ainvoke(question, on_event=events.append)
    from llmcompiler.view import make_view

    view = make_view(stream=sys.stderr, title=question.splitlines()[0][:80], agent=agent)

    def show(event: Any) -> None:
        events.append(event)
        view(event)

    with view:
        return await agent.ainvoke(question, on_event=show)


async def _ask_cascade(
    options: argparse.Namespace,
    question: str,
    agents: list[Any],
    names: list[str],
    suite: str,
    memory: Any,
    pools: list[Any],
    pool: Any,
    events: list[Any],
) -> Any:
    """The cascade: each level's run in a view of its own with -v, then a line per level."""
    import contextlib

    from llmcompiler.agents.cascade import describe_levels
    from llmcompiler.evaluation.bench import make_cascade

    cascade = make_cascade(options, agents, names, pool=pool, pools=pools, memory=memory, suite=suite)
    if not options.verbose:
        return await cascade.ainvoke(question, on_event=events.append)
    from llmcompiler.view import make_view

    title = question.splitlines()[0][:70]
    with contextlib.ExitStack() as stack:
        shown: list[Any] = []

        def on_level(index: int, name: str, agent: Any) -> None:
            stack.close()  # the previous level's view draws its last frame
            view = make_view(stream=sys.stderr, title=f"[{index + 1}/{len(names)} {name}] {title}", agent=agent)
            stack.enter_context(view)
            shown[:] = [view]

        def show(event: Any) -> None:
            events.append(event)
            if shown:
                shown[0](event)

        result = await cascade.ainvoke(question, on_event=show, on_level=on_level)
    for line in describe_levels(result):
        print(line, file=sys.stderr)
    total = result.cost()
    usage = result.usage
    solved = "unsolved" if result.solved_by is None else f"solved by {names[result.solved_by]}"
    print(
        f"cascade: {solved}; {usage.input_tokens:,} in / {usage.output_tokens:,} out tokens, "
        + ("cost unknown" if total is None else f"${total:.6f}"),
        file=sys.stderr,
    )
    return result


def _with_files(question: str, interpreter: Any, files: Sequence[str], piped: str | None) -> str:
    """Put the files into the workspace and tell the planner what it holds."""
    interpreter.add_files(files)
    if piped is not None and piped.strip():
        interpreter.add_text("stdin.txt", piped)
        text = piped.strip()
        if len(text) > PIPED_QUOTE_CHARS:
            cut = text[:PIPED_QUOTE_CHARS].rsplit("\n", 1)[0]
            text = f"{cut}\n[... the rest of the {len(piped):,} characters piped in is in stdin.txt]"
        question = f"{question}\n\nContext:\n{text}"
    listing = interpreter.describe()
    if listing == "(empty)":
        return question
    return f"{question}\n\nFiles in the workspace (the code's working directory):\n{listing}"


def _print_files(interpreter: Any) -> None:
    """`created file: PATH` (absolute) for every file the run's code made, then the folder."""
    for path in interpreter.created_files():
        print(f"created file: {path}")
    print(f"workspace: {interpreter.root}")


def _load_tools(spec: str) -> list[Any]:
    from llmcompiler._imports import import_user_module
    from llmcompiler.exceptions import ConfigurationError

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--tools takes module:attribute, not {spec!r}")
    try:
        module = import_user_module(module_name)
    except Exception as exc:  # the user's module: anything may go wrong in it
        raise ConfigurationError(
            f"--tools {spec}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        target = getattr(module, attribute)
    except AttributeError:
        raise ConfigurationError(f"--tools {spec}: the module {module_name} has no {attribute!r}") from None
    if callable(target) and not isinstance(target, (list, tuple, dict)):
        try:
            tools = target()
        except Exception as exc:
            raise ConfigurationError(f"--tools {spec}: {attribute}() raised {type(exc).__name__}: {exc}") from exc
    else:
        tools = target
    if isinstance(tools, dict):
        return list(tools.values())
    if not isinstance(tools, (list, tuple)):
        raise ConfigurationError(f"{spec} must be a list of tools (or a function returning one)")
    return list(tools)


# -- trace -----------------------------------------------------------------------------------


def _trace_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="llmcompiler trace", description="Render a saved trace.")
    p.add_argument("file", help="a trace written by `llmcompiler ask --trace FILE`")
    p.add_argument("--out", help="folder for the PNG, HTML and Mermaid files (default: next to the trace)")
    p.add_argument("--no_png", action="store_true", help="skip the PNG (no matplotlib needed)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _trace(options: argparse.Namespace) -> int:
    from llmcompiler.trace import Timeline, load_trace
    from llmcompiler.trace.html import write_html
    from llmcompiler.trace.summary import mermaid_from_events, summarize_events

    events = load_trace(options.file)
    source = Path(options.file)
    out = Path(options.out) if options.out else source.parent
    out.mkdir(parents=True, exist_ok=True)
    stem = source.name.removesuffix(".json")
    timeline = Timeline.from_events(events)
    mermaid = mermaid_from_events(events)
    summary = summarize_events(events)
    written = []
    if not options.no_png:
        from llmcompiler.trace import gantt_png

        title = summary.question.splitlines()[0] if summary.question else None  # long ones end with "…" there
        written.append(gantt_png(timeline, out / f"{stem}.png", title=title))
    html = out / f"{stem}.html"
    written.append(write_html(timeline, html, title=summary.question or None, mermaid=mermaid, summary=summary))
    mermaid_path = out / f"{stem}.mmd"
    mermaid_path.write_text(mermaid + "\n", encoding="utf-8")
    written.append(mermaid_path)
    print(summary.format())
    print()
    print(mermaid)
    print()
    for path in written:
        print(f"wrote {path}")
    return 0


# -- demo ------------------------------------------------------------------------------------


def _demo_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="llmcompiler demo", description="Offline demo with simulated models: LLMCompiler vs ReAct.")
    p.add_argument("--out", default="llmcompiler-demo", help="folder for the timelines and traces")
    p.add_argument(
        "--speed", type=positive_number, default=1.0, help="run the simulated models and tools this many times faster"
    )
    p.add_argument("--plain", action="store_true", help="plain lines instead of the live view")
    p.add_argument(
        "--code",
        action="store_true",
        help="the code interpreter instead: scripted models write real code that runs (sha256, a CSV's average, "
        "an image converted, a chart)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    _add_code_flags(p, files=False)
    return p


def _demo(options: argparse.Namespace) -> int:
    if options.code:
        return _demo_code(options)
    from llmcompiler.demo import format_demo, interrupted_demo, run_demo

    saved: list[Path] = []
    live = False if options.plain else None
    try:
        result = asyncio.run(
            run_demo(out_dir=Path(options.out), speed=options.speed, stream=sys.stdout, live=live, saved=saved)
        )
    except KeyboardInterrupt:
        print(interrupted_demo(saved), file=sys.stderr)
        return 130
    print(format_demo(result))
    return 0


def _demo_code(options: argparse.Namespace) -> int:
    from llmcompiler.demo_code import run_code_demo

    workspace: list[Path] = []
    try:
        report = asyncio.run(
            run_code_demo(
                config=_interpreter_config(options),
                workspace=options.workspace,
                speed=options.speed,
                stream=sys.stdout,
                live=False if options.plain else None,
                started=workspace,
            )
        )
    except KeyboardInterrupt:
        kept = f"; the workspace is kept at {workspace[0]}" if workspace else ""
        print(f"interrupted; every kernel was shut down{kept}", file=sys.stderr)
        return 130
    return 0 if report.ok else 1


# -- serve -----------------------------------------------------------------------------------


def _serve_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="llmcompiler serve", description="The web UI: a page and a JSON API on aiohttp.")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (any but 127.0.0.1/localhost/::1 needs a token)"
    )
    p.add_argument("--port", type=port, default=8765, help="port to listen on (8765)")
    p.add_argument("--demo", action="store_true", help="scripted models (the demo questions), no key needed")
    p.add_argument(
        "--token",
        default=None,
        help="the token every API call needs (default: none on 127.0.0.1, else one generated and printed in the URL)",
    )
    p.add_argument(
        "--db", default=None, metavar="PATH", help="the SQLite file (default: web.sqlite3 in the cache folder)"
    )
    p.add_argument(
        "--workspace_root",
        default=None,
        metavar="DIR",
        help="a folder per session goes here (default: web-workspaces next to the database)",
    )
    p.add_argument(
        "--config",
        dest="suites",
        action="append",
        default=None,
        metavar="SUITE",
        help="a suite the page offers (repeatable; default: general and code)",
    )
    p.add_argument("--model_type", default="openai", help="openai | azure | vllm | friendli | langchain")
    p.add_argument(
        "--model_name",
        default=None,
        help="the models the page offers, comma-separated (default: the first suite's default_model)",
    )
    p.add_argument("--base_url", default=None, help="an OpenAI-compatible server's address")
    p.add_argument("--api_key", default=None, help="kept on the server; never sent to the browser")
    p.add_argument("--vllm_port", type=port, default=None, help="a local vLLM server's port (--model_type vllm)")
    p.add_argument(
        "--endpoint", choices=("chat", "completions"), default="chat", help="completions for base models (chat)"
    )
    add_model_flags(p)
    add_rate_flags(p)  # one limiter per model for the whole server: every session's runs share it
    p.add_argument("--timeout", type=positive_seconds, default=None, help="seconds a run may take")
    p.add_argument("--max_upload_mb", type=positive_number, default=50.0, help="the largest upload accepted (50)")
    p.add_argument("--speed", type=positive_number, default=1.0, help="--demo: simulated latencies divided by this")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    code = p.add_argument_group("code interpreter (the code suite)")
    code.add_argument(
        "--code_backend",
        choices=("jupyter", "subprocess"),
        default=None,
        help="jupyter: a kernel per task (default; needs llmcompiler[code]); subprocess: a Python per cell",
    )
    code.add_argument(
        "--code_timeout", type=positive_seconds, default=None, metavar="SECONDS", help="seconds a cell may run (60)"
    )
    code.add_argument("--python_interpreter", metavar="PATH", default=None, help="the Python that runs the code")
    return p


def _serve(options: argparse.Namespace) -> int:
    from llmcompiler.web.serve import serve_forever, serve_settings

    settings, url = serve_settings(options, _interpreter_config(options))
    return serve_forever(settings, host=options.host, port=options.port, url=url)


# -- bench runtime ---------------------------------------------------------------------------


def _bench_runtime(argv: list[str]) -> int:
    folder = _repo_dir("benchmarks")
    script = folder / "runtime.py" if folder else None
    if script is None or not script.exists():
        print(
            "error: `bench runtime` needs a source checkout (benchmarks/runtime.py); run it from the project root",
            file=sys.stderr,
        )
        return 2
    spec = importlib.util.spec_from_file_location("_llmcompiler_runtime_benchmark", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.main(argv, prog="llmcompiler bench runtime"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
