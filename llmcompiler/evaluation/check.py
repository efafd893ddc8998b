"""`llmcompiler check-suite PATH`: load a tool suite and read every in-context example with the
runtime's own parsers, before a benchmark spends money on it.

    llmcompiler check-suite configs/hotpotqa          (ours, or a suite in the original's layout)

It lists the suite's tools as the planner sees them (each tool's prompt line), then reads
planner examples with `PlanParser`, joiner examples with the joiner's `parse_decision` (their
numbered calls with `PlanParser` too) and ReAct examples one action at a time, as the ReAct
agent runs them. Each problem is one line, `file[:line]: what is wrong`: a syntax error in a
suite file, a suite that fails to load, an example that calls a tool the suite does not have,
a line that is not a plan line, an example without a decision, an empty prompt. Exit status
1 when there is any, 0 (and a summary) otherwise; 2 when PATH is no suite at all.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmcompiler._argparse import ArgumentParser
from llmcompiler.exceptions import ConfigurationError, LLMCompilerError

__all__ = ["Problem", "SuiteCheck", "check_suite", "main"]

_PARTS = ("configs", "tools", "gpt_prompts", "llama_prompts", "react_prompts")
_CALL = re.compile(r"\s*(\d{1,18})\s*\.\s*([A-Za-z_]\w*)\s*\(")  # a plan line's head
_BARE_CALL = re.compile(r"\s*([A-Za-z_]\w*)\((.*)\)\s*$")  # the original's joiner examples: search(x)
_THOUGHT = re.compile(r"\s*Thought\s*:")
_ACTION_LINE = re.compile(r"\s*Action\s*:\s*(.*)", re.IGNORECASE)
_DECISION = re.compile(r"Action\s*:\s*(Finish|Replan)\b", re.IGNORECASE)
_FINISH = re.compile(r"Finish\b", re.IGNORECASE)
_QUESTION = re.compile(r"Question\s*:")
_SHOWN = 80  # characters of an example line quoted in a problem
_NAMES = {"planner": ("PLANNER",), "joiner": ("JOINER", "OUTPUT"), "ReAct": ("REACT", "PROMPT")}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite; `str()` is its one line."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = _shown_path(self.file) if self.line is None else f"{_shown_path(self.file)}:{self.line}"
        return f"{where}: {self.message}"


@dataclass
class SuiteCheck:
    """What `check_suite` found: the tools' prompt lines, example counts, problems."""

    source: str
    name: str = ""
    tools: list[str] = field(default_factory=list)
    examples: dict[str, int] = field(default_factory=dict)  # "planner (gpt)" -> how many
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the loader's notes (an unused key): shown, not failed

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        lines = [f"suite {self.name or '?'} ({self.source})"]
        if self.tools:
            lines.append(f"tools ({len(self.tools)}):")
            for prompt_line in self.tools:
                first, *rest = prompt_line.splitlines() or [""]
                lines.append(f"  {first}")
                lines += [f"      {more.strip()}" for more in rest if more.strip()]
        lines += [f"warning: {line}" for line in self.warnings]
        lines += [str(problem) for problem in self.problems]
        if self.problems:
            count = len(self.problems)
            lines.append(f"{count} problem{'s' if count != 1 else ''} in {self.source}")
        else:
            counted = ", ".join(f"{n} {kind}" for kind, n in self.examples.items()) or "no examples"
            lines.append(f"ok: {len(self.tools)} tools; examples read: {counted}")
        return "\n".join(lines)


def check_suite(spec: str | Path) -> SuiteCheck:
    """Check one suite (a folder, a packaged suite's name or a dotted module path).

    Raises ConfigurationError only when `spec` names no suite at all; everything wrong with
    a suite that exists is a `Problem` in the result."""
    from llmcompiler.evaluation.suite import load_suite

    folder = Path(spec).expanduser()
    report = SuiteCheck(source=str(spec))
    if folder.is_dir():
        report.problems += _syntax_errors(folder)
        if report.problems:
            return report
    try:
        suite = load_suite(spec)
    except ConfigurationError as exc:
        if not folder.is_dir() and _names_no_suite(exc):
            raise
        report.problems.append(_load_problem(exc, folder if folder.is_dir() else None))
        return report
    report.name = suite.name
    report.warnings = [str(line) for line in getattr(suite, "warnings", ())]
    names = _read_tools(suite, report)
    if names is not None:
        _read_examples(suite, names, report)
    return report


def _names_no_suite(exc: ConfigurationError) -> bool:
    return "no such folder" in str(exc) or "cannot load the tool suite" in str(exc)


def _syntax_errors(folder: Path) -> list[Problem]:
    """`file:line` of every suite file Python cannot compile (all of them, not just the first)."""
    found = []
    for part in _PARTS:
        path = folder / f"{part}.py"
        if not path.is_file():
            continue
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as exc:
            found.append(Problem(str(path), f"syntax error: {exc.msg}", exc.lineno))
        except ValueError as exc:  # null bytes
            found.append(Problem(str(path), f"cannot be compiled: {exc}"))
    return found


def _load_problem(exc: BaseException, folder: Path | None) -> Problem:
    """The loader's one line; a SyntaxError raised further down (an import) keeps its file:line."""
    cause = exc.__cause__
    if isinstance(cause, SyntaxError) and cause.filename:
        return Problem(cause.filename, f"syntax error: {cause.msg}", cause.lineno)
    return Problem(str(folder) if folder is not None else "suite", str(exc))


# -- tools -------------------------------------------------------------------------------------


def _read_tools(suite: Any, report: SuiteCheck) -> set[str] | None:
    """The tool names (None when the tools cannot be built); their prompt lines go into `report`."""
    from llmcompiler.tools import as_tools

    where = _file_of(suite, "tools")
    try:
        tools = as_tools(_build_tools(suite))
    except (LLMCompilerError, ValueError, TypeError) as exc:
        report.problems.append(Problem(where, f"the tools cannot be built: {exc}"))
        return None
    if not tools:
        report.problems.append(Problem(where, "the suite has no tools"))
    report.tools = [tool.prompt_line() for tool in tools.values()]
    return set(tools)


def _build_tools(suite: Any) -> list[Any]:
    """The suite's tools, built as a run builds them, with nothing started: the tools' model is
    scripted with no replies, search points at a closed port, code would run in a throwaway folder."""
    from llmcompiler.code.executor import InterpreterConfig
    from llmcompiler.evaluation.suite import SuiteContext
    from llmcompiler.llm import ScriptedModel

    workspace = tempfile.mkdtemp(prefix="llmcompiler-check-")
    context = SuiteContext(
        model=ScriptedModel([]),
        wikipedia_url="http://127.0.0.1:9/w/api.php",
        interpreter_config=InterpreterConfig(backend="subprocess"),
        workspace=workspace,
    )
    try:
        return list(suite.tools(context))
    finally:
        try:
            asyncio.run(context.aclose())
        finally:
            shutil.rmtree(workspace, ignore_errors=True)


# -- examples ----------------------------------------------------------------------------------


@dataclass
class _Prompt:
    """One prompt string of the suite, where it came from, and its text."""

    kind: str  # planner, joiner, ReAct
    flavour: str  # gpt, llama
    file: str
    text: str

    def line_of(self, text: str, example: int) -> int | None:
        """The line of the suite file that holds `text`, a line of example number `example`, when
        it is there verbatim: looked for inside the literal that holds this prompt, from that
        example's `Question:` on (the same line may be in several examples and prompts)."""
        needle = text.strip()
        try:
            source = Path(self.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        lines = source.splitlines()
        first, last = self._literal_lines(source) or (1, len(lines))
        questions = [n for n in range(first, last + 1) if "Question:" in lines[n - 1]]
        start = questions[example - 1] if 0 < example <= len(questions) else first
        for number in range(start, last + 1):
            if needle and needle in lines[number - 1]:
                return number
        return None

    def _literal_lines(self, source: str) -> tuple[int, int] | None:
        """(first, last) line of the assignment whose value is this prompt: the string equal to it,
        else the one whose name says what it is (PLANNER_PROMPT, OUTPUT_PROMPT, ... as f-strings)."""
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None
        named = []
        for node in tree.body:
            if not isinstance(node, ast.Assign) or not isinstance(node.value, (ast.Constant, ast.JoinedStr)):
                continue
            span = (node.value.lineno, node.value.end_lineno or node.value.lineno)
            if isinstance(node.value, ast.Constant) and node.value.value == self.text:
                return span
            names = " ".join(t.id for t in node.targets if isinstance(t, ast.Name)).upper()
            if any(word in names for word in _NAMES[self.kind]):
                named.append(span)
        return named[0] if len(named) == 1 else None

    def problem(self, example: int, message: str, line: str | None = None) -> Problem:
        label = f"{self.kind} example {example} ({self.flavour})"
        if line is None:
            return Problem(self.file, f"{label}: {message}")
        return Problem(self.file, f"{label}: {message}: {_clip(line)}", self.line_of(line, example))


def _read_examples(suite: Any, tools: set[str], report: SuiteCheck) -> None:
    checks = {"planner": _check_planner, "joiner": _check_joiner, "ReAct": _check_react}
    for prompt in _prompts(suite):
        key = f"{prompt.kind} ({prompt.flavour})"
        if not isinstance(prompt.text, str) or not prompt.text.strip():
            report.problems.append(Problem(prompt.file, f"the {key} prompt is empty"))
            continue
        examples = split_examples(prompt.text)
        report.examples[key] = len(examples)
        for number, example in enumerate(examples, start=1):
            report.problems += checks[prompt.kind](prompt, number, example, tools)


def _prompts(suite: Any) -> Iterator[_Prompt]:
    """Every prompt the suite gives an agent: the gpt ones, and the llama and ReAct ones where they
    differ or exist. An original-style ReAct suite (CONFIGS["prompt"] alone) has no planner."""
    configs = getattr(suite, "configs", {})
    original = bool(getattr(suite, "original", False))
    planning = not original or "prompts" in configs
    if planning:
        gpt = suite.prompts()
        sets = [("gpt", gpt)] + ([("llama", suite.prompts(llama=True))] if suite.prompts(llama=True) != gpt else [])
        for flavour, (planner, joiner) in sets:
            where = _file_of(suite, f"{flavour}_prompts", "gpt_prompts", "configs")
            yield _Prompt("planner", flavour, where, planner)
            yield _Prompt("joiner", flavour, where, joiner)
    if "react_prompts" in suite.modules or (original and "prompt" in configs):
        where = _file_of(suite, "react_prompts", "gpt_prompts", "configs")
        react = suite.react_examples()
        yield _Prompt("ReAct", "gpt", where, react)
        llama = suite.react_examples(llama=True)
        if llama != react:
            yield _Prompt("ReAct", "llama", _file_of(suite, "react_prompts", "llama_prompts", "configs"), llama)


def _file_of(suite: Any, *parts: str) -> str:
    """The file of the first of `parts` the suite has (the first one's name when it has none)."""
    for part in parts:
        found = getattr(suite.modules.get(part), "__file__", None)
        if found:
            return str(found)
    return f"{suite.source}/{parts[0]}.py"


def split_examples(text: str) -> list[str]:
    """The examples of a prompt: cut at `###` and before every `Question:` line (the agents'
    stop sequences); text ahead of the first question (the original's instructions) is dropped."""
    examples = []
    for chunk in text.split("###"):
        current: list[str] = []
        for line in chunk.splitlines():
            if _QUESTION.match(line) and current:
                examples.append(current)
                current = []
            current.append(line)
        examples.append(current)
    kept = []
    for lines in examples:
        start = next((i for i, line in enumerate(lines) if _QUESTION.match(line)), None)
        if start is not None:
            kept.append("\n".join(lines[start:]).strip("\n"))
    return kept


def _body(example: str, starts: re.Pattern[str] | None = None) -> list[str]:
    """The lines after the question (which may span lines) of one example."""
    lines = example.splitlines()
    begin = re.compile(r"\s*(Thought\s*:|Action\s*:|Plan and results\s*:|Observation\s*:|\d+\s*\.\s)")
    end = next((i for i, line in enumerate(lines) if i > 0 and (starts or begin).match(line)), len(lines))
    return lines[end:]


def _check_planner(prompt: _Prompt, number: int, example: str, tools: set[str]) -> list[Problem]:
    from llmcompiler.plan import PlanParser

    body = _body(example)
    problems = []
    for line in body:
        if line.strip() and not (_CALL.match(line) or _THOUGHT.match(line)):
            problems.append(prompt.problem(number, "not a plan line (a numbered call or a Thought)", line))
    parser = PlanParser(tools, first_id=_first_id(body))
    tasks = parser.feed("\n".join(body) + "\n") + parser.close()
    problems += [prompt.problem(number, task.error, task.text) for task in tasks if task.error]
    if not [task for task in tasks if not task.is_join]:
        problems.append(prompt.problem(number, "the plan calls no tool"))
    elif not any(task.is_join for task in tasks):
        problems.append(prompt.problem(number, "the plan does not end with join()<END_OF_PLAN>"))
    return problems


def _first_id(lines: Sequence[str]) -> int:
    """A plan may continue an earlier round's numbering (a replan's example)."""
    for line in lines:
        head = _CALL.match(line)
        if head:
            return int(head.group(1))
    return 1


def _check_joiner(prompt: _Prompt, number: int, example: str, tools: set[str]) -> list[Problem]:
    from llmcompiler.agents.joiner import parse_decision

    problems = []
    body = _body(example)
    for at, line in enumerate(body):
        observed = at + 1 < len(body) and body[at + 1].lstrip().startswith("Observation")
        problem = _joiner_call(prompt, number, line, tools, observed=observed)
        if problem is not None:
            problems.append(problem)
    decisions = list(_DECISION.finditer(example))
    decision = parse_decision(example[_thought_start(example, decisions) :]) if decisions else None
    if decision is None:
        problems.append(
            prompt.problem(number, "no decision the joiner's parser reads (Action: Finish(...) or Replan(...))")
        )
    elif not decision.content.strip():
        problems.append(prompt.problem(number, f"an empty {decision.action.capitalize()}()"))
    return problems


def _thought_start(example: str, decisions: list[re.Match[str]]) -> int:
    """Where the reply the joiner is shown starts: the Thought before the last decision."""
    last = decisions[-1].start()
    thought = example.rfind("Thought", 0, last)
    return thought if thought >= 0 else last


def _joiner_call(prompt: _Prompt, number: int, line: str, tools: set[str], *, observed: bool) -> Problem | None:
    """A call line of a joiner example: a plan line (ours) or, right before its `Observation:`,
    `tool(...)` (the original's); other lines are observations, which may hold anything."""
    from llmcompiler.plan import PlanParser

    head = _CALL.match(line)
    if head is not None:
        idx = int(head.group(1))
        parser = PlanParser(tools, first_id=idx, known_ids=range(1, idx))
        tasks = parser.feed(line + "\n") + parser.close()
        bad = [task.error for task in tasks if task.error]
        return prompt.problem(number, bad[0], line) if bad else None
    bare = _BARE_CALL.match(line) if observed else None
    if bare is not None and bare.group(1) not in tools and bare.group(1) not in ("join", "Finish", "Replan"):
        return prompt.problem(number, f"unknown tool {bare.group(1)!r} (available: {', '.join(sorted(tools))})", line)
    return None


def _check_react(prompt: _Prompt, number: int, example: str, tools: set[str]) -> list[Problem]:
    from llmcompiler.agents.joiner import parse_decision
    from llmcompiler.plan import PlanParser

    lines = example.splitlines()
    actions = [(i, m.group(1).strip()) for i, line in enumerate(lines) if (m := _ACTION_LINE.match(line))]
    if not actions:
        return [prompt.problem(number, "no Action line")]
    problems = []
    for step, (_, call) in enumerate(actions[:-1], start=1):
        if _FINISH.match(call):
            problems.append(prompt.problem(number, "a Finish before the last step", lines[actions[step - 1][0]]))
            continue
        parser = PlanParser(tools, first_id=step, known_ids=range(1, step))
        tasks = parser.feed(f"{step}. {call}\n") + parser.close()
        task = tasks[0] if tasks else None
        if task is None or task.is_join:
            problems.append(
                prompt.problem(number, "not a tool call the ReAct agent can run", lines[actions[step - 1][0]])
            )
        elif task.error:
            problems.append(prompt.problem(number, task.error, lines[actions[step - 1][0]]))
    last_at, last = actions[-1]
    decision = parse_decision("\n".join(lines[max(0, last_at - 1) :])) if _FINISH.match(last) else None
    if decision is None or decision.action != "finish" or not decision.content.strip():
        problems.append(prompt.problem(number, "the last action is not Finish(answer)", lines[last_at]))
    return problems


def _shown_path(file: str) -> str:
    """Relative to the current folder when inside it, as the user typed the suite's path."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return file


def _clip(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")


# -- command -----------------------------------------------------------------------------------


def build_parser(prog: str = "llmcompiler check-suite") -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Load a tool suite (ours or one in the original LLMCompiler's layout), list its tools "
        "and read every in-context example with the runtime's parsers.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a suite folder, a packaged suite's name or a module")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "llmcompiler check-suite") -> int:
    """0: every suite is fine; 1: problems (one line each); 2: a PATH that is no suite."""
    options = build_parser(prog).parse_args(argv)
    status = 0
    for spec in options.paths:
        try:
            report = check_suite(spec)
        except ConfigurationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(report.format())
        status = status or (0 if report.ok else 1)
    return status
