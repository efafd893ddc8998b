"""A cascade of agents: the cheapest model first, the next one only when a run fails.

EcoAssistant's "assistant hierarchy" (arXiv 2310.03046) over whole runs: each level is an
agent (LLMCompiler or ReAct, each with its own models), ordered by cost. A level fails when
its run ends without an answer (an error, a timeout, the joiner still asking for another plan
after the last round: all of these end with a status other than answered) or with an empty
one, or when the judge says the answer does not solve the question. The first level that
succeeds ends the cascade; when a memory of solutions is given, that success is stored so that
later questions of the same suite see it as an example.

    cascade = Cascade([cheap_agent, strong_agent], names=["gpt-4o-mini", "gpt-4o"], judge=ModelJudge(judge_model))
    cascade = Cascade.of_models([cheap_model, strong_model], tools=tools)   # one LLMCompiler per model
    result = await cascade.ainvoke("Which is taller, ...?")
    result.answer, result.solved_by, [level.verdict for level in result.levels]

Judges: `NoJudge` (a run that answered is solved), `ModelJudge` (a model says yes or no),
`HumanJudge` (a person says yes or no on the terminal). A judge reply that is neither yes nor
no is the verdict "unclear", counted as unsolved; a judge that cannot answer at all (a human
judge whose input is closed) raises `JudgeError`, which ends the cascade with that error.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from llmcompiler._text import shorten
from llmcompiler.agents.base import RunResult
from llmcompiler.exceptions import ConfigurationError, JudgeError, LLMCompilerError, SolutionMemoryError
from llmcompiler.llm.base import NO_USAGE, ChatModel, Usage, stream_call, system, user
from llmcompiler.llm.pricing import Price, cost
from llmcompiler.runtime import events as ev
from llmcompiler.runtime.ledger import RunStatus

if TYPE_CHECKING:
    from llmcompiler.memory import SolutionMemory

__all__ = [
    "Cascade",
    "CascadeResult",
    "HumanJudge",
    "Judge",
    "Judgement",
    "LevelOutcome",
    "ModelJudge",
    "NoJudge",
    "Verdict",
]

Verdict = Literal["solved", "unsolved", "unclear", "failed"]

_log = logging.getLogger("llmcompiler.cascade")


@dataclass(frozen=True)
class Judgement:
    """What a judge said of one answer; `usage`/`model` are the judge model's (none for the others)."""

    verdict: Verdict
    note: str = ""  # why, when the verdict is not a plain yes or no
    usage: Usage = NO_USAGE
    model: str | None = None

    def cost(self, prices: Mapping[str, Price] | None = None) -> float | None:
        if self.model is None or not self.usage.calls:
            return 0.0
        return cost(self.usage, self.model, prices)


class Judge(Protocol):
    """Says whether `answer` solves `question`; raises `JudgeError` only when it cannot say at all."""

    async def ajudge(self, question: str, answer: str) -> Judgement: ...


class NoJudge:
    """Every run that ended with an answer is solved: the cascade moves on after failures only."""

    async def ajudge(self, question: str, answer: str) -> Judgement:
        return Judgement("solved")


_YES = re.compile(r"^\W*(yes|y|solved|correct)\b", re.IGNORECASE)
_NO = re.compile(r"^\W*(no|n|unsolved|incorrect)\b", re.IGNORECASE)


def _read_verdict(reply: str) -> Verdict:
    """yes/no on the first non-empty line (after an optional "Answer:"/"Verdict:" label)."""
    line = next((part.strip() for part in reply.splitlines() if part.strip()), "")
    line = re.sub(r"^(answer|verdict|reply)\s*:\s*", "", line, flags=re.IGNORECASE)
    if _YES.match(line):
        return "solved"
    if _NO.match(line):
        return "unsolved"
    return "unclear"


JUDGE_INSTRUCTIONS = (
    "You check the work of an assistant. You are given a question and the assistant's final answer. "
    "Decide whether the question was answered correctly and completely. Reply with one word: yes or no."
)


class ModelJudge:
    """A model reads the question and the answer and says yes (solved) or no (unsolved).

    A reply that is neither, or a model call that fails, is "unclear" (counted as unsolved):
    the cascade then tries the next level rather than trusting an answer nobody vouched for.
    """

    def __init__(self, model: ChatModel, *, instructions: str = JUDGE_INSTRUCTIONS) -> None:
        self.model = model
        self.instructions = instructions

    @property
    def name(self) -> str:
        return str(getattr(self.model, "name", type(self.model).__name__))

    async def ajudge(self, question: str, answer: str) -> Judgement:
        messages = [
            system(self.instructions),
            user(
                f"Question: {question}\n\nAnswer: {answer}\n\n"
                "Was this question answered correctly and completely? Reply yes or no."
            ),
        ]
        done = await stream_call(self.model, messages)
        if done.error is not None:
            return Judgement("unclear", f"the judge model failed: {done.error_text}", done.usage, self.name)
        verdict = _read_verdict(done.text)
        note = "" if verdict != "unclear" else f"the judge replied neither yes nor no: {shorten(done.text, 120)!r}"
        return Judgement(verdict, note, done.usage, self.name)


class HumanJudge:
    """Asks on the terminal whether the answer solves the question, until it reads y/yes or n/no.

    End of input (a closed or exhausted stdin) raises `JudgeError`: there is nobody to ask.
    Reading happens in a worker thread, so the event loop keeps running meanwhile.
    """

    def __init__(self, stdin: IO[str], stdout: IO[str]) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self._asking = asyncio.Lock()  # questions judged at once (bench --concurrency) are asked one by one

    async def ajudge(self, question: str, answer: str) -> Judgement:
        async with self._asking:
            return await self._ask(question, answer)

    async def _ask(self, question: str, answer: str) -> Judgement:
        self._write(f"\nQuestion: {question}\nAnswer: {answer}\n")
        while True:
            self._write("Is this question solved? [y/n] ")
            line = await asyncio.to_thread(self._readline)
            if line is None or line == "":
                self._write("\n")  # whatever reports the error starts a line of its own
                raise JudgeError("--eval human: standard input is closed, so nobody can judge the answer")
            reply = line.strip().lower()
            if reply in ("y", "yes"):
                return Judgement("solved")
            if reply in ("n", "no"):
                return Judgement("unsolved")
            self._write("please answer y or n\n")

    def _readline(self) -> str | None:
        try:
            return self.stdin.readline()
        except (OSError, ValueError):  # a closed stream
            return None

    def _write(self, text: str) -> None:
        try:
            self.stdout.write(text)
            self.stdout.flush()
        except (OSError, ValueError):  # nowhere to show it; the reading decides
            pass


@dataclass
class LevelOutcome:
    """One level's run and what the cascade made of it."""

    name: str
    result: RunResult
    verdict: Verdict
    judgement: Judgement | None = None  # None when the run failed (nothing to judge)

    @property
    def usage(self) -> Usage:
        """The run's tokens (every role), plus the judge's."""
        total = self.result.total_usage
        if self.judgement is not None and self.judgement.usage.calls:
            total = total + self.judgement.usage
        return total

    def cost(self, prices: Mapping[str, Price] | None = None) -> float | None:
        """Dollars for the run and its judge; None when a model in it has no price."""
        parts: list[float | None] = list(self.result.cost(prices).values())
        if self.judgement is not None:
            parts.append(self.judgement.cost(prices))
        if not parts or any(part is None for part in parts):
            return None
        return sum(part for part in parts if part is not None)

    @property
    def seconds(self) -> float:
        return self.result.duration


@dataclass
class CascadeResult:
    """How a cascade went: the answer, which level solved it (index, or None) and every level.

    `result` is the last level's `RunResult`, so code written for one run (events, tasks,
    timings) keeps working; `answer`, `error` and `status` are the cascade's own.
    """

    question: str
    answer: str
    status: str  # "answered" when a level solved it, else how the last level ended
    solved_by: int | None
    levels: list[LevelOutcome]
    error: str | None = None
    exception: LLMCompilerError | None = field(default=None, repr=False)
    memory_error: SolutionMemoryError | None = field(default=None, repr=False)  # the success was not stored

    @property
    def result(self) -> RunResult:
        return self.levels[-1].result

    @property
    def solved(self) -> bool:
        return self.solved_by is not None

    @property
    def usage(self) -> Usage:
        total = NO_USAGE
        for level in self.levels:
            total = total + level.usage
        return total

    def cost(self, prices: Mapping[str, Price] | None = None) -> float | None:
        costs = [level.cost(prices) for level in self.levels]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    @property
    def duration(self) -> float:
        return sum(level.seconds for level in self.levels)


def run_succeeded(result: RunResult) -> bool:
    """Whether a run ended with an answer: answered, with non-empty text, no error."""
    return result.status is RunStatus.ANSWERED and result.error is None and bool(result.answer.strip())


class Cascade:
    """Levels of agents, cheapest first; see the module docstring.

    `levels`: agents (anything with `ainvoke(question, on_event=...) -> RunResult`).
    `names`: one per level (the model names), for reports and for the memory; default
    "level 1", "level 2", .... `judge`: who decides that an answer solves the question
    (default `NoJudge`). `memory` and `suite`: store each success there under that suite.
    `warn`: where one-line warnings go (an unclear judge reply); default the
    `llmcompiler.cascade` logger.
    """

    def __init__(
        self,
        levels: Sequence[Any],
        *,
        judge: Judge | None = None,
        names: Sequence[str] = (),
        memory: SolutionMemory | None = None,
        suite: str = "",
        warn: Callable[[str], Any] | None = None,
    ) -> None:
        levels = list(levels)
        if not levels:
            raise ConfigurationError("a Cascade needs at least one level")
        for index, agent in enumerate(levels):
            if not callable(getattr(agent, "ainvoke", None)):
                raise ConfigurationError(f"Cascade level {index + 1} is not an agent: {type(agent).__name__}")
        names = list(names) or [f"level {i + 1}" for i in range(len(levels))]
        if len(names) != len(levels):
            raise ConfigurationError(f"a Cascade of {len(levels)} levels needs {len(levels)} names, got {len(names)}")
        self.levels = levels
        self.names = names
        self.judge: Judge = judge if judge is not None else NoJudge()
        self.memory = memory
        self.suite = suite
        self.warn: Callable[[str], Any] = warn if warn is not None else _log.warning

    @classmethod
    def of_models(
        cls,
        models: Sequence[ChatModel],
        *,
        tools: Sequence[Any] | Mapping[str, Any],
        react: bool = False,
        names: Sequence[str] = (),
        judge: Judge | None = None,
        memory: SolutionMemory | None = None,
        suite: str = "",
        memory_k: int = 3,
        warn: Callable[[str], Any] | None = None,
        **agent_options: Any,
    ) -> Cascade:
        """A cascade of one agent per model over the same `tools`: LLMCompiler (the model plans
        and joins) or, with `react=True`, ReAct; `agent_options` go to every agent
        (`planner_examples`, `max_replans`, `timeout`, ...). Names default to the models' names.
        The agents recall from `memory` (suite `suite`) and the cascade stores their successes."""
        from llmcompiler.agents.compiler import LLMCompiler
        from llmcompiler.agents.react import ReActAgent

        if memory is not None:
            agent_options = {**agent_options, "memory": memory, "memory_suite": suite, "memory_k": memory_k}
        levels: list[Any] = [
            ReActAgent(tools=tools, model=model, **agent_options)
            if react
            else LLMCompiler(tools=tools, planner=model, **agent_options)
            for model in models
        ]
        names = list(names) or [str(getattr(model, "name", f"level {i + 1}")) for i, model in enumerate(models)]
        return cls(levels, judge=judge, names=names, memory=memory, suite=suite, warn=warn)

    async def ainvoke(
        self,
        question: str,
        *,
        on_event: Callable[[ev.Event], Any] | None = None,
        on_level: Callable[[int, str, Any], Any] | None = None,
    ) -> CascadeResult:
        """Run the levels in order until one succeeds.

        `on_event` gets every event of every level's run; `on_level(index, name, agent)` is
        called before each level starts (a view that shows one run at a time opens a new one).
        """
        outcomes: list[LevelOutcome] = []
        for index, (agent, name) in enumerate(zip(self.levels, self.names, strict=True)):
            if on_level is not None:
                on_level(index, name, agent)
            result = await agent.ainvoke(question, on_event=on_event)
            if not run_succeeded(result):
                outcomes.append(LevelOutcome(name, result, "failed"))
                continue
            try:
                judgement = await self.judge.ajudge(question, result.answer)
            except JudgeError as exc:
                outcomes.append(LevelOutcome(name, result, "unclear"))
                return self._ended(question, outcomes, None, exception=exc)
            outcomes.append(LevelOutcome(name, result, judgement.verdict, judgement))
            if judgement.note:
                self.warn(f"{name}: {judgement.note}; counted as unsolved")
            if judgement.verdict == "solved":
                ended = self._ended(question, outcomes, index)
                ended.memory_error = await self._remember(question, result, name)
                return ended
        return self._ended(question, outcomes, None)

    async def _remember(self, question: str, result: RunResult, name: str) -> SolutionMemoryError | None:
        """Store a success; a memory that cannot be written does not undo the answer, it is reported."""
        if self.memory is None:
            return None
        try:
            await self.memory.aremember(question, result, suite=self.suite, model=name)
        except SolutionMemoryError as exc:
            return exc
        return None

    @staticmethod
    def _ended(
        question: str,
        outcomes: list[LevelOutcome],
        solved_by: int | None,
        *,
        exception: LLMCompilerError | None = None,
    ) -> CascadeResult:
        last = outcomes[-1].result
        if solved_by is not None:
            return CascadeResult(question, last.answer, RunStatus.ANSWERED.value, solved_by, outcomes)
        # an answer no judge vouched for is kept (and scored like any other), without an error
        error = str(exception) if exception is not None else last.error
        status = RunStatus.FAILED.value if exception is not None else last.status.value
        return CascadeResult(
            question, last.answer, status, None, outcomes, error=error, exception=exception or last.exception
        )


def describe_levels(result: CascadeResult, prices: Mapping[str, Price] | None = None) -> list[str]:
    """One line per level: name, verdict, tokens, cost and seconds (the `ask -v` summary)."""
    lines = []
    for index, level in enumerate(result.levels, start=1):
        usage = level.usage
        dollars = level.cost(prices)
        shown = "cost unknown" if dollars is None else f"${dollars:.6f}"
        why = ""
        if level.verdict == "failed":
            why = f" ({shorten(level.result.error or 'empty answer', 100)})"
        elif level.judgement is not None and level.judgement.note:
            why = f" ({level.judgement.note})"
        lines.append(
            f"level {index} {level.name}: {level.verdict}{why}; {usage.input_tokens:,} in / "
            f"{usage.output_tokens:,} out tokens, {shown}, {level.seconds:.2f}s"
        )
    return lines
