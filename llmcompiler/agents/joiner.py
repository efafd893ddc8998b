"""The joiner: reads a round's results and answers (`Finish`) or asks for a new plan (`Replan`).

The model replies

    Thought: reasoning over the observations
    Action: Finish(the answer)        or        Action: Replan(what is missing)

`parse_decision` takes the last `Action: Finish(...)`/`Replan(...)`; the argument runs to
the last `)` of the reply, so answers may hold parentheses, quotes and several lines. A reply
without one is no decision (None), except plain text with neither `Thought:` nor `Action:`,
which is taken as the answer (see `parse_decision`). It is linear in the reply's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from llmcompiler.llm.base import Message, system, user

_INSTRUCTIONS = """\
You read the results of a plan of tool calls and decide what happens next. Reply in exactly
this form:
Thought: <reasoning over the results>
Action: Finish(<the final answer to the question>)
or, when the results are not enough to answer{replan_note}:
Action: Replan(<what is missing and why>)
Keep the answer short: just what the question asks for."""

_LAST_ROUND = "This is the last round: you must reply with Action: Finish, answering as well as the results allow."

_ACTION = re.compile(r"Action\s*:\s*(Finish|Replan)\b", re.IGNORECASE)
_ANY_ACTION = re.compile(r"Action\s*:", re.IGNORECASE)
_THOUGHT = re.compile(r"Thought\s*:", re.IGNORECASE)
# The thought ends at the newline nearest an `Action:` that starts a line. Matching from
# the *last* newline before it (`[^\S\n]*`, not `\s*`) reads each character once; a lazy
# `(.*?)(?=\n\s*Action)` rescans a run of blank lines once per newline in it.
_THOUGHT_END = re.compile(r"\n[^\S\n]*Action\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    action: Literal["finish", "replan"]
    content: str
    thought: str


def joiner_messages(
    *,
    question: str,
    scratchpad: str,
    examples: str = "",
    last_round: bool = False,
) -> list[Message]:
    note = "" if not last_round else " (not allowed in this round)"
    parts = [_INSTRUCTIONS.format(replan_note=note)]
    if examples.strip():
        parts.append(f"Examples:\n{examples.strip()}")
    request = f"Question: {question}\n\nPlan and results:\n{scratchpad or '(no calls were made)'}"
    if last_round:
        request += f"\n\n{_LAST_ROUND}"
    return [system("\n\n".join(parts)), user(request)]


def parse_decision(text: str) -> Decision | None:
    """Read the joiner's reply; None when it decides nothing.

    The decision is the last `Action: Finish(...)` or `Action: Replan(...)`. Without one:

    - plain text, with neither `Thought:` nor `Action:`, is the answer: weak or chatty models
      often just answer, and that is a decision to finish;
    - an empty reply, or one with a `Thought:` or an `Action:` but no Finish/Replan (it
      reasoned without deciding, was cut short, or named some other action) is no decision:
      taking its thought as the answer would report reasoning as the result.
    """
    thought_match = _THOUGHT.search(text)
    thought = ""
    if thought_match is not None:
        end = _THOUGHT_END.search(text, thought_match.end())
        thought = text[thought_match.end() : end.start() if end else len(text)].strip()
    last = None
    for match in _ACTION.finditer(text):  # the last Action line counts
        last = match
    if last is None:
        if thought_match is not None or not text.strip() or _ANY_ACTION.search(text):
            return None
        return Decision("finish", _unquote(text.strip()), "")
    kind: Literal["finish", "replan"] = "finish" if last.group(1).lower() == "finish" else "replan"
    rest = text[last.end() :].strip()
    if rest.startswith("("):
        close = rest.rfind(")")
        rest = rest[1:close] if close > 0 else rest[1:]
    return Decision(kind, _unquote(rest.strip()), thought)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] not in inner:
            return inner
    return text


def render_scratchpad(lines: Iterable[tuple[str | None, str, str]]) -> str:
    """`(thought, call, observation)` triples as the joiner and the replanner see them."""
    out = []
    for thought, call, observation in lines:
        if thought:
            out.append(f"Thought: {thought}")
        out.append(call)
        out.append(f"Observation: {observation}")
    return "\n".join(out)
