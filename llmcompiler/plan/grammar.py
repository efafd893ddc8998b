"""Plan grammars for servers that constrain decoding: a regex (vLLM) and GBNF (llama.cpp).

Both admit optional `Thought:` lines, numbered calls of the given tools with their
arguments on one line, and a final `join()` (with or without `<END_OF_PLAN>`).

`plan_regex` only shapes the lines: what is inside a call's parentheses is left to the
parser. `plan_gbnf` also spells out the arguments in the Python literal syntax the parser
reads (strings with escapes, numbers, lists, tuples, dicts, `True`/`None` and their JSON
spellings, `$N`/`${N}`, keyword arguments after positional ones), so a constrained model
cannot write a call that fails to parse. What no context-free grammar can check is left to
the parser, which turns it into a failed task as usual: ids that repeat or references to
ids not written yet (a replan continues the numbering, so the grammar cannot fix it), a
keyword given twice or named like a Python keyword, a string or thought containing one of
the planner's stop sequences (`<END_OF_PLAN>`, `###`), which the server cuts there, and
lines beyond the parser's limits (`MAX_LINE_CHARS`, `MAX_NESTING`).

Use it for the planner only: the joiner and ReAct write another format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from llmcompiler.plan.parser import END_OF_PLAN

# What the parser recognises as a tool name in `N. name(`.
_TOOL_NAME = re.compile(r"[A-Za-z_]\w*")

# Ids and references have at most six digits, keyword names at most 32 characters: enough
# for any plan, and a small model cannot spin on them until it runs out of tokens (a 270M
# model did, on a keyword name). Strings stay unbounded: `max_tokens` is their limit.
_GBNF_BODY = r"""
plan-step ::= plan-thought? plan-id ". " plan-tool "(" plan-args? ")"
plan-thought ::= "Thought: " [^\n]* "\n"
plan-id ::= [1-9] [0-9]{0,5}
plan-args ::= plan-positional ("," " "? plan-keywords)? | plan-keywords
plan-positional ::= plan-value ("," " "? plan-value)*
plan-keywords ::= plan-keyword ("," " "? plan-keyword)*
plan-keyword ::= [A-Za-z_] [A-Za-z0-9_]{0,31} " "? "=" " "? plan-value
plan-value ::= plan-string | plan-number | plan-ref | plan-list | plan-tuple | plan-dict | plan-constant
plan-string ::= "\"" ([^"\\\n] | plan-escape)* "\"" | "'" ([^'\\\n] | plan-escape)* "'"
plan-escape ::= "\\" (["'\\nrt0] | "x" plan-hex plan-hex | "u" plan-hex plan-hex plan-hex plan-hex)
plan-hex ::= [0-9a-fA-F]
plan-number ::= "-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)?
plan-ref ::= "$" plan-id | "${" plan-id "}"
plan-list ::= "[" (plan-value ("," " "? plan-value)*)? "]"
plan-tuple ::= "(" (plan-value ("," " "? plan-value)*)? ")"
plan-dict ::= "{" (plan-pair ("," " "? plan-pair)*)? "}"
plan-pair ::= (plan-string | plan-number) ":" " "? plan-value
plan-constant ::= "True" | "False" | "None" | "true" | "false" | "null"
"""


def _tool_names(tools: Iterable[Any], who: str) -> list[str]:
    names = sorted({t if isinstance(t, str) else t.name for t in tools})
    if not names:
        raise ValueError(f"{who} needs at least one tool")
    return names


def plan_regex(tools: Iterable[Any]) -> str:
    """The plan grammar as a regex over the given tools (names or objects with `.name`)."""
    names = _tool_names(tools, "plan_regex")
    alternatives = "|".join(re.escape(n) for n in names)
    thought = r"(Thought: [^\n]*\n)?"
    call = rf"[1-9][0-9]*\. ({alternatives})\([^\n]*\)\n"
    return rf"({thought}{call})*{thought}[1-9][0-9]*\. join\(\)({re.escape(END_OF_PLAN)})?"


def plan_gbnf(tools: Iterable[Any]) -> str:
    """The plan grammar in GBNF (llama.cpp's `grammar` field) over the given tools.

    `tools` are names or objects with `.name`; each must be a name the parser can read
    (`[A-Za-z_]\\w*`) and not `join`. The start rule is `root`; every other rule is named
    `plan-...`, so the text can be combined with other rules.
    """
    names = _tool_names(tools, "plan_gbnf")
    for name in names:
        if not _TOOL_NAME.fullmatch(name):
            raise ValueError(f"tool name {name!r} cannot appear in a plan: it must match [A-Za-z_]\\w*")
        if name == "join":
            raise ValueError("'join' is not a tool name: join() ends every plan")
    tool_rule = " | ".join(_gbnf_literal(n) for n in names)
    root = f'root ::= (plan-step "\\n")* plan-thought? plan-id ". join()" {_gbnf_literal(END_OF_PLAN)}?'
    return f"{root}\nplan-tool ::= {tool_rule}{_GBNF_BODY}"


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
