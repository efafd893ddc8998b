"""``evaluate_results.py``: report on one results file, or compare two.

    python evaluate_results.py --file results/compiler.json
    python evaluate_results.py --file results/compiler.json results/react.json --detail
    python evaluate_results.py --file a.json --file b.json --k 50

A missing or malformed file is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from llmcompiler._argparse import ArgumentParser, count
from llmcompiler.evaluation.report import compare, format_summary, summarize
from llmcompiler.evaluation.store import StoreError, load_results

__all__ = ["build_parser", "main"]


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Score a benchmark results file ({id: record}); with two files, compare them (A vs B).",
    )
    parser.add_argument(
        "--file",
        nargs="+",
        action="extend",
        required=True,
        metavar="PATH",
        help="results file to evaluate; give two (--file A B or --file A --file B) to compare",
    )
    parser.add_argument("--detail", action="store_true", help="print the wrong answers (id: answer <> label)")
    parser.add_argument(
        "--k", type=count, default=None, metavar="N", help="only the first N records of each file (N >= 1)"
    )
    return parser


def _names(paths: list[str]) -> tuple[str, str]:
    stems = tuple(Path(p).stem for p in paths)
    return stems if stems[0] != stems[1] else (paths[0], paths[1])  # type: ignore[return-value]


def _original_k_note(k: int, correct: int, n: int) -> str:
    """The original script divided by --k even past the end of the file; its figure, for comparison."""
    return (
        f"Note: --k {k} is more than the {n} records; the original script printed Raw: {correct} / {k} = "
        f"{correct / k} (it divides by --k), the accuracy over the records is the Raw line above"
    )


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if len(args.file) > 2:
        parser.error(f"--file takes one or two results files, got {len(args.file)}")
    err = parser.prog
    try:
        results = [load_results(path) for path in args.file]
    except StoreError as exc:
        print(f"{err}: error: {exc}", file=sys.stderr)
        return 2
    summaries = [summarize(records, k=args.k) for records in results]
    out: list[str] = []
    for path, records, summary in zip(args.file, results, summaries, strict=True):
        if len(args.file) > 1:
            out.append(f"== {path}")
        out.append(format_summary(summary, detail=args.detail, records=records))
        if args.k is not None and args.k > len(records):
            out.append(_original_k_note(args.k, summary.correct, len(records)))
        out.append("")
    if len(args.file) == 2:
        out.append(f"== {_names(args.file)[0]} vs {_names(args.file)[1]}")
        out.append(compare(summaries[0], summaries[1], names=_names(args.file)))
    else:
        out.pop()
    try:
        print("\n".join(out))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0
