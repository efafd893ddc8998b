"""A regular expression for the plan format, for servers that constrain decoding (vLLM).

It admits optional `Thought:` lines, numbered calls of the given tools with their
arguments on one line, and a final `join()` (with or without `<END_OF_PLAN>`). It only
shapes the text: argument syntax and references are still checked by the parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from llmcompiler.plan.parser import END_OF_PLAN


def plan_regex(tools: Iterable[Any]) -> str:
    """The plan grammar as a regex over the given tools (names or objects with `.name`)."""
    names = sorted({t if isinstance(t, str) else t.name for t in tools})
    if not names:
        raise ValueError("plan_regex needs at least one tool")
    alternatives = "|".join(re.escape(n) for n in names)
    thought = r"(Thought: [^\n]*\n)?"
    call = rf"[1-9][0-9]*\. ({alternatives})\([^\n]*\)\n"
    return rf"({thought}{call})*{thought}[1-9][0-9]*\. join\(\)({re.escape(END_OF_PLAN)})?"
