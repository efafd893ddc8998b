"""Incremental parser for streamed plan text.

    parser = PlanParser(["search", "math"])
    for chunk in stream:
        for task in parser.feed(chunk):   # a task comes out the moment its ")" arrives
            schedule(task)
    rest = parser.close()                 # the last line, if the stream ended mid-line

How it works. Text is consumed line by line. While a line is incomplete, the parser keeps
an incremental scanner over its call: once the line's head matches `N. tool(`, each new
character is scanned exactly once, tracking string literals and a bracket stack. When
the bracket that closes the call arrives, the task is emitted at once; the rest of the
line is only checked for `<END_OF_PLAN>`. A decision that needs lookahead (is `"` the
start of `\"\"\"`? what does `\\` escape?) waits for the next chunk instead of guessing,
which is why every split of the same text yields the same tasks.

When a line ends without its call being closed, the missing closers are appended (models
copy such lines from few-shot prompts) and the call is parsed if that makes it valid.

Nothing here raises on model output: every problem becomes a `Task` with `error` set.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from llmcompiler.plan.task import JOIN, REF_PATTERN, Ref, Task, collect_refs

END_OF_PLAN = "<END_OF_PLAN>"

# An id has at most 18 digits: a longer number is not a task id (and int() of thousands of
# digits would raise).
_HEADER = re.compile(r"\s*(\d{1,18})\s*\.\s*([A-Za-z_]\w*)\s*\(")
_NUMBERED = re.compile(r"\s*(\d{1,18})\s*\.\s*(.*?)\s*$")
_THOUGHT = re.compile(r"\s*Thought\s*:\s*(.*?)\s*$")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_REF_CALL = "__llmcompiler_ref__"
_REF_CALL_PATTERN = re.compile(_REF_CALL + r"\((\d+)\)")
_JSON_NAMES = {"true": True, "false": False, "null": None}


class _CallScanner:
    """Scans the argument text of one call incrementally; see the module docstring."""

    __slots__ = ("pos", "stack", "quote", "end", "cut", "dollars")

    def __init__(self, start: int) -> None:
        self.pos = start  # next index of the line buffer to look at
        self.stack = ["("]  # open brackets, the call's own parenthesis first
        self.quote: str | None = None  # the open string's delimiter, if inside one
        self.end: int | None = None  # index of the call's closing parenthesis
        self.cut: int | None = None  # where scanning stopped: a comment or a stray closer
        self.dollars: list[int] = []  # positions of `$` outside string literals

    def advance(self, buf: str, final: bool) -> None:
        n = len(buf)
        while self.pos < n and self.end is None and self.cut is None:
            i = self.pos
            c = buf[i]
            if self.quote is not None:
                q = self.quote
                if c == "\\":
                    if i + 1 >= n and not final:
                        return
                    self.pos += 2
                elif buf.startswith(q, i):
                    self.quote = None
                    self.pos += len(q)
                elif len(q) == 3 and c == q[0] and i + 3 > n and not final:
                    return
                else:
                    self.pos += 1
                continue
            if c in "'\"":
                if i + 3 > n and not final:
                    return
                self.quote = c * 3 if buf.startswith(c * 3, i) else c
                self.pos += len(self.quote)
                continue
            if c == "#":
                self.cut = i
                return
            if c == "$":
                self.dollars.append(i)
            elif c in _CLOSERS:
                self.stack.append(c)
            elif c in ")]}":
                if _CLOSERS[self.stack[-1]] != c:
                    self.cut = i
                    return
                self.stack.pop()
                if not self.stack:
                    self.end = i
            self.pos += 1


class PlanParser:
    """Turns streamed plan text into `Task`s; see the module docstring.

    `tools` are the names the planner may call (strings or objects with a `name`).
    `first_id` is the first id this round may use; `known_ids` are the ids of earlier
    rounds' tasks that later tasks may reference (default: every id from 1 to
    `first_id - 1`).
    """

    def __init__(
        self,
        tools: Iterable[Any],
        first_id: int = 1,
        *,
        known_ids: Iterable[int] | None = None,
    ) -> None:
        self._tools = {t if isinstance(t, str) else t.name for t in tools}
        self._first_id = first_id
        self._known = None if known_ids is None else set(known_ids)
        self._seen: list[int] = []  # ids of this round, in order
        self._seen_set: set[int] = set()
        self._join: int | None = None
        self._thought: str | None = None
        self._buf = ""
        self._scanner: _CallScanner | None = None
        self._header: re.Match[str] | None = None
        self._line_done = False  # the current line's task was already emitted
        self._ended = False
        self._closed = False

    @property
    def ended(self) -> bool:
        """True once `<END_OF_PLAN>` was read or `close()` was called."""
        return self._ended

    @property
    def has_join(self) -> bool:
        return self._join is not None

    def feed(self, chunk: str) -> list[Task]:
        """Consume a chunk of plan text; return the tasks it completed, in plan order."""
        if self._closed:
            raise RuntimeError("feed() after close()")
        out: list[Task] = []
        if self._ended or not chunk:
            return out
        lines = chunk.replace("\r", "").split("\n")
        for k, piece in enumerate(lines):
            self._buf += piece
            if k < len(lines) - 1:
                self._finish_line(out)
                if self._ended:
                    break
            else:
                self._scan(out, final=False)
        return out

    def close(self) -> list[Task]:
        """End of stream: parse what is left of the last line."""
        out: list[Task] = []
        if not self._closed and not self._ended:
            self._finish_line(out)
        self._closed = True
        self._ended = True
        return out

    # -- line handling -------------------------------------------------------------

    def _scan(self, out: list[Task], *, final: bool) -> None:
        if self._line_done:
            return
        if self._scanner is None:
            self._header = _HEADER.match(self._buf)
            if self._header is None:
                return
            self._scanner = _CallScanner(self._header.end())
        self._scanner.advance(self._buf, final)
        if self._scanner.end is not None:
            out.append(self._call_task(self._header, self._buf[: self._scanner.end], self._scanner.dollars))
            self._line_done = True

    def _finish_line(self, out: list[Task]) -> None:
        self._scan(out, final=True)
        line = self._buf
        done, scanner, header = self._line_done, self._scanner, self._header
        self._buf, self._scanner, self._header, self._line_done = "", None, None, False

        # after a closed call, only text behind its ")" can end the plan
        closed_at = scanner.end if scanner is not None and scanner.end is not None else -1
        marker = line.find(END_OF_PLAN, closed_at + 1)
        if marker >= 0:
            self._ended = True
            line = line[:marker]
            if not line.strip() or done:
                return
            # `... join()<END_OF_PLAN>` is handled above; a marker after an unclosed call
            # cuts the call short, so parse the part before it like any other line.
            self._finish_line_text(line, out)
            return
        if done:
            return
        if scanner is not None and header is not None:
            self._repair_call(line, header, scanner, out)
            return
        self._finish_line_text(line, out)

    def _finish_line_text(self, line: str, out: list[Task]) -> None:
        """A complete line that did not (yet) produce a task."""
        header = _HEADER.match(line)
        if header is not None:
            scanner = _CallScanner(header.end())
            scanner.advance(line, final=True)
            if scanner.end is not None:
                out.append(self._call_task(header, line[: scanner.end], scanner.dollars))
            else:
                self._repair_call(line, header, scanner, out)
            return
        if not line.strip():
            return
        thought = _THOUGHT.match(line)
        if thought is not None:
            self._add_thought(thought.group(1))
            return
        numbered = _NUMBERED.match(line)
        if numbered is not None:
            idx, rest = int(numbered.group(1)), numbered.group(2)
            text = line.strip()
            if rest.split("#", 1)[0].strip() == JOIN:  # `N. join` without parentheses still closes the plan
                out.append(self._make_task(idx, JOIN, (), {}, text=text))
            else:
                out.append(self._error_task(idx, "", f"not a tool call: {rest!r}", text=text))
            return
        if self._thought is not None and not line.lstrip().startswith("```"):
            self._add_thought(line.strip())

    def _add_thought(self, text: str) -> None:
        self._thought = text if self._thought is None else f"{self._thought}\n{text}"

    def _repair_call(self, line: str, header: re.Match[str], scanner: _CallScanner, out: list[Task]) -> None:
        idx, name = int(header.group(1)), header.group(2)
        text = line.strip()
        if scanner.quote is not None:
            out.append(self._error_task(idx, name, "unterminated string in the arguments", text=text))
            return
        if scanner.cut is not None and line[scanner.cut] != "#":
            # a closer that does not match its opener: nothing sensible to repair
            out.append(self._error_task(idx, name, f"unbalanced brackets in {text!r}", text=text))
            return
        body = line if scanner.cut is None else line[: scanner.cut]
        # append the missing closers; the last one is the call's own parenthesis
        repaired = body.rstrip() + "".join(_CLOSERS[b] for b in reversed(scanner.stack))
        out.append(self._call_task(header, repaired[:-1], scanner.dollars))

    # -- task construction -----------------------------------------------------------

    def _call_task(self, header: re.Match[str], upto_close: str, dollars: list[int]) -> Task:
        """`upto_close` is the line up to (not including) the call's closing parenthesis."""
        idx, name = int(header.group(1)), header.group(2)
        inner_start = header.end()
        text = upto_close[header.start(1) :].strip() + ")"
        call_text = upto_close[header.start(2) :] + ")"
        try:
            args, kwargs = _parse_arguments(upto_close, inner_start, dollars)
        except _ArgumentError as exc:
            return self._error_task(idx, name, f"cannot parse the arguments of {call_text}: {exc}", text=text)
        return self._make_task(idx, name, args, kwargs, text=text)

    def _make_task(self, idx: int, name: str, args: tuple, kwargs: dict, *, text: str) -> Task:
        problem = self._check_id(idx)
        if problem is None and name != JOIN and name not in self._tools:
            available = ", ".join(sorted(self._tools)) or "none"
            problem = f"unknown tool {name!r} (available: {available})"
        if problem is None and self._join is not None:
            problem = "a second join() in one plan" if name == JOIN else f"task after join() (${self._join})"
        refs = sorted(collect_refs((args, kwargs)))
        if problem is None:
            problem = self._check_refs(idx, refs)
        if problem is not None:
            return self._error_task(idx, name, problem, text=text, deps=refs, args=args, kwargs=kwargs)
        if name == JOIN:
            self._join = idx
            args, kwargs, refs = (), {}, sorted(self._seen)
        self._remember(idx)
        return Task(idx, name, args, kwargs, tuple(refs), self._take_thought(), text)

    def _error_task(
        self,
        idx: int,
        name: str,
        error: str,
        *,
        text: str,
        deps: Iterable[int] = (),
        args: tuple = (),
        kwargs: dict | None = None,
    ) -> Task:
        # A duplicate keeps the first task's id in the books; any other bad line takes its
        # id, so that later references to it are skipped rather than called "missing".
        if idx not in self._seen_set and not self._is_earlier(idx):
            self._remember(idx)
        valid_deps = tuple(d for d in deps if d in self._seen_set and d != idx or self._is_earlier(d))
        return Task(idx, name, args, kwargs or {}, valid_deps, self._take_thought(), text, error)

    def _remember(self, idx: int) -> None:
        self._seen.append(idx)
        self._seen_set.add(idx)

    def _take_thought(self) -> str | None:
        thought, self._thought = self._thought, None
        return thought

    def _is_earlier(self, idx: int) -> bool:
        if self._known is None:
            return 1 <= idx < self._first_id  # plan ids start at 1: `$0` is never a result
        return idx in self._known

    def _check_id(self, idx: int) -> str | None:
        if idx in self._seen_set:
            return f"duplicate task id {idx}"
        if self._is_earlier(idx):
            return f"duplicate task id {idx} (used in an earlier round; continue from {self._first_id})"
        return None

    def _check_refs(self, idx: int, refs: list[int]) -> str | None:
        for ref in refs:
            if ref == idx:
                return f"${ref} refers to the task itself"
            if ref in self._seen_set or self._is_earlier(ref):
                continue
            if ref > idx:
                return f"${ref} is a forward reference (task {idx} can only use earlier results)"
            return f"${ref} does not refer to any earlier task"
        return None


# -- argument parsing --------------------------------------------------------------


class _ArgumentError(Exception):
    pass


def _parse_arguments(line: str, start: int, dollars: list[int]) -> tuple[tuple, dict[str, Any]]:
    """Parse `line[start:]` (the text between the call's parentheses) as Python literals."""
    pieces: list[str] = []
    last = start
    for pos in dollars:
        if pos < start:
            continue
        match = REF_PATTERN.match(line, pos)
        if match is None:
            raise _ArgumentError(f"'$' must be followed by a task number, at {line[pos:pos + 8]!r}")
        pieces.append(line[last:pos])
        pieces.append(f"{_REF_CALL}({match.group(1) or match.group(2)})")
        last = match.end()
    pieces.append(line[last:])
    source = "_(" + "".join(pieces) + ")"
    try:
        call = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _ArgumentError(exc.msg) from None
    except RecursionError:  # e.g. thousands of nested unary operators
        raise _ArgumentError("the arguments are nested too deeply") from None
    except ValueError as exc:  # Python 3.10: "source code string cannot contain null bytes"
        raise _ArgumentError(str(exc)) from None
    if not isinstance(call, ast.Call):  # e.g. `f(1)(2)` or `f(1) + 2`
        raise _ArgumentError("expected a single call")
    try:
        args = []
        for node in call.args:
            if isinstance(node, ast.Starred):
                raise _ArgumentError("*args are not allowed")
            args.append(_literal(node))
        kwargs: dict[str, Any] = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise _ArgumentError("**kwargs are not allowed")
            if kw.arg in kwargs:
                raise _ArgumentError(f"keyword argument repeated: {kw.arg}")
            kwargs[kw.arg] = _literal(kw.value)
        collect_refs((args, kwargs))  # raises ValueError for a $N of thousands of digits
    except RecursionError:
        raise _ArgumentError("the arguments are nested too deeply") from None
    except ValueError:
        raise _ArgumentError("a $N reference number is too large") from None
    return tuple(args), kwargs


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            match = REF_PATTERN.fullmatch(value)
            if match is not None:
                return Ref(int(match.group(1) or match.group(2)))
        return value
    if isinstance(node, ast.List):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e) for e in node.elts)
    try:
        if isinstance(node, ast.Set):
            return {_literal(e) for e in node.elts}
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise _ArgumentError("** inside a dict is not allowed")
            return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
    except TypeError:  # e.g. `{[1]: 2}`: a list cannot be a dict key or set element
        raise _ArgumentError(f"{_shown(node)!r} has an unhashable key or element") from None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _literal(node.operand)
        if isinstance(operand, (int, float, complex)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == _REF_CALL
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
    ):
        return Ref(int(node.args[0].value))
    raise _ArgumentError(f"{_shown(node)!r} is not a literal (use strings, numbers, lists, dicts or $N)")


def _shown(node: ast.AST) -> str:
    """An argument written back in Python syntax, its references as `$N`."""
    try:
        shown = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every node ast.parse makes
        shown = type(node).__name__
    return _REF_CALL_PATTERN.sub(r"$\1", shown)
