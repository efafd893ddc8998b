"""The parser benchmark (benchmarks/parser.py): a smoke run on small sizes, so it does not rot.

Linearity is measured by the benchmark itself, never asserted here.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import parser as bench  # noqa: E402


def test_quick_run_checks_every_input_and_writes_the_report(tmp_path, capsys):
    md = tmp_path / "parser.md"
    assert bench.main(["--quick", "--markdown", str(md), "--quiet"]) == 0
    printed = capsys.readouterr().out
    report = md.read_text(encoding="utf-8")
    assert report == printed
    assert "## Wrong results" not in report
    rows = re.findall(r"^\| (\S+) \| ([\d,]+) \| ([\d,.]+) \| ([\d,.]+) \| ([\d.]+) \| (yes|\*\*no\*\*) \|$", report, re.M)
    assert {(name, int(chunk.replace(",", ""))) for name, chunk, *_ in rows} == {
        (name, chunk) for name in bench.PLAN_INPUTS for chunk in bench.CHUNKS
    }
    replies = re.findall(r"^\| (\S+) \| ([\d,.]+) \| ([\d,.]+) \| ([\d.]+) \| (yes|\*\*no\*\*) \|$", report, re.M)
    assert {name for name, *_ in replies} == set(bench.REPLY_INPUTS)
    for *_, small, large, growth, _linear in [*rows, *replies]:
        for value in (small, large, growth):
            number = float(value.replace(",", ""))
            assert math.isfinite(number) and number > 0


def test_growth_is_per_tenfold_of_input():
    assert bench.growth([1_000, 100_000, 1_000_000], [10.0, 10.0, 10.0]) == 1.0
    # 4x over 100x of input is 2x per 10x; the worst neighbouring pair counts
    assert math.isclose(bench.growth([1_000, 100_000, 1_000_000], [1.0, 4.0, 4.4]), 2.0)


def test_a_wrong_result_is_reported_and_fails_the_run(tmp_path, monkeypatch, capsys):
    def wrong(size):
        return "1. search(", lambda tasks: "deliberately wrong"

    monkeypatch.setattr(bench, "PLAN_INPUTS", {"wrong": ("a broken input", wrong)})
    md = tmp_path / "parser.md"
    assert bench.main(["--quick", "--markdown", str(md), "--quiet"]) == 1
    assert "- plan wrong, 1,000 chars in chunks of 1: deliberately wrong" in md.read_text(encoding="utf-8")
    assert "error: plan wrong, 1,000 chars in chunks of 1: deliberately wrong" in capsys.readouterr().err


def test_per_task_table_with_a_baseline_checkout(tmp_path):
    md = tmp_path / "parser.md"
    # this checkout as its own baseline: the child process measures the same chunks
    assert bench.main(["--quick", "--markdown", str(md), "--quiet", "--baseline", str(ROOT)]) == 0
    report = md.read_text(encoding="utf-8")
    assert "## Per task, as the runtime benchmark streams plans" in report
    rows = re.findall(r"^\| (.+?) \| ([\d,]+) \| ([\d.]+) µs \| ([\d.]+) µs \| ([\d.]+)x \|$", report, re.M)
    assert {name for name, *_ in rows} == {"plan (200 KB)", "fan-out 1k", "chain 1k", "random DAG 1k"}
    for _name, tasks, before, after, _speedup in rows:
        assert int(tasks.replace(",", "")) > 1 and float(before) > 0 and float(after) > 0


def test_a_baseline_without_a_parser_is_one_line_of_error(tmp_path, capsys):
    assert bench.main(["--quick", "--markdown", str(tmp_path / "p.md"), "--quiet", "--baseline", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"parser.py: error: --baseline {tmp_path}: no llmcompiler/plan/parser.py there"]
