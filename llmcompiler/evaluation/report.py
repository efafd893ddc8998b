"""Accuracy, latency, tokens and cost of a results file; side-by-side comparison of two.

    records = load_results("compiler.json")
    s = summarize(records)                  # or summarize(records, k=50), ids=[...]
    print(format_summary(s, detail=True))
    print(compare(s, summarize(load_results("react.json")), names=("compiler", "react")))

Definitions (all over the selected records, in file order):

* accuracy: :func:`~llmcompiler.evaluation.scoring.compare_answer` over every record;
  records with a non-empty ``"error"`` are scored like the others (their answer is
  usually wrong) and also listed in ``Summary.errors``, as are records of the original
  script (no ``"error"`` field) whose answer is its failure placeholder ``"ERROR"``.
* latency: mean, population standard deviation (numpy's default, as in the original
  script), p50 and p90 with linear interpolation between order statistics (numpy's
  default), over the numeric ``"time"`` of all records.
* tokens per question: mean of ``stats.total.input_tokens`` / ``output_tokens`` over the
  records that have them. (The original stops at the first record without ``stats``.)
  A record whose ``stats.estimated`` is true holds our own count (the server reported no
  usage); the report then marks the means with ``~`` and says how many records are estimated.
* cost per question: mean of ``stats.cost`` over the records where it is a number.
* breakdowns: per value of ``"branch"`` (ParallelQA) and of ``"level"`` (HotpotQA), when
  some record has one: count, accuracy and mean latency.
* cascade (records with ``"levels"``, written by ``--model_name a,b``): per model, how many
  questions reached it and how many it solved (and of those, how many match the label); the
  cascade's total cost; and the cost of the strongest (last) model alone, estimated per
  question: its real cost where the cascade reached it, else the tokens of the last level
  that ran priced at the strongest model's list price (the same work at its price; a strong
  model often needs fewer rounds, so this leans high). Unknown when a price is missing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmcompiler._stats import percentile
from llmcompiler._text import shorten
from llmcompiler.evaluation.scoring import compare_answer

__all__ = ["CascadeStats", "GroupStats", "Summary", "compare", "format_summary", "percentile", "summarize"]


@dataclass(frozen=True)
class GroupStats:
    """One group of a breakdown (e.g. ParallelQA questions with 3 branches)."""

    n: int
    correct: int
    accuracy: float | None
    latency_mean: float | None


@dataclass(frozen=True)
class CascadeStats:
    """What the records of a cascade say about its levels (see the module docstring)."""

    n: int  # records with levels
    models: tuple[str, ...]  # in cascade order, as the records name them
    reached: dict[str, int]
    solved: dict[str, int]
    solved_correct: dict[str, int]
    unsolved: int
    cost: float | None  # the cascade's total; None when some record has no cost
    strongest_alone: float | None  # the estimate; None when it cannot be priced


@dataclass(frozen=True)
class Summary:
    """What :func:`summarize` measured. Values that cannot be computed are ``None``."""

    n: int
    correct: int
    accuracy: float | None
    ids: tuple[str, ...]
    wrong: tuple[tuple[str, Any, Any], ...]  # (id, answer, label) of every wrong answer
    errors: tuple[str, ...]  # ids of the records with a non-empty "error"
    n_timed: int
    latency_mean: float | None
    latency_std: float | None
    latency_p50: float | None
    latency_p90: float | None
    n_with_tokens: int
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    n_with_cost: int
    cost_mean: float | None
    n_estimated: int = 0  # records with tokens whose counts are our estimate, not the server's
    by_branch: dict[str, GroupStats] = field(default_factory=dict)
    by_level: dict[str, GroupStats] = field(default_factory=dict)
    cascade: CascadeStats | None = None
    # The records summarised, so that compare() can re-summarise two runs over common ids.
    records: Mapping[str, Mapping[str, Any]] | None = field(default=None, repr=False, compare=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _tokens(record: Mapping[str, Any]) -> tuple[float, float] | None:
    stats = record.get("stats")
    total = stats.get("total") if isinstance(stats, Mapping) else None
    if not isinstance(total, Mapping):
        return None
    inp, out = _number(total.get("input_tokens")), _number(total.get("output_tokens"))
    if inp is None or out is None:
        return None
    return inp, out


def _estimated(record: Mapping[str, Any]) -> bool:
    stats = record.get("stats")
    return isinstance(stats, Mapping) and stats.get("estimated") is True


def _cost(record: Mapping[str, Any]) -> float | None:
    stats = record.get("stats")
    return _number(stats.get("cost")) if isinstance(stats, Mapping) else None


def _group_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _sort_groups(keys: Iterable[str]) -> list[str]:
    def order(key: str) -> tuple[int, float, str]:
        try:
            return (0, float(key), key)
        except ValueError:
            return (1, 0.0, key)

    return sorted(keys, key=order)


def _breakdown(rows: list[tuple[str, Mapping[str, Any], bool]], key: str) -> dict[str, GroupStats]:
    groups: dict[str, list[tuple[Mapping[str, Any], bool]]] = {}
    for _, record, ok in rows:
        name = _group_key(record.get(key))
        if name is not None:
            groups.setdefault(name, []).append((record, ok))
    out: dict[str, GroupStats] = {}
    for name in _sort_groups(groups):
        members = groups[name]
        correct = sum(ok for _, ok in members)
        times = [t for t in (_number(r.get("time")) for r, _ in members) if t is not None]
        out[name] = GroupStats(len(members), correct, correct / len(members), _mean(times))
    return out


def summarize(
    records: Mapping[str, Mapping[str, Any]],
    *,
    k: int | None = None,
    ids: Iterable[Any] | None = None,
) -> Summary:
    """Score and measure ``records`` (``{id: record}``).

    ``ids`` restricts the summary to those ids (in that order; unknown ids are ignored);
    ``k`` then keeps only the first ``k`` records, like the original's ``--k``.
    """
    if ids is not None:
        wanted = [str(i) for i in ids]
        selected = [(i, records[i]) for i in dict.fromkeys(wanted) if i in records]
    else:
        selected = [(str(i), r) for i, r in records.items()]
    if k is not None:
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        selected = selected[:k]

    rows = [(rid, rec, compare_answer(rec.get("answer"), rec.get("label"))) for rid, rec in selected]
    n = len(rows)
    correct = sum(ok for _, _, ok in rows)
    times = [t for t in (_number(rec.get("time")) for _, rec, _ in rows) if t is not None]
    tokens = [t for t in (_tokens(rec) for _, rec, _ in rows) if t is not None]
    costs = [c for c in (_cost(rec) for _, rec, _ in rows) if c is not None]
    return Summary(
        n=n,
        correct=correct,
        accuracy=correct / n if n else None,
        ids=tuple(rid for rid, _, _ in rows),
        wrong=tuple((rid, rec.get("answer"), rec.get("label")) for rid, rec, ok in rows if not ok),
        errors=tuple(rid for rid, rec, _ in rows if _failed(rec)),
        n_timed=len(times),
        latency_mean=_mean(times),
        latency_std=statistics.pstdev(times) if times else None,
        latency_p50=percentile(times, 50),
        latency_p90=percentile(times, 90),
        n_with_tokens=len(tokens),
        input_tokens_mean=_mean([t[0] for t in tokens]),
        output_tokens_mean=_mean([t[1] for t in tokens]),
        n_with_cost=len(costs),
        cost_mean=_mean(costs),
        n_estimated=sum(1 for _, rec, _ in rows if _tokens(rec) is not None and _estimated(rec)),
        by_branch=_breakdown(rows, "branch"),
        by_level=_breakdown(rows, "level"),
        cascade=_cascade(rows),
        records=dict(selected),
    )


def _failed(record: Mapping[str, Any]) -> bool:
    """A record with an error; the original wrote none, only the answer "ERROR" (its
    arun_and_time's placeholder), which counts as one when the record has no "error" field."""
    if "error" not in record:
        return record.get("answer") == "ERROR"
    return bool(record.get("error"))


def _levels(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    levels = record.get("levels")
    if not isinstance(levels, list):
        return []
    return [level for level in levels if isinstance(level, Mapping) and isinstance(level.get("model"), str)]


def _cascade(rows: list[tuple[str, Mapping[str, Any], bool]]) -> CascadeStats | None:
    from llmcompiler.llm.base import Usage
    from llmcompiler.llm.pricing import cost as price

    cascaded = [(record, ok, _levels(record)) for _, record, ok in rows if _levels(record)]
    if not cascaded:
        return None
    models: list[str] = []
    for _, _, levels in cascaded:
        for level in levels:
            if level["model"] not in models:
                models.append(level["model"])
    reached = dict.fromkeys(models, 0)
    solved = dict.fromkeys(models, 0)
    correct = dict.fromkeys(models, 0)
    unsolved = 0
    total: float | None = 0.0
    alone: float | None = 0.0
    strongest = models[-1]
    for record, ok, levels in cascaded:
        for level in levels:
            reached[level["model"]] += 1
        winner = record.get("solved_by")
        if isinstance(winner, str) and winner in solved:
            solved[winner] += 1
            correct[winner] += bool(ok)
        else:
            unsolved += 1
        dollars = _cost(record)
        total = None if total is None or dollars is None else total + dollars
        ran = next((level for level in levels if level["model"] == strongest), None)
        if ran is not None:
            estimate = _number(ran.get("cost"))
        else:
            last = levels[-1]
            tokens = Usage(int(_number(last.get("input_tokens")) or 0), int(_number(last.get("output_tokens")) or 0))
            estimate = price(tokens, strongest)
        alone = None if alone is None or estimate is None else alone + estimate
    return CascadeStats(len(cascaded), tuple(models), reached, solved, correct, unsolved, total, alone)


# --------------------------------------------------------------------------- formatting


def _g(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def _acc(value: float | None) -> str:
    """Rounded to 4 decimals, printed as Python prints floats (``0.5``, ``2.0``), as the original does."""
    return "n/a" if value is None else str(round(value, 4))


def _list_ids(ids: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def format_summary(
    summary: Summary,
    *,
    detail: bool = False,
    records: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The report, its first lines as the original script prints them.

    With ``detail``, the wrong answers follow as ``id: answer <> label`` (taken from
    ``records`` when given, else from the summary).
    """
    s = summary
    lines = ["Results", f"Raw: {s.correct} / {s.n} = {_acc(s.accuracy)}"]
    lines.append(f"Mean time: {_acc(s.latency_mean)}")
    lines.append(f"Std time: {_acc(s.latency_std)}")
    if s.n_with_tokens:
        approx = "~" if s.n_estimated else ""
        lines.append(f"Average input tokens: {approx}{s.input_tokens_mean:.1f}")
        lines.append(f"Average output tokens: {approx}{s.output_tokens_mean:.1f}")
    lines.append(f"Latency p50: {_acc(s.latency_p50)} s, p90: {_acc(s.latency_p90)} s ({s.n_timed} of {s.n} timed)")
    if s.n_with_tokens and s.n_with_tokens != s.n:
        lines.append(f"Tokens measured on {s.n_with_tokens} of {s.n} records")
    if s.n_estimated:
        lines.append(
            f"Tokens estimated on {s.n_estimated} of {s.n_with_tokens} records (the server reported no usage; "
            "counted here)"
        )
    if s.n_with_cost:
        lines.append(f"Cost per question: ${_g(s.cost_mean)} ({s.n_with_cost} of {s.n} priced)")
    lines.append(f"Errors: {len(s.errors)}" + (f" ({_list_ids(s.errors)})" if s.errors else ""))
    for title, groups in (("branch", s.by_branch), ("level", s.by_level)):
        if groups:
            lines.append(f"By {title}:")
            for name, g in groups.items():
                lines.append(f"  {name}: {g.correct} / {g.n} = {_acc(g.accuracy)}, mean time {_g(g.latency_mean)} s")
    if s.cascade is not None:
        lines += _format_cascade(s.cascade)
    if detail:
        lines.append(f"Wrong answers ({len(s.wrong)}):")
        for rid, answer, label in s.wrong:
            if records is not None and rid in records:
                answer, label = records[rid].get("answer"), records[rid].get("label")
            lines.append(f"  {rid}: {shorten(answer, 200, marker='...')} <> {shorten(label, 200, marker='...')}")
    return "\n".join(lines)


def _dollars(value: float | None) -> str:
    return "unknown (a model has no list price)" if value is None else f"${value:.6f}"


def _format_cascade(c: CascadeStats) -> list[str]:
    lines = [f"Cascade ({c.n} questions, {' -> '.join(c.models)}):"]
    for model in c.models:
        matched = c.solved_correct[model]
        lines.append(f"  {model}: reached {c.reached[model]}, solved {c.solved[model]} ({matched} match the label)")
    lines.append(f"  unsolved by every level: {c.unsolved}")
    lines.append(f"  total cost: {_dollars(c.cost)}")
    alone = f"  {c.models[-1]} alone (estimated): {_dollars(c.strongest_alone)}"
    if c.cost is not None and c.strongest_alone:
        alone += f"; the cascade costs {c.cost / c.strongest_alone:.0%} of it"
    lines.append(alone)
    return lines


def _approx(summary: Summary, shown: str) -> str:
    """A token figure, marked "~" when some of its records hold estimates."""
    return f"~{shown}" if summary.n_estimated and shown != "n/a" else shown


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return num / den


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _verdict(name: str, ratio: float | None, better: str, worse: str) -> str:
    if ratio is None or ratio <= 0:
        return ""
    if ratio >= 1:
        return f" ({name} is {ratio:.2f}x {better})"
    return f" ({name} is {1 / ratio:.2f}x {worse})"


def compare(a: Summary, b: Summary, names: tuple[str, str] = ("A", "B")) -> str:
    """Two runs side by side, with A's accuracy delta, speedup and savings over B.

    speedup = B's mean latency / A's (how many times faster A is); the token and cost
    ratios are B / A likewise (how many times cheaper A is). When both summaries carry
    their records and their ids differ, both are re-summarised over the common ids first.
    """
    name_a, name_b = names
    note = f"Comparison over all {a.n} / {b.n} records"
    if a.records is not None and b.records is not None:
        common = [i for i in a.ids if i in b.records]
        only_a, only_b = a.n - len(common), b.n - len(common)
        if common and (only_a or only_b):
            a, b = summarize(a.records, ids=common), summarize(b.records, ids=common)
            note = (
                f"Comparison over the {len(common)} ids common to both "
                f"({name_a} only: {only_a}, {name_b} only: {only_b})"
            )
        elif common:
            note = f"Comparison over the same {len(common)} ids"
        else:
            note = f"No ids in common: comparing all {a.n} / {b.n} records"

    rows = [
        ("questions", str(a.n), str(b.n)),
        ("correct", str(a.correct), str(b.correct)),
        ("accuracy", _acc(a.accuracy), _acc(b.accuracy)),
        ("latency mean (s)", _g(a.latency_mean), _g(b.latency_mean)),
        ("latency std (s)", _g(a.latency_std), _g(b.latency_std)),
        ("latency p50 (s)", _g(a.latency_p50), _g(b.latency_p50)),
        ("latency p90 (s)", _g(a.latency_p90), _g(b.latency_p90)),
        ("input tokens / q", _approx(a, _g(a.input_tokens_mean, 6)), _approx(b, _g(b.input_tokens_mean, 6))),
        ("output tokens / q", _approx(a, _g(a.output_tokens_mean, 6)), _approx(b, _g(b.output_tokens_mean, 6))),
        ("records w/ tokens", str(a.n_with_tokens), str(b.n_with_tokens)),
        ("w/ estimated tokens", str(a.n_estimated), str(b.n_estimated)),
        ("cost / q ($)", _g(a.cost_mean), _g(b.cost_mean)),
        ("records w/ cost", str(a.n_with_cost), str(b.n_with_cost)),
        ("errors", str(len(a.errors)), str(len(b.errors))),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(name_a), *(len(r[1]) for r in rows))
    w2 = max(len(name_b), *(len(r[2]) for r in rows))
    lines = [note, f"{'':<{w0}}  {name_a:>{w1}}  {name_b:>{w2}}"]
    lines += [f"{m:<{w0}}  {x:>{w1}}  {y:>{w2}}" for m, x, y in rows]

    if a.accuracy is not None and b.accuracy is not None:
        delta = (a.accuracy - b.accuracy) * 100
        lines.append(f"Accuracy {name_a} - {name_b}: {delta:+.2f} points")
    else:
        lines.append(f"Accuracy {name_a} - {name_b}: n/a")
    speedup = _ratio(b.latency_mean, a.latency_mean)
    lines.append(
        f"Speedup ({name_b} / {name_a} mean latency): {_x(speedup)}{_verdict(name_a, speedup, 'faster', 'slower')}"
    )
    lines.append(
        f"Tokens ({name_b} / {name_a}): input {_x(_ratio(b.input_tokens_mean, a.input_tokens_mean))}, "
        f"output {_x(_ratio(b.output_tokens_mean, a.output_tokens_mean))}"
        + (" (from estimated counts: a server reported no usage)" if a.n_estimated or b.n_estimated else "")
    )
    cost = _ratio(b.cost_mean, a.cost_mean)
    lines.append(f"Cost ({name_b} / {name_a}): {_x(cost)}{_verdict(name_a, cost, 'cheaper', 'more expensive')}")
    return "\n".join(lines)
