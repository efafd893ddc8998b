"""The README's set-up commands and offline example work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_setup_commands_ci_runs():
    first_block = re.search(r"```(?:bash|sh)\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert first_block == ["python3 -m venv .venv && . .venv/bin/activate", 'pip install -e ".[dev]"', "pytest"]
    ci = (ROOT / ".ci" / "run").read_text()
    for command in first_block:
        assert f"\n{command}\n" in ci


def test_readme_example_runs_as_pasted(tmp_path):
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(example)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = re.search(r"It prints:\n\n```text\n(.*?)```", README, re.S).group(1)
    assert done.stdout == expected
