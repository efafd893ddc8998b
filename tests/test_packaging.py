"""What a plain (non-editable) install holds: the benchmark suites, py.typed, one version.

The wheel is built offline from a copy of the package's own files (no build isolation, so
no index is asked), unpacked, and used from a directory outside the checkout, where no
`configs/` folder exists: `llmcompiler bench --benchmark_name hotpotqa` must still run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import llmcompiler

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("hotpotqa", "movie", "parallelqa")
PARTS = ("__init__", "configs", "tools", "gpt_prompts", "llama_prompts", "react_prompts")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("wheel", reason="building a wheel with setuptools < 70.1 needs the wheel package (dev extra)")
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "llmcompiler", source / "llmcompiler", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (found,) = out.glob("llmcompiler-*.whl")
    return found


def test_the_wheel_holds_the_suites_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for suite in BENCHMARKS:
        for part in PARTS:
            assert f"llmcompiler/suites/{suite}/{part}.py" in names
    assert "llmcompiler/py.typed" in names
    static = ROOT / "llmcompiler" / "web" / "static"
    for page in ("index.html", "app.js", "app.css"):  # `llmcompiler serve` from an installed wheel
        assert (static / page).is_file() and f"llmcompiler/web/static/{page}" in names
    assert "llmcompiler/suites/code/tools.py" in names
    assert not any(name.startswith(("configs/", "tests/", "benchmarks/")) for name in names)


def test_one_version_number(wheel):
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert not re.search(r'^version\s*=\s*"', pyproject, re.MULTILINE), "the version is written in pyproject.toml"
    assert re.search(r'^dynamic\s*=\s*\[[^]]*"version"', pyproject, re.MULTILINE)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", llmcompiler.__version__)
    assert wheel.name.startswith(f"llmcompiler-{llmcompiler.__version__}-")
    metadata = zipfile.ZipFile(wheel).read(f"llmcompiler-{llmcompiler.__version__}.dist-info/METADATA").decode()
    assert f"\nVersion: {llmcompiler.__version__}\n" in metadata


def test_an_installed_bench_finds_the_packaged_suite(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"  # no configs/ here, and the checkout is not on the path
    work.mkdir()
    (work / "questions.json").write_text(json.dumps([{"id": "q1", "question": "Is 1 + 1 two?", "answer": "yes"}]))
    (work / "replies.json").write_text(json.dumps({"planner": ["1. join()<END_OF_PLAN>"], "joiner": ["Action: Finish(yes)"]}))
    script = (
        "import sys, llmcompiler, llmcompiler.suites.hotpotqa as suite\n"
        "from pathlib import Path\n"
        f"assert Path(llmcompiler.__file__).is_relative_to({str(site)!r}), llmcompiler.__file__\n"
        "from llmcompiler.cli import main\n"
        "sys.exit(main(['bench', '--benchmark_name', 'hotpotqa', '--dataset', 'questions.json', '--store', 'out.json',"
        " '--model_type', 'scripted', '--replies', 'replies.json', '--no_progress']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LLMCompiler on hotpotqa: 1 questions" in done.stderr
    record = json.loads((work / "out.json").read_text())["q1"]
    assert record["answer"] == "yes" and not record.get("error")
    assert record["produced_by"]["suite"] == "hotpotqa"
