"""The benchmark's progress line: done, errors, questions/s, tokens/s over the run's wall time."""

from __future__ import annotations

import io

from llmcompiler.evaluation.runner import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _record(answer: str, label: str, tokens: int, *, error: str | None = None) -> dict:
    total = {"input_tokens": tokens - 10, "output_tokens": 10}
    return {"answer": answer, "label": label, "time": 2.0, "error": error, "stats": {"total": total}}


def test_rates_are_over_the_wall_time_since_the_start():
    clock = FakeClock()
    out = io.StringIO()
    progress = Progress(4, stream=out, clock=clock)
    clock.now += 2.0
    progress.update(_record("yes", "yes", 500))
    progress.update(_record("no", "yes", 300, error="the model's reply was cut off"))
    line = progress.line()
    assert "2/4" in line
    assert "errors 1" in line
    assert "1.0 q/s" in line  # 2 questions in 2 seconds
    assert "400 tokens/s" in line  # 800 tokens in 2 seconds
    assert "accuracy 0.500" in line
    assert "mean latency 2.00s" in line


def test_nothing_done_yet_reads_zero_not_a_division_error():
    clock = FakeClock()
    progress = Progress(3, stream=io.StringIO(), clock=clock)
    assert "0/3 | errors 0 | 0.0 q/s | 0 tokens/s" in progress.line()


def test_a_log_gets_about_twenty_lines_and_the_last_one():
    clock = FakeClock()
    out = io.StringIO()
    progress = Progress(45, stream=out, clock=clock)  # not a terminal: printed every 2 questions
    for _ in range(45):
        clock.now += 0.5
        progress.update(_record("yes", "yes", 100))
    lines = out.getvalue().splitlines()
    assert len(lines) == 23  # 22 every second question, and the 45th
    assert lines[-1].startswith("[####################] 45/45 | errors 0 | 2.0 q/s | 200 tokens/s")


def test_disabled_counts_but_prints_nothing():
    out = io.StringIO()
    progress = Progress(2, stream=out, enabled=False, clock=FakeClock())
    progress.update(_record("yes", "yes", 100))
    assert progress.done == 1 and out.getvalue() == ""
