"""Reading Google-style docstrings: what a tool is for, and what each argument means.

Only the parts a planner prompt uses are read: the prose (kept, paragraph breaks
included) and the entries of the Args-like sections (joined onto one line each); the
Returns/Yields/Raises sections describe the call's mechanics and are dropped.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_SECTION = re.compile(r"^([A-Za-z][A-Za-z ]*?)\s*:\s*$")
# Sections whose entries describe the arguments.
_ARG_SECTIONS = {
    "args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
    "kwargs", "other parameters",
}
# Sections that describe the call's mechanics rather than what the tool is for.
_DROPPED_SECTIONS = _ARG_SECTIONS | {"returns", "return", "yields", "yield", "raises"}
_ARG_LINE = re.compile(r"^\s*(\*{0,2}[A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into (description, {argument: description}).

    The description is everything outside the Args/Returns/Yields/Raises sections
    (paragraph breaks kept); argument descriptions have their continuation lines joined.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    arg_docs: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION.match(line)
        section = header.group(1).lower() if header else None
        if section not in _DROPPED_SECTIONS:
            kept.append(line)
            i += 1
            continue
        base = _indent(line)
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            body.append(lines[i])
            i += 1
        if section in _ARG_SECTIONS:
            arg_docs.update(_parse_arg_section(body))
    description = "\n".join(kept).strip()
    description = re.sub(r"\n\s*\n(\s*\n)+", "\n\n", description)
    return description, arg_docs


def _parse_arg_section(body: list[str]) -> dict[str, str]:
    entries: dict[str, list[str]] = {}
    filled = [ln for ln in body if ln.strip()]
    if not filled:
        return {}
    entry_indent = min(_indent(ln) for ln in filled)
    current: list[str] | None = None
    for line in filled:
        match = _ARG_LINE.match(line) if _indent(line) == entry_indent else None
        if match:
            name = match.group(1).lstrip("*")
            current = entries.setdefault(name, [])
            if match.group(2).strip():
                current.append(match.group(2).strip())
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(parts) for name, parts in entries.items() if parts}
