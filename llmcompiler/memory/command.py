"""`llmcompiler memory`: look at, clear and export the memory of solved questions.

    llmcompiler memory list [--suite S] [--memory PATH]
    llmcompiler memory show ID [--memory PATH]
    llmcompiler memory clear [--suite S] [--memory PATH]
    llmcompiler memory export FILE [--suite S] [--memory PATH]

`--wait SECONDS` (default 5) is how long a command waits while another program writes.

A memory file that does not exist yet is an empty memory: reading it creates nothing. A
corrupt, locked or foreign file, an unknown id or an unwritable export file is one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from llmcompiler._argparse import ArgumentParser, nonnegative_seconds
from llmcompiler.exceptions import SolutionMemoryError
from llmcompiler.memory.store import Solution, SolutionMemory, default_memory_path

__all__ = ["main"]

_QUESTION_CHARS = 70


def _parser(prog: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="The memory of solved questions (--solution_demonstration).")
    commands = parser.add_subparsers(dest="action", required=True, metavar="{list,show,clear,export}")

    def command(name: str, help: str) -> ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--memory", default=None, help=f"the memory file (default {default_memory_path()})")
        sub.add_argument(
            "--wait", type=nonnegative_seconds, default=5.0, help="seconds to wait for another program's lock (5)"
        )
        return sub  # (subparsers are made with the parent's class: ArgumentParser)

    listing = command("list", "one line per stored solution, oldest first")
    listing.add_argument("--suite", default=None, help="only this suite's solutions")
    show = command("show", "everything stored for one solution")
    show.add_argument("id", type=_solution_id, metavar="ID", help="its id, as `list` shows it")
    clear = command("clear", "delete the stored solutions")
    clear.add_argument("--suite", default=None, help="only this suite's solutions")
    export = command("export", "write the solutions to FILE as JSON lines")
    export.add_argument("file", metavar="FILE", help="the JSON-lines file to write")
    export.add_argument("--suite", default=None, help="only this suite's solutions")
    return parser


def _solution_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a solution id (a whole number), got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a solution id (a whole number >= 1), got {text!r}")
    return value


def main(argv: Sequence[str] | None = None, *, prog: str = "llmcompiler memory") -> int:
    options = _parser(prog).parse_args(list(sys.argv[1:] if argv is None else argv))
    path = Path(options.memory).expanduser() if options.memory else default_memory_path()
    try:
        return _dispatch(options, path)
    except SolutionMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _dispatch(options: argparse.Namespace, path: Path) -> int:
    if not path.exists():
        return _empty(options, path)
    with SolutionMemory(path, busy_timeout=options.wait) as memory:
        if options.action == "list":
            _list(memory.list(options.suite), path, options.suite)
        elif options.action == "show":
            solution = memory.get(options.id)
            if solution is None:
                print(f"error: no solution {options.id} in {path}", file=sys.stderr)
                return 2
            _show(solution)
        elif options.action == "clear":
            removed = memory.clear(options.suite)
            print(f"removed {_count(removed)}{_of(options.suite)} from {path}")
        else:
            written = memory.export(options.file, suite=options.suite)
            print(f"wrote {_count(written)}{_of(options.suite)} to {options.file}")
    return 0


def _empty(options: argparse.Namespace, path: Path) -> int:
    """A memory never written: answered without creating the file."""
    if options.action == "show":
        print(f"error: no solution {options.id}: {path} does not exist (nothing stored yet)", file=sys.stderr)
        return 2
    if options.action == "clear":
        print(f"removed 0 solutions from {path} (it does not exist)")
    elif options.action == "export":
        try:
            Path(options.file).expanduser().write_text("", encoding="utf-8")
        except OSError as exc:
            raise SolutionMemoryError(f"cannot write {options.file}: {exc.strerror or exc}") from exc
        print(f"wrote 0 solutions to {options.file} ({path} does not exist)")
    else:
        print(f"no solutions: {path} does not exist (nothing stored yet)")
    return 0


def _count(n: int) -> str:
    return f"{n} solution" + ("" if n == 1 else "s")


def _of(suite: str | None) -> str:
    return f" of suite {suite!r}" if suite is not None else ""


def _when(created: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(created))


def _list(solutions: list[Solution], path: Path, suite: str | None) -> None:
    if not solutions:
        print(f"no solutions{_of(suite)} in {path}")
        return
    rows = [("ID", "SUITE", "AGENT", "MODEL", "STORED", "QUESTION")]
    for s in solutions:
        question = " ".join(s.question.split())
        if len(question) > _QUESTION_CHARS:
            question = question[: _QUESTION_CHARS - 3] + "..."
        rows.append((str(s.id), s.suite, s.agent, s.model, _when(s.created), question))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[5]]).rstrip())
    print(f"{_count(len(solutions))}{_of(suite)} in {path}")


def _show(s: Solution) -> None:
    print(f"solution {s.id}: suite {s.suite!r}, {s.agent} with {s.model}, stored {_when(s.created)}")
    print(f"question: {s.question}")
    print(f"answer: {s.answer}")
    label = "step" if s.agent == "react" else "plan"
    for n, plan in enumerate(s.plans, start=1):
        print(f"\n{label} {n}:\n{plan.rstrip()}")
    for n, code in enumerate(s.code, start=1):
        print(f"\ncode {n}:\n{code.rstrip()}")
    print(f"\nshown to later planners as:\n{s.example.rstrip()}")
