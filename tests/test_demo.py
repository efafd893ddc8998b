"""The offline demo: LLMCompiler and ReAct on the same question with simulated models."""

from __future__ import annotations

import asyncio
import importlib.util
import io

import pytest

from llmcompiler.demo import ANSWER, QUESTION, format_demo, interrupted_demo, main, run_demo
from llmcompiler.llm.base import cut_at_stop, split_tokens
from llmcompiler.trace import load_trace

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


async def test_demo_runs_both_agents_and_saves_their_traces(tmp_path):
    out = io.StringIO()
    result = await run_demo(out_dir=tmp_path, speed=50, live=False, stream=out)

    assert result.compiler.error is None and result.react.error is None
    assert result.compiler.answer == result.react.answer == ANSWER
    assert result.answers_match and result.correct
    assert result.speedup > 1
    assert result.speedup == pytest.approx(result.react.duration / result.compiler.duration)
    # the four searches overlap in LLMCompiler and follow each other in ReAct
    searches = [r for r in result.compiler.tasks if r.tool == "search"]
    assert len(searches) == 4 and max(r.started_at for r in searches) < min(r.finished_at for r in searches)
    assert [r.tool for r in result.react.tasks] == ["search"] * 4 + ["math"]
    assert result.react.usage["react"].calls == 6

    names = {p.name for p in result.files}
    assert {"demo-llmcompiler.trace.json", "demo-react.trace.json"} <= names
    for path in result.files:
        assert path.parent == tmp_path and path.exists()
    assert len(load_trace(tmp_path / "demo-react.trace.json")) == len(result.react.events)
    if HAS_MATPLOTLIB:
        from PIL import Image

        axes = []
        for name in ("demo-llmcompiler.png", "demo-react.png"):
            assert name in names
            with Image.open(tmp_path / name) as image:
                image.load()
                assert image.format == "PNG" and image.width > 100
                axes.append(image.text["Time axis"])
                assert "task done" in image.text["Legend"]
        # one time scale for both, the longer (ReAct) run's, so the two compare by eye
        assert axes[0] == axes[1]
        assert float(axes[0].split()[2]) == pytest.approx(1.02 * result.react.duration, rel=1e-4)
    else:
        assert any("matplotlib" in note for note in result.notes)

    shown = out.getvalue()
    assert "simulated" in shown.lower() and "no model is called" in shown
    assert "== LLMCompiler ==" in shown and "== ReAct ==" in shown
    assert "step 6: Finish(1050 km)" in shown and "joiner: Finish(1050 km)" in shown

    text = format_demo(result)
    assert "SIMULATED" in text and "no model was called" in text
    assert f"{result.compiler.duration:.2f} s" in text and f"{result.react.duration:.2f} s" in text
    assert f"{result.speedup:.2f}x" in text and str(tmp_path) in text


def test_scripts_are_calibrated_to_the_papers_timings():
    from llmcompiler.demo import JOINER_REPLY, PLAN, TOKENS_PER_SECOND, TTFT

    def seconds(text: str) -> float:  # the last token arrives at ttft + (n - 1) / speed
        return TTFT + (len(split_tokens(cut_at_stop(text, ["<END_OF_PLAN>"])[0])) - 1) / TOKENS_PER_SECOND

    assert seconds(PLAN) == pytest.approx(1.9, abs=0.1)  # the paper: 1.88 s
    assert seconds(JOINER_REPLY) == pytest.approx(1.6, abs=0.1)  # the paper: 1.62 s
    assert QUESTION.endswith("rivers?")


def test_main_prints_the_closing_text(tmp_path, capsys):
    assert main(["--out-dir", str(tmp_path), "--speed", "50", "--plain"]) == 0
    printed = capsys.readouterr().out
    assert "SIMULATED" in printed and "Speedup:" in printed
    assert (tmp_path / "demo-llmcompiler.trace.json").exists()


async def test_speed_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="speed"):
        await run_demo(out_dir=tmp_path, speed=0, stream=io.StringIO())


async def test_files_are_saved_as_each_run_finishes(tmp_path):
    """Cancelled in the ReAct half, the LLMCompiler run's files are written and listed."""

    class Stream(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.react_started = asyncio.Event()

        def write(self, text: str) -> int:
            if "== ReAct ==" in text:
                self.react_started.set()
            return super().write(text)

    stream, saved = Stream(), []
    run = asyncio.ensure_future(run_demo(out_dir=tmp_path, speed=50, live=False, stream=stream, saved=saved))
    await stream.react_started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert saved[0] == tmp_path / "demo-llmcompiler.trace.json" and all(p.exists() for p in saved)
    assert not any("react" in p.name for p in saved)
    assert interrupted_demo(saved).startswith(f"interrupted; kept the files of what finished in {tmp_path}: demo-llmcompiler")
    assert interrupted_demo([]) == "interrupted before the LLMCompiler run finished; nothing was saved"


def test_main_refuses_a_meaningless_speed(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--speed", "nan"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: --speed must be a finite number > 0, got 'nan' (see python -m llmcompiler.demo --help)\n"
