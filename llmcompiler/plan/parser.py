"""Incremental parser for streamed plan text.

    parser = PlanParser(["search", "math"])
    for chunk in stream:
        for task in parser.feed(chunk):   # a task comes out the moment its ")" arrives
            schedule(task)
    rest = parser.close()                 # the last line, if the stream ended mid-line

How it works. Text is consumed line by line, and every character is looked at a bounded
number of times whatever the chunking, so parsing is linear in the plan's length. While a
line is incomplete its pieces are kept in a list (joined once, when the line's task is
built) and two small state machines read each new piece exactly once: one recognises the
line's head `N. tool(`, then one scans the call's arguments, tracking string literals and a
bracket stack. When the bracket that closes the call arrives, the task is emitted at once;
the rest of the line is only watched for `<END_OF_PLAN>`. A decision that needs lookahead
(is `"` the start of `\"\"\"`? what does `\\` escape?) keeps its one or two characters for
the next chunk instead of guessing, which is why every split of the same text yields the
same tasks.

A call still open at a newline (inside brackets, or a triple-quoted string) continues on
the next lines, as models wrap long lists and dicts; its task comes out when it closes. A
next line that starts a task (`N. tool(` or `N. ...` on its own), a thought or the end
marker instead ends the open call (a `# comment` inside it ends at its newline, as in
Python, and is left out of a repaired call): its missing closers are appended (models copy such lines
from few-shot prompts) and it is parsed if that makes it valid. So does the end of the
stream. A plain string open at a newline is an error, as in Python.

Cost per task. Most lines arrive whole in a chunk and are one simple call: `_SIMPLE_CALL`
reads such a line with one match, and the arguments of nearly every call are read by a
fast path (`_fast_arguments`: a regex per token, or one match and one findall for flat
positional arguments) that accepts only what Python's parser reads to the same values;
anything else goes to `ast.parse`, which words every error as before.

Limits, so that hostile or runaway output costs bounded time and memory:

- `MAX_LINE_CHARS`: a line whose task is not out after this many characters becomes a
  failed task that states the limit; the rest of the line is skipped (an `<END_OF_PLAN>`
  in it still ends the plan). Prose longer than that (a thought) is cut at the limit.
- `MAX_NESTING`: brackets nested deeper than this inside a call make it a failed task
  (CPython's own parser stops at 200 levels, and far less is never a sensible argument).

Nothing here raises on model output: every problem becomes a `Task` with `error` set.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from keyword import iskeyword
from typing import Any

from llmcompiler.plan.task import JOIN, REF_PATTERN, Ref, Task, collect_refs, refs_in_text

END_OF_PLAN = "<END_OF_PLAN>"
MAX_LINE_CHARS = 1 << 20
MAX_NESTING = 100

# An id has at most 18 digits: a longer number is not a task id (and int() of thousands of
# digits would raise).
_HEADER = re.compile(r"\s*(\d{1,18})\s*\.\s*([A-Za-z_]\w*)\s*\(")
# Only the heads of the other line kinds are matched; their text is taken with str.strip().
# (`\s*(.*?)\s*$` backtracks quadratically over a long run of inner whitespace.)
_NUMBERED = re.compile(r"\s*(\d{1,18})\s*\.")
_THOUGHT = re.compile(r"\s*Thought\s*:")
_SPACES = re.compile(r"\s*")
_SPACE = re.compile(r"\s")
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d*")
_WORD = re.compile(r"\w*")
_NAME_START = re.compile(r"[A-Za-z_]")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
# what the argument scanner stops at, outside and inside string literals
_SPECIAL = re.compile(r"""['"#()\[\]{}]""")
# the same with `$`: only the slow path (ast) needs where the references outside strings are
_SPECIAL_DOLLARS = re.compile(r"""['"#$()\[\]{}]""")
_IN_STRING = {'"': re.compile(r'["\\]'), "'": re.compile(r"['\\]")}
_REF_CALL = "__llmcompiler_ref__"
_REF_CALL_PATTERN = re.compile(_REF_CALL + r"\((\d+)\)")
_JSON_NAMES = {"true": True, "false": False, "null": None}
_SHORT_LINE = 64  # up to this length a line's head is looked for by rematching `_HEADER`
_SHOWN_CHARS = 200  # model text quoted in an error message is cut to about this
# A whole call at the start of a line, as most plan lines are, recognised with one match:
# `_HEADER`, then arguments with no escapes, comments or triple quotes and brackets at most
# one level deep, then the ")". Where it matches, the argument scanner would end the call at
# the same ")" (a quote right after a string's closing quote is excluded: that is `"""`).
_ATOM = r"""[^()\[\]{}'"#\\\n]|"[^"\\\n]*"(?!")|'[^'\\\n]*'(?!')"""
_SIMPLE_CALL = re.compile(
    rf"""\s*(\d{{1,18}})\s*\.\s*([A-Za-z_]\w*)\s*\(((?:{_ATOM}|\[(?:{_ATOM})*\]|\((?:{_ATOM})*\)|\{{(?:{_ATOM})*\}})*)\)"""
)
# what a line after an open call may start with that is never a continuation of the call
_NOT_CONTINUATIONS = ("Thought", END_OF_PLAN)


def _clip(text: str) -> str:
    """`text`, or its start and how much was left out: errors quote model text, which may be huge."""
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[: _SHOWN_CHARS - 40]}... ({len(text) - _SHOWN_CHARS + 40:,} more characters)"


class _Head:
    """Recognises a line's head `N. tool(`, as `_HEADER` matches it, piece by piece and
    reading each character once (rematching the regex on the growing line at every chunk
    would be quadratic on a long run of spaces)."""

    __slots__ = ("state", "numbered", "digits", "name", "id_start", "name_start", "end")

    # what is expected next: the text so far is a prefix of a head
    SPACE, DIGITS, DOT, NAME_START, NAME, PAREN, DONE, DEAD = range(8)

    def __init__(self) -> None:
        self.state = _Head.SPACE
        self.numbered = False  # `N.` was read: the line is meant as a task, call or not
        self.digits = ""
        self.name: list[str] = []
        self.id_start = 0  # offsets in the line
        self.name_start = 0
        self.end = 0  # just after the "("

    @classmethod
    def of(cls, line: str) -> _Head:
        head = cls()
        match = _HEADER.match(line)
        if match is None:
            head.state = _Head.DEAD
        else:
            head.matched(match)
        return head

    @property
    def idx(self) -> int:
        return int(self.digits)

    @property
    def tool(self) -> str:
        return "".join(self.name) if self.state == _Head.DONE else ""

    def matched(self, match: re.Match[str]) -> None:
        self.state, self.numbered = _Head.DONE, True
        self.digits, self.name = match.group(1), [match.group(2)]
        self.id_start, self.name_start, self.end = match.start(1), match.start(2), match.end()

    def feed(self, piece: str, offset: int) -> int:
        """Read `piece`, the line's text from `offset`; returns how much of it was used."""
        i, n = 0, len(piece)
        while i < n:
            state = self.state
            if state == _Head.DIGITS:
                end = _DIGITS.match(piece, i).end()  # type: ignore[union-attr]
                self.digits += piece[i:end]
                i = end
                if len(self.digits) > 18:
                    self.state = _Head.DEAD
                elif i < n:
                    if piece[i] == ".":
                        self.state, self.numbered = _Head.NAME_START, True
                        i += 1
                    else:
                        self.state = _Head.DOT if _SPACE.match(piece, i) else _Head.DEAD
                continue
            if state == _Head.NAME:
                end = _WORD.match(piece, i).end()  # type: ignore[union-attr]
                self.name.append(piece[i:end])
                i = end
                if i < n:
                    if piece[i] == "(":
                        self.state, self.end = _Head.DONE, offset + i + 1
                        return i + 1
                    self.state = _Head.PAREN if _SPACE.match(piece, i) else _Head.DEAD
                continue
            if state >= _Head.DONE:
                break
            i = _SPACES.match(piece, i).end()  # type: ignore[union-attr]
            if i == n:
                break
            c = piece[i]
            if state == _Head.SPACE:
                if _DIGIT.match(c):
                    self.state, self.id_start = _Head.DIGITS, offset + i
                else:
                    self.state = _Head.DEAD
            elif state == _Head.DOT:
                if c == ".":
                    self.state, self.numbered = _Head.NAME_START, True
                    i += 1
                else:
                    self.state = _Head.DEAD
            elif state == _Head.NAME_START:
                if _NAME_START.match(c):
                    self.state, self.name_start = _Head.NAME, offset + i
                else:
                    self.state = _Head.DEAD
            elif c == "(":  # PAREN
                self.state, self.end = _Head.DONE, offset + i + 1
                return i + 1
            else:
                self.state = _Head.DEAD
        return i


class _CallScanner:
    """Scans the argument text of one call incrementally; see the module docstring."""

    __slots__ = ("pos", "carry", "stack", "quote", "end", "cut", "too_deep", "dollars", "special", "comments")

    def __init__(self, start: int, *, dollars: bool = False) -> None:
        self.pos = start  # line offset of the first character of `carry`
        self.carry = ""  # the one or two characters whose meaning needs the next chunk
        self.stack = ["("]  # open brackets, the call's own parenthesis first
        self.quote: str | None = None  # the open string's delimiter, if inside one
        self.end: int | None = None  # line offset of the call's closing parenthesis
        self.cut: int | None = None  # where scanning stopped: a comment, a stray closer, too deep
        self.too_deep = False
        self.dollars: list[int] = []  # with `dollars`: line offsets of `$` outside string literals
        self.special = _SPECIAL_DOLLARS if dollars else _SPECIAL
        self.comments: list[tuple[int, int]] = []  # (start, end) of comments in a multi-line call

    def feed(self, piece: str, *, final: bool) -> None:
        """Scan the line's next `piece`; `final`: the line ends after it."""
        text = self.carry + piece if self.carry else piece
        base, n, i = self.pos, len(text), 0
        stack = self.stack
        while True:
            quote = self.quote
            if quote is not None:
                match = _IN_STRING[quote[0]].search(text, i)
                if match is None:
                    i = n
                    break
                i = match.start()
                if text[i] == "\\":
                    if i + 1 >= n and not final:
                        break
                    i += 2
                elif len(quote) == 1:
                    self.quote = None
                    i += 1
                elif i + 3 > n and not final:
                    break
                elif text.startswith(quote, i):
                    self.quote = None
                    i += 3
                else:
                    i += 1
                continue
            match = self.special.search(text, i)
            if match is None:
                i = n
                break
            i = match.start()
            c = text[i]
            if c in "'\"":
                if i + 3 > n and not final:
                    break
                self.quote = c * 3 if text.startswith(c * 3, i) else c
                i += len(self.quote)
            elif c == "$":
                self.dollars.append(base + i)
                i += 1
            elif c in _CLOSERS:
                if len(stack) > MAX_NESTING:
                    self.cut, self.too_deep = base + i, True
                    break
                stack.append(c)
                i += 1
            elif c == "#":
                self.cut = base + i
                break
            else:  # a closer
                if _CLOSERS[stack[-1]] != c:
                    self.cut = base + i
                    break
                stack.pop()
                if not stack:
                    self.end = base + i
                    break
                i += 1
        if i < n and self.end is None and self.cut is None:
            self.carry = text[i:]
        elif self.carry:
            self.carry = ""
        self.pos = base + i


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
        # the ids of earlier rounds (without `known_ids`: 1 to first_id - 1; plan ids start at
        # 1, `$0` is never a result), as one container: `idx in` it is one C call
        self._earlier: range | set[int] = range(1, first_id) if known_ids is None else set(known_ids)
        self._seen_set: set[int] = set()  # ids of this round
        self._refs: dict[int, Ref] = {}  # one Ref per id the plan references (fewer objects kept)
        self._join: int | None = None
        self._thought: str | None = None
        self._ended = False
        self._closed = False
        self._new_line()

    def _new_line(self) -> None:
        self._parts: list[str] = []  # the current line, while its task is not out yet
        self._size = 0
        self._head: _Head | None = None  # known once the line's head is complete, or long
        self._scanner: _CallScanner | None = None
        # Once the line's task is out, or the line ran past MAX_LINE_CHARS, the rest of it
        # is only watched for the end marker; `_tail` holds the end of what was watched,
        # for a marker split between chunks.
        self._watching = False
        self._tail = ""
        # A call still open at a newline continues on the next line unless that line turns
        # out to start something else (a task, a thought, the end marker): while that is
        # undecided the new line's text waits in `_pending`, read by `_pending_head`.
        self._pending: list[str] | None = None
        self._pending_head: _Head | None = None
        self._pending_size = 0
        self._line_part = 0  # index in `_parts` where the current physical line starts
        self._line_start = 0  # and its offset

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
        last = len(lines) - 1
        for k, piece in enumerate(lines):
            if not piece:
                pass
            elif self._size == 0 and not self._watching and self._pending is None and self._head is None:
                # the line starts here: most lines are a whole simple call, read at once (most
                # of those in one match, `_quick_task`)
                quick = self._quick_task(piece)
                if quick is None:
                    match = _SIMPLE_CALL.match(piece)
                    if match is not None and match.end() <= MAX_LINE_CHARS:
                        close = match.end(3)
                        call = self._call_task(
                            int(match.group(1)),
                            match.group(2),
                            piece[:close],
                            match.start(1),
                            match.start(2),
                            match.start(3),
                        )
                        quick = call, close
                if quick is not None:
                    task, close = quick
                    out.append(task)
                    rest = piece[close + 1 :]
                    if k < last:  # the line ends here too: the state is already that of a new line
                        if END_OF_PLAN in rest:
                            self._ended = True
                            break
                        continue
                    self._watching = True
                    self._watch(rest)
                else:
                    self._take(piece, out)
            else:
                self._take(piece, out)
            if k < last and not self._ended:
                self._end_line(out)
            if self._ended:
                break
        return out

    def close(self) -> list[Task]:
        """End of stream: parse what is left of the last line."""
        out: list[Task] = []
        if not self._closed and not self._ended:
            if self._pending is not None:
                self._resolve_pending(out, line_ended=True)
            if not self._ended:
                self._finish_line(out)
        self._closed = True
        self._ended = True
        return out

    # -- line handling -------------------------------------------------------------

    def _take(self, piece: str, out: list[Task]) -> None:
        """The next piece of the current line (no newline in it)."""
        if self._pending is not None:
            self._pending.append(piece)
            pending_head = self._pending_head
            assert pending_head is not None
            if pending_head.state < _Head.DONE:
                pending_head.feed(piece, self._pending_size)
            self._pending_size += len(piece)
            self._resolve_pending(out, line_ended=False)
            return
        if self._watching:
            self._watch(piece)
            return
        offset = self._size
        size = offset + len(piece)
        if size > MAX_LINE_CHARS:
            room = MAX_LINE_CHARS - offset
            self._take(piece[:room], out)
            if not self._watching:  # the line's task is still not out
                self._overflow(out)
            self._watch(piece[room:])
            return
        self._parts.append(piece)
        self._size = size
        scanner = self._scanner
        if scanner is None:
            if size <= _SHORT_LINE and self._head is None:
                # rematching a short line is cheaper than stepping the head's state machine
                line = piece if offset == 0 else "".join(self._parts)
                match = _HEADER.match(line)
                if match is None:
                    return
                head = self._head = _Head()
                head.matched(match)
                piece = line[match.end() :]
            else:
                after = self._find_head(piece, offset)
                if after is None:
                    return
                piece = after
                head = self._head  # type: ignore[assignment]
            scanner = self._scanner = _CallScanner(head.end, dollars=True)
        if scanner.end is None and scanner.cut is None:
            scanner.feed(piece, final=False)
            if scanner.end is not None:
                self._emit_call(out)

    def _find_head(self, piece: str, offset: int) -> str | None:
        """Read the line's new `piece` with its head's state machine; once the head is
        complete, return the text of the line after its "(" (all of it is in `piece`)."""
        head = self._head
        if head is None:  # the line just outgrew _SHORT_LINE: one pass over what came so far
            head = self._head = _Head()
            piece, offset = "".join(self._parts), 0
        elif head.state >= _Head.DONE:
            return None
        used = head.feed(piece, offset)
        return piece[used:] if head.state == _Head.DONE else None

    def _emit_call(self, out: list[Task]) -> None:
        """The call's closing parenthesis arrived: emit its task, watch the rest of the line."""
        scanner, head = self._scanner, self._head
        assert scanner is not None and scanner.end is not None and head is not None
        line = "".join(self._parts)
        out.append(self._head_task(head, line[: scanner.end], scanner.dollars))
        self._parts, self._watching = [], True
        self._watch(line[scanner.end + 1 :])

    def _overflow(self, out: list[Task]) -> None:
        """The line passed MAX_LINE_CHARS before its task came out."""
        line = "".join(self._parts)
        self._parts, self._watching = [], True
        head = self._head
        if head is not None and head.numbered:
            problem = f"the line is longer than {MAX_LINE_CHARS:,} characters, the limit for one plan line"
            out.append(self._error_task(head.idx, head.tool, problem, text=_clip(line.strip())))
            self._watch(line)
        else:  # prose (a thought, say): what fits is the line
            marker = line.find(END_OF_PLAN)
            if marker >= 0:
                self._ended = True
            self._finish_line_text(line if marker < 0 else line[:marker], out)
            self._tail = line[-(len(END_OF_PLAN) - 1) :]

    def _watch(self, text: str) -> None:
        if not text:
            return
        window = self._tail + text
        if END_OF_PLAN in window:
            self._ended = True
        self._tail = window[-(len(END_OF_PLAN) - 1) :]

    def _end_line(self, out: list[Task]) -> None:
        """A newline: the line ends, unless it holds a call that is still open."""
        if self._pending is not None:
            self._resolve_pending(out, line_ended=True)
            if self._ended:
                return
        scanner = self._scanner
        if (
            not self._watching
            and scanner is not None
            and scanner.end is None
            and self._size < MAX_LINE_CHARS
            and (scanner.cut is None or not scanner.too_deep)
        ):
            current = "".join(self._parts[self._line_part :])
            if END_OF_PLAN in current:
                self._finish_line(out)
                return
            if scanner.cut is not None:
                if current[scanner.cut - self._line_start] != "#":  # a stray closer: an error
                    self._finish_line(out)
                    return
                # a comment inside the open call ends at the newline, and the call goes on
                scanner.comments.append((scanner.cut, self._size))
                scanner.cut, scanner.pos, scanner.carry = None, self._size, ""
            # the newline is part of the call's text: inside brackets it is only space, inside
            # a triple-quoted string it is content; inside any other string it ends the string
            # (an error, below)
            scanner.feed("\n", final=False)
            self._parts.append("\n")
            self._size += 1
            if scanner.quote is None:  # the next line decides (see _resolve_pending)
                self._pending, self._pending_head, self._pending_size = [], _Head(), 0
                self._line_part, self._line_start = len(self._parts), self._size
                return
            if len(scanner.quote) == 3:  # string content, whatever the next line holds
                self._line_part, self._line_start = len(self._parts), self._size
                return
        self._finish_line(out)

    def _resolve_pending(self, out: list[Task], *, line_ended: bool) -> None:
        """Decide, as soon as the text allows, whether the line after an open call continues
        the call or starts something new (then the open call is repaired as a line ending
        there would be)."""
        pending, head = self._pending, self._pending_head
        assert pending is not None and head is not None
        if head.state == _Head.DONE or (line_ended and head.numbered):
            new = True  # `N. tool(`, or a line that is just `N. something`
        elif head.state == _Head.DEAD:
            # the head died at the line's first non-space character (or later, in a number)
            start = "".join(pending).lstrip()
            if start.startswith(_NOT_CONTINUATIONS):
                new = True
            elif not line_ended and any(word.startswith(start) for word in _NOT_CONTINUATIONS):
                return  # `Tho`: wait for more
            else:
                new = False
        elif not line_ended and self._size + self._pending_size <= MAX_LINE_CHARS:
            return  # still a prefix of a head, `  12 .` say
        else:
            new = False
        text = "".join(pending)
        self._pending, self._pending_head = None, None
        if new:
            self._finish_line(out)
            if not self._ended:
                self._take(text, out)
        elif text:
            self._take(text, out)

    def _finish_line(self, out: list[Task]) -> None:
        watching, scanner, head = self._watching, self._scanner, self._head
        if not watching and scanner is not None and scanner.cut is None:
            scanner.feed("", final=True)
            if scanner.end is not None:
                self._emit_call(out)
                watching = True
        parts = self._parts
        self._new_line()
        if watching:
            return
        line = "".join(parts)
        marker = line.find(END_OF_PLAN)
        if marker >= 0:
            # a marker after an unclosed call cuts the call short, so the part before it is
            # parsed like any other line
            self._ended = True
            if line[:marker].strip():
                self._finish_line_text(line[:marker], out)
            return
        if scanner is not None:
            assert head is not None  # a scanner starts when the head is complete
            self._repair_call(line, head, scanner, out)
            return
        self._finish_line_text(line, out)

    def _finish_line_text(self, line: str, out: list[Task]) -> None:
        """A complete line that did not (yet) produce a task."""
        head = _Head.of(line)
        if head.state == _Head.DONE:
            scanner = _CallScanner(head.end, dollars=True)
            scanner.feed(line[head.end :], final=True)
            if scanner.end is not None:
                out.append(self._head_task(head, line[: scanner.end], scanner.dollars))
            else:
                self._repair_call(line, head, scanner, out)
            return
        if not line.strip():
            return
        thought = _THOUGHT.match(line)
        if thought is not None:
            self._add_thought(line[thought.end() :].strip())
            return
        numbered = _NUMBERED.match(line)
        if numbered is not None:
            idx, rest = int(numbered.group(1)), line[numbered.end() :].strip()
            text = line.strip()
            if rest.split("#", 1)[0].strip() == JOIN:  # `N. join` without parentheses still closes the plan
                out.append(self._make_task(idx, JOIN, (), {}, text=text))
            else:
                out.append(self._error_task(idx, "", f"not a tool call: {_clip(rest)!r}", text=text))
            return
        if self._thought is not None and not line.lstrip().startswith("```"):
            self._add_thought(line.strip())

    def _add_thought(self, text: str) -> None:
        self._thought = text if self._thought is None else f"{self._thought}\n{text}"

    def _repair_call(self, line: str, head: _Head, scanner: _CallScanner, out: list[Task]) -> None:
        idx, name = head.idx, head.tool
        text = line.strip()
        if scanner.quote is not None:
            out.append(self._error_task(idx, name, "unterminated string in the arguments", text=text))
            return
        if scanner.too_deep:
            call_text = _clip(line[head.name_start :])
            problem = f"cannot parse the arguments of {call_text}: brackets nested more than {MAX_NESTING} deep"
            out.append(self._error_task(idx, name, problem, text=text))
            return
        if scanner.cut is not None and line[scanner.cut] != "#":
            # a closer that does not match its opener: nothing sensible to repair
            out.append(self._error_task(idx, name, f"unbalanced brackets in {_clip(text)!r}", text=text))
            return
        body = line if scanner.cut is None else line[: scanner.cut]
        dollars = scanner.dollars
        if scanner.comments:  # earlier lines' comments go too (and the `$` after them move)
            body, dollars = _without_comments(body, scanner.comments, dollars)
        # append the missing closers; the last one is the call's own parenthesis
        repaired = body.rstrip() + "".join(_CLOSERS[b] for b in reversed(scanner.stack))
        out.append(self._head_task(head, repaired[:-1], dollars))

    # -- task construction -----------------------------------------------------------

    def _head_task(self, head: _Head, upto_close: str, dollars: list[int]) -> Task:
        return self._call_task(head.idx, head.tool, upto_close, head.id_start, head.name_start, head.end, dollars)

    def _call_task(
        self,
        idx: int,
        name: str,
        upto_close: str,
        id_start: int,
        name_start: int,
        start: int,
        dollars: list[int] | None = None,
    ) -> Task:
        """`upto_close` is the line up to (not including) the call's closing parenthesis; the
        offsets are those of the id, the tool's name and the first argument; `dollars`: where
        the `$` outside string literals are, if the line was scanned (else found if needed)."""
        text = upto_close[id_start:].strip() + ")"
        try:
            args, kwargs, refs = _parse_arguments(upto_close, start, dollars, self._refs)
        except _ArgumentError as exc:
            call_text = _clip(upto_close[name_start:] + ")")
            return self._error_task(idx, name, f"cannot parse the arguments of {call_text}: {exc}", text=text)
        return self._make_task(idx, name, args, kwargs, text=text, refs=refs)

    def _quick_task(self, line: str) -> tuple[Task, int] | None:
        """The task of a whole line that `_FLAT_CALL` (a line with quotes) or `_NUMERIC_CALL`
        (one without) reads, and the offset of its ")"; None for any other line."""
        match = (_FLAT_CALL if '"' in line or "'" in line else _NUMERIC_CALL).match(line)
        if match is None or match.end() > MAX_LINE_CHARS:
            return None
        task = self._flat_task(match, line)
        return None if task is None else (task, match.end(3))

    def _flat_task(self, match: re.Match[str], line: str) -> Task | None:
        """The task of a line `_FLAT_CALL` or `_NUMERIC_CALL` matched, or None where
        `_call_task` must read it (an integer too long for int(), which Python's parser
        words; for `_NUMERIC_CALL`, anything but references and integers)."""
        digits, name, arguments = match.groups()
        refs: set[int] | None
        if not arguments:
            args, refs = (), None
        elif match.re is _NUMERIC_CALL:
            numeric = _numeric_arguments(arguments, self._refs)
            if numeric is None:
                return None
            args, refs = numeric
        else:
            flat = _flat_arguments(arguments, 0, len(arguments), self._refs)
            if flat is None:
                return None
            args, refs = flat[0], flat[2]
        start, close = match.start(1), match.end(3)
        # the call as written, to its ")": mostly the line itself, which needs no copy
        if start == 0 and close + 1 == len(line) and not line[close - 1 : close].isspace():
            text = line
        else:
            text = line[start:close].strip() + ")"
        return self._make_task(int(digits), name, args, {}, text=text, refs=refs)

    def _make_task(
        self, idx: int, name: str, args: tuple, kwargs: dict, *, text: str, refs: set[int] | None = None
    ) -> Task:
        # (`_check_id` only for an id already seen or earlier: most are neither)
        problem = self._check_id(idx) if idx in self._seen_set or idx in self._earlier else None
        if problem is None and name != JOIN and name not in self._tools:
            available = ", ".join(sorted(self._tools)) or "none"
            problem = f"unknown tool {_clip(name)!r} (available: {available})"
        if problem is None and self._join is not None:
            problem = "a second join() in one plan" if name == JOIN else f"task after join() (${self._join})"
        # (one reference, the most common, needs no sort)
        deps = () if not refs else (*refs,) if len(refs) == 1 else tuple(sorted(refs))
        # (all in `_seen_set`: none is `idx`, which `_check_id` found unused)
        if problem is None and deps and not self._seen_set.issuperset(deps):
            problem = self._check_refs(idx, deps)
        if problem is not None:
            return self._error_task(idx, name, problem, text=text, deps=deps, args=args, kwargs=kwargs)
        if name == JOIN:
            self._join = idx
            args, kwargs, deps = (), {}, tuple(sorted(self._seen_set))
        self._seen_set.add(idx)
        thought, self._thought = self._thought, None
        return Task(idx, name, args, kwargs, deps, thought, text)

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
        if idx not in self._seen_set and idx not in self._earlier:
            self._seen_set.add(idx)
        valid_deps = tuple(d for d in deps if d in self._seen_set and d != idx or d in self._earlier)
        return Task(idx, name, args, kwargs or {}, valid_deps, self._take_thought(), text, error)

    def _take_thought(self) -> str | None:
        thought, self._thought = self._thought, None
        return thought

    def _check_id(self, idx: int) -> str | None:
        if idx in self._seen_set:
            return f"duplicate task id {idx}"
        if idx in self._earlier:
            return f"duplicate task id {idx} (used in an earlier round; continue from {self._first_id})"
        return None

    def _check_refs(self, idx: int, refs: tuple[int, ...]) -> str | None:
        for ref in refs:
            if ref == idx:
                return f"${ref} refers to the task itself"
            if ref in self._seen_set or ref in self._earlier:
                continue
            if ref > idx:
                return f"${ref} is a forward reference (task {idx} can only use earlier results)"
            return f"${ref} does not refer to any earlier task"
        return None


def _without_comments(line: str, comments: list[tuple[int, int]], dollars: list[int]) -> tuple[str, list[int]]:
    """`line` without the `comments` spans, and the `dollars` offsets moved to match."""
    pieces, moved, last, removed, k = [], [], 0, 0, 0
    for start, end in comments:
        while k < len(dollars) and dollars[k] < start:
            moved.append(dollars[k] - removed)
            k += 1
        pieces.append(line[last:start])
        removed += end - start
        last = end
    pieces.append(line[last:])
    moved += [d - removed for d in dollars[k:]]
    return "".join(pieces), moved


# -- argument parsing --------------------------------------------------------------


class _ArgumentError(Exception):
    pass


def _parse_arguments(
    line: str, start: int, dollars: list[int] | None, shared: dict[int, Ref] | None = None
) -> tuple[tuple, dict[str, Any], set[int]]:
    """Parse `line[start:]` (the text between the call's parentheses) as Python literals;
    returns the positional and keyword arguments and the ids they reference. `shared`: the
    plan's `Ref` of each id, so that a plan holds one Ref per id referenced."""
    fast = _fast_arguments(line, start, len(line), shared)
    if fast is not None:
        return fast
    return _ast_arguments(line, start, dollars)


def _ast_arguments(line: str, start: int, dollars: list[int] | None = None) -> tuple[tuple, dict[str, Any], set[int]]:
    """The general path: `$N` rewritten into calls, then Python's own parser."""
    if dollars is None:  # a line read in one match: find where the `$` outside strings are
        scanner = _CallScanner(start, dollars=True)
        scanner.feed(line[start:], final=True)
        dollars = scanner.dollars
    pieces: list[str] = []
    last = start
    for pos in dollars:
        if pos < start:
            continue
        match = REF_PATTERN.match(line, pos)
        if match is None:
            raise _ArgumentError(f"'$' must be followed by a task number, at {line[pos : pos + 8]!r}")
        pieces.append(line[last:pos])
        pieces.append(f"{_REF_CALL}({match.group(1) or match.group(2)})")
        last = match.end()
    pieces.append(line[last:])
    source = "_(" + "".join(pieces) + ")"
    try:
        call = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise _ArgumentError(_clip(str(exc.msg))) from None
    except (RecursionError, MemoryError):
        # Brackets are bounded by MAX_NESTING; an operator chain (`- - - 1`, `not not x`,
        # `2**2**2`) is not, and CPython reports one that outgrows its parser's stack as
        # MemoryError (or RecursionError while building the tree).
        raise _ArgumentError("the arguments are nested too deeply") from None
    except ValueError as exc:  # Python 3.10: "source code string cannot contain null bytes"
        raise _ArgumentError(_clip(str(exc))) from None
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
                raise _ArgumentError(f"keyword argument repeated: {_clip(kw.arg)}")
            kwargs[kw.arg] = _literal(kw.value)
        refs = collect_refs((args, kwargs))  # raises ValueError for a $N of thousands of digits
    except RecursionError:
        raise _ArgumentError("the arguments are nested too deeply") from None
    except ValueError:
        raise _ArgumentError("a $N reference number is too large") from None
    return tuple(args), kwargs, refs


# The fast path reads the argument shapes plans are made of -- simple strings, decimal
# numbers, `$N`/`${N}`, the constants, lists, tuples, dicts with scalar keys, keyword
# arguments -- with one regex per token, and gives up (returns None) at anything else, so
# that Python's parser decides every other case and words every error exactly as before.
# It accepts only text that Python's parser reads to the same values: no escapes, string
# prefixes or implicit concatenation, no leading zeros (`007` and `$01` are errors there),
# no non-ASCII names (Python normalises them), only space, tab and newline between tokens.
_FAST_TOKEN = re.compile(
    r"""[ \t\n]*(?:"""
    r""""([^"\\\n\x00\ud800-\udfff]*)"|'([^'\\\n\x00\ud800-\udfff]*)'"""  # 1, 2: strings
    r"""|(-?(?:[1-9][0-9]*|0+))(?![\w.])"""  # 3: int
    r"""|(-?[0-9]+\.[0-9]+(?:[eE][-+]?[0-9]+)?)(?![\w.])"""  # 4: float
    r"""|\$(?:\{(0|[1-9][0-9]{0,17})\}|(0|[1-9][0-9]{0,17})(?![0-9]))"""  # 5, 6: references
    r"""|(True|False|None|true|false|null)(?!\w)"""  # 7: constants
    r"""|([A-Za-z_][A-Za-z0-9_]*)[ \t\n]*=(?!=)"""  # 8: a keyword argument's name and "="
    r"""|([][(){},:]))"""  # 9: punctuation
)
_BLANK = re.compile(r"[ \t\n]*")
# The flattest shape of all, positional strings, integers and references and nothing else
# (`op($1, $2)`, `search("x")`): validated with one match, its values read with one findall.
_FLAT_VALUE = (
    r"""[ \t\n]*(?:"([^"\\\n\x00\ud800-\udfff]*)"|'([^'\\\n\x00\ud800-\udfff]*)'"""
    r"""|(-?(?:[1-9][0-9]*|0+))(?![\w.])|\$(?:\{(0|[1-9][0-9]{0,17})\}|(0|[1-9][0-9]{0,17})(?![0-9])))[ \t\n]*"""
)
_FLAT_ITEM = re.compile(_FLAT_VALUE)
_FLAT_VALUE_UNCAPTURED = _FLAT_VALUE.replace("(", "(?:").replace("(?:?", "(?")  # (its groups made non-capturing)
_FLAT_ARGS = re.compile(rf"[ \t\n]*(?:{_FLAT_VALUE_UNCAPTURED}(?:,|$))*[ \t\n]*")
# A whole line of that flattest shape, `_HEADER` included, in one match (group 3: the
# arguments): where it matches, `_SIMPLE_CALL` would too and end the call at the same ")"
# (no bracket or "#" outside its strings, none of which holds a newline or a quote).
_FLAT_CALL = re.compile(rf"{_HEADER.pattern}((?:{_FLAT_VALUE_UNCAPTURED}(?:,|(?=\))))*[ \t\n]*)\)")
# A line without quotes whose arguments can only be references and integers (`op($1, ${2},
# 3)`): one cheap match, then `_numeric_arguments` reads and checks the items with str
# methods; whatever it does not accept goes the way of any other line.
_NUMERIC_CALL = re.compile(rf"{_HEADER.pattern}([-$0-9{{}}, \t\n]*)\)")
_CONSTANTS = {"True": True, "False": False, "None": None, **_JSON_NAMES}
_NO = object()  # the fast path gives up
_SCALAR_KINDS = frozenset(range(1, 8))


def _fast_arguments(
    line: str, start: int, end: int, shared: dict[int, Ref] | None = None
) -> tuple[tuple, dict[str, Any], set[int]] | None:
    """`line[start:end]` as arguments, or None if it is not made of the simple shapes."""
    if shared is None:
        shared = {}
    if _FLAT_ARGS.fullmatch(line, start, end) is not None:
        return _flat_arguments(line, start, end, shared)
    refs: set[int] = set()
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    token = _FAST_TOKEN.match(line, start, end)
    if token is None:
        return ((), kwargs, refs) if _BLANK.fullmatch(line, start, end) else None
    try:
        while True:
            if token.lastindex == 8:
                name = token.group(8)
                if name in kwargs or iskeyword(name) or name == "__debug__":
                    return None
                value_token = _FAST_TOKEN.match(line, token.end(), end)
                if value_token is None:
                    return None
                value, i = _fast_value(line, value_token, end, refs, shared)
                kwargs[name] = value
            elif kwargs:  # a positional argument after a keyword one
                return None
            else:
                value, i = _fast_value(line, token, end, refs, shared)
                args.append(value)
            if value is _NO:
                return None
            token = _FAST_TOKEN.match(line, i, end)
            if token is None:
                return (tuple(args), kwargs, refs) if _BLANK.fullmatch(line, i, end) else None
            if token.group(9) != ",":
                return None
            i = token.end()
            token = _FAST_TOKEN.match(line, i, end)
            if token is None:  # a trailing comma
                return (tuple(args), kwargs, refs) if _BLANK.fullmatch(line, i, end) else None
    except ValueError:  # a number or reference too long for int(): Python's parser words it
        return None


def _flat_arguments(
    line: str, start: int, end: int, shared: dict[int, Ref]
) -> tuple[tuple, dict[str, Any], set[int]] | None:
    refs: set[int] = set()
    args: list[Any] = []
    try:
        for double, single, number, braced, bare in _FLAT_ITEM.findall(line, start, end):
            if bare or braced:
                ref = int(bare or braced)
                refs.add(ref)
                args.append(shared.get(ref) or _share(shared, ref))
            elif number:
                args.append(int(number))
            else:
                text = double or single
                if "$" in text:
                    match = REF_PATTERN.fullmatch(text)
                    if match is not None:
                        ref = int(match.group(1) or match.group(2))
                        refs.add(ref)
                        args.append(shared.get(ref) or _share(shared, ref))
                        continue
                    refs.update(refs_in_text(text))
                args.append(text)
    except ValueError:  # an integer too long for int()
        return None
    return tuple(args), {}, refs


_BLANKS = " \t\n"


def _numeric_arguments(text: str, shared: dict[int, Ref]) -> tuple[tuple, set[int]] | None:
    """The arguments of `_NUMERIC_CALL`'s group: references (`$3`, `${3}`) and integers
    (`0`, `-12`), comma-separated, a trailing comma allowed, each read as `_FLAT_VALUE`
    reads it; None for anything else (`$03`, `1-2`, `{}`, an empty item), which the
    general path then reads or words as an error."""
    args: list[Any] = []
    refs: set[int] = set()
    items = text.split(",")
    if len(items) > 1 and not items[-1].strip(_BLANKS):
        items.pop()  # a trailing comma
    for item in items:
        item = item.strip(_BLANKS)
        if item[:1] == "$":
            digits = item[2:-1] if item[1:2] == "{" and item[-1:] == "}" else item[1:]
            if not (digits.isdigit() and digits.isascii()) or len(digits) > 18 or (digits[0] == "0" and digits != "0"):
                return None
            ref = int(digits)
            refs.add(ref)
            args.append(shared.get(ref) or _share(shared, ref))
        else:
            digits = item[1:] if item[:1] == "-" else item
            if not (digits.isdigit() and digits.isascii()) or (digits[0] == "0" and digits.strip("0")):
                return None
            args.append(int(item))
    return tuple(args), refs


def _share(shared: dict[int, Ref], ref: int) -> Ref:
    made = shared[ref] = Ref(ref)
    return made


def _fast_value(line: str, token: re.Match[str], end: int, refs: set[int], shared: dict[int, Ref]) -> tuple[Any, int]:
    """The value that starts with `token`, and where it ends; `_NO` if it is not a simple one."""
    kind, after = token.lastindex, token.end()
    if kind == 1 or kind == 2:
        text = token.group(kind)
        if "$" in text:
            match = REF_PATTERN.fullmatch(text)
            if match is not None:
                ref = int(match.group(1) or match.group(2))
                refs.add(ref)
                return shared.get(ref) or _share(shared, ref), after
            refs.update(refs_in_text(text))
        return text, after
    if kind == 5 or kind == 6:
        ref = int(token.group(kind))
        refs.add(ref)
        return shared.get(ref) or _share(shared, ref), after
    if kind == 3:
        return int(token.group(3)), after
    if kind == 4:
        return float(token.group(4)), after
    if kind == 7:
        return _CONSTANTS[token.group(7)], after
    opener = token.group(9)
    if opener == "[":
        items, after, _ = _fast_items(line, after, end, "]", refs, shared)
        return items, after
    if opener == "(":
        items, after, comma = _fast_items(line, after, end, ")", refs, shared)
        if items is _NO or (len(items) == 1 and not comma):  # `(x)` is x
            return (_NO if items is _NO else items[0]), after
        return tuple(items), after
    if opener == "{":
        return _fast_dict(line, after, end, refs, shared)
    return _NO, after


def _fast_items(
    line: str, i: int, end: int, closer: str, refs: set[int], shared: dict[int, Ref]
) -> tuple[Any, int, bool]:
    """The items of a list or tuple up to `closer`, where it ends, and whether a comma ended them."""
    items: list[Any] = []
    token = _FAST_TOKEN.match(line, i, end)
    if token is None:
        return _NO, i, False
    if token.group(9) == closer:
        return items, token.end(), False
    while True:
        value, i = _fast_value(line, token, end, refs, shared)
        if value is _NO:
            return _NO, i, False
        items.append(value)
        token = _FAST_TOKEN.match(line, i, end)
        if token is None:
            return _NO, i, False
        punct = token.group(9)
        if punct == closer:
            return items, token.end(), False
        if punct != ",":
            return _NO, i, False
        token = _FAST_TOKEN.match(line, token.end(), end)
        if token is None:
            return _NO, i, False
        if token.group(9) == closer:
            return items, token.end(), True


def _fast_dict(line: str, i: int, end: int, refs: set[int], shared: dict[int, Ref]) -> tuple[Any, int]:
    out: dict[Any, Any] = {}
    token = _FAST_TOKEN.match(line, i, end)
    if token is None:
        return _NO, i
    if token.group(9) == "}":
        return out, token.end()
    while True:
        if token.lastindex not in _SCALAR_KINDS:  # a container key: unhashable, or a set
            return _NO, i
        key, i = _fast_value(line, token, end, refs, shared)
        token = _FAST_TOKEN.match(line, i, end)
        if token is None or token.group(9) != ":":
            return _NO, i
        token = _FAST_TOKEN.match(line, token.end(), end)
        if token is None:
            return _NO, i
        value, i = _fast_value(line, token, end, refs, shared)
        if value is _NO:
            return _NO, i
        out[key] = value  # a repeated key keeps its first spelling and its last value, as in Python
        token = _FAST_TOKEN.match(line, i, end)
        if token is None:
            return _NO, i
        punct = token.group(9)
        if punct == "}":
            return out, token.end()
        if punct != ",":
            return _NO, i
        token = _FAST_TOKEN.match(line, token.end(), end)
        if token is None:
            return _NO, i
        if token.group(9) == "}":
            return out, token.end()


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
            return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
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
        and isinstance(node.args[0].value, int)
    ):
        return Ref(node.args[0].value)
    raise _ArgumentError(f"{_shown(node)!r} is not a literal (use strings, numbers, lists, dicts or $N)")


def _shown(node: ast.AST) -> str:
    """An argument written back in Python syntax, its references as `$N`."""
    try:
        shown = ast.unparse(node)
    except Exception:  # e.g. RecursionError on a long operator chain
        shown = type(node).__name__
    return _clip(_REF_CALL_PATTERN.sub(r"$\1", shown))
