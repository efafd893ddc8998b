"""`llmcompiler demo --code`: scripted models, real code; in-process on the subprocess backend, once
through the command on Jupyter kernels."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmcompiler.code.executor import InterpreterConfig
from llmcompiler.demo_code import AVERAGE_DAU, SHA256_HELLO_WORLD, run_code_demo


async def test_the_four_examples_on_the_subprocess_backend(tmp_path: Path):
    out = io.StringIO()
    report = await run_code_demo(
        config=InterpreterConfig(backend="subprocess"), workspace=tmp_path / "ws", speed=50, stream=out
    )
    text = out.getvalue()
    assert report.ok, text
    sha, average, image, chart = report.results
    assert sha.run.answer == SHA256_HELLO_WORLD
    assert average.run.answer == AVERAGE_DAU
    assert "worked on try 2" in average.run.tasks[0].observation  # the first code's KeyError went back
    converted = image.created[0]
    assert converted.name.startswith("a.") and converted.stat().st_size > 0
    if converted.suffix == ".webp":
        assert converted.read_bytes()[8:12] == b"WEBP"
    assert chart.parallel == (1, 2)  # the chart and the numbers ran at the same time
    assert "mean 1360.0" in chart.run.answer and any(p.name.startswith("dau-chart.") for p in chart.created)
    for line in (f"Answer: {SHA256_HELLO_WORLD}", f"Answer: {AVERAGE_DAU}", "$1 and $2 ran at the same time"):
        assert line in text
    assert f"created file: {converted}" in text
    assert "4 of 4 answers check out (subprocess backend)." in text and f"workspace: {report.workspace}" in text


@pytest.mark.timeout(120)
def test_demo_code_through_the_command_on_jupyter(tmp_path: Path):
    script = Path(sys.executable).with_name("llmcompiler")
    command = str(script) if script.exists() else shutil.which("llmcompiler")
    assert command, "the llmcompiler console script is not installed (pip install -e .)"
    environment = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    done = subprocess.run(
        [command, "demo", "--code", "--plain", "--speed", "20", "--workspace", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=tmp_path,
        env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 of 4 answers check out (jupyter backend)." in done.stdout
    assert "scripted replies; no model is called" in done.stdout
    assert (tmp_path / "ws" / "dau-chart.png").read_bytes()[:4] == b"\x89PNG"
