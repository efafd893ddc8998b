"""The code interpreter's workspace, environment and interpreter checks: names kept inside, files listed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmcompiler.code.environment import check_interpreter, limit_resources, scrubbed_environ
from llmcompiler.code.executor import CappedOutput, InterpreterConfig, clean_output, strip_ansi
from llmcompiler.code.workspace import Workspace
from llmcompiler.exceptions import KernelUnavailableError, WorkspaceError


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def test_new_workspace_is_a_fresh_kept_folder() -> None:
    first, second = Workspace(), Workspace()
    try:
        assert first.root != second.root
        assert first.root.is_dir() and first.root.name.startswith("llmcompiler-workspace-")
    finally:
        first.root.rmdir()
        second.root.rmdir()


def test_a_file_as_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(WorkspaceError, match="not a directory"):
        Workspace(tmp_path / "f")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd"])
def test_names_leaving_the_workspace_are_refused(workspace: Workspace, name: str) -> None:
    with pytest.raises(WorkspaceError):
        workspace.resolve(name)


def test_a_symlink_pointing_out_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    (workspace.root / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        workspace.resolve("link.txt")
    assert workspace.resolve("sub/new.txt") == workspace.root / "sub" / "new.txt"


def test_add_file_copies_and_names_what_is_wrong(workspace: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("day,dau\n1,1000\n")
    copy = workspace.add_file(source)
    assert copy == workspace.root / "a.csv" and copy.read_text() == source.read_text()
    with pytest.raises(WorkspaceError, match=r"no such file: .*missing\.csv"):
        workspace.add_file(tmp_path / "missing.csv")
    with pytest.raises(WorkspaceError, match="is a directory"):
        workspace.add_file(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.csv").write_text("different")
    with pytest.raises(WorkspaceError, match="already has a file named a.csv"):
        workspace.add_file(other / "a.csv")


def test_describe_shows_name_size_and_first_lines(workspace: Workspace) -> None:
    assert workspace.describe() == "(empty)"
    (workspace.root / "a.csv").write_text("day,dau\n" + "".join(f"{i},{1000 + i}\n" for i in range(20)))
    (workspace.root / "long.txt").write_text("y" * 500 + "\n")
    (workspace.root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (workspace.root / "empty.txt").write_text("")
    text = workspace.describe(lines=3)
    assert "- a.csv (" in text and "day,dau" in text and "1,1001" in text and "2,1002" not in text
    assert "img.png (10 bytes, binary)" in text
    assert "empty.txt (0 bytes, empty)" in text
    assert max(len(line.strip()) for line in text.splitlines()) <= 200


def test_snapshot_sees_created_and_modified_files_not_hidden_ones(workspace: Workspace) -> None:
    (workspace.root / "old.txt").write_text("1")
    (workspace.root / "same.txt").write_text("1")
    before = workspace.snapshot()
    time.sleep(0.01)  # a distinct mtime on coarse clocks
    (workspace.root / "old.txt").write_text("22")
    (workspace.root / "sub").mkdir()
    (workspace.root / "sub" / "new.txt").write_text("n")
    workspace.hidden("cells").joinpath("cell-1.py").write_text("print(1)")
    (workspace.root / ".ipynb_checkpoints").mkdir()
    assert workspace.changed_since(before) == (workspace.root / "old.txt", workspace.root / "sub" / "new.txt")


def test_credentials_are_scrubbed() -> None:
    base = {
        "OPENAI_API_KEY": "sk-1",
        "FOO_TOKEN": "t",
        "BAR_SECRET": "s",
        "db_password": "p",
        "AWS_SECRET_ACCESS_KEY": "a",
        "AWS_ACCESS_KEY_ID": "b",
        "FRIENDLI_TOKEN": "f",
        "PATH": "/usr/bin",
        "HOME": "/home/u",
    }
    env = scrubbed_environ(base)
    assert {k for k in env if k not in ("MPLBACKEND", "PYTHONUNBUFFERED", "PYTHONIOENCODING")} == {"PATH", "HOME"}
    assert env["MPLBACKEND"] == "Agg" and env["PYTHONUNBUFFERED"] == "1"


def test_limits_apply_in_the_child() -> None:
    preexec = limit_resources(InterpreterConfig(memory_limit_mb=512, max_open_files=64))
    assert preexec is not None
    probe = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    out = subprocess.run([sys.executable, "-c", probe], preexec_fn=preexec, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(512 * 2**20), "64"]
    assert limit_resources(InterpreterConfig(memory_limit_mb=None, max_open_files=None)) is None


def test_check_interpreter(tmp_path: Path) -> None:
    assert check_interpreter(None) == sys.executable
    assert check_interpreter(sys.executable, ipykernel=True) == sys.executable
    with pytest.raises(KernelUnavailableError, match=r"nowhere/python does not exist"):
        check_interpreter(tmp_path / "nowhere" / "python")
    with pytest.raises(KernelUnavailableError, match="not on PATH"):
        check_interpreter("python-that-is-not-there-3.99")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(KernelUnavailableError, match="not an executable"):
        check_interpreter(plain)


def test_a_python_without_ipykernel_is_named_with_the_pip_command(bare_python: str) -> None:
    assert check_interpreter(bare_python) == bare_python
    with pytest.raises(KernelUnavailableError) as caught:
        check_interpreter(bare_python, ipykernel=True)
    assert f"ipykernel is not installed in {bare_python}: {bare_python} -m pip install ipykernel" in str(caught.value)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    venv = tmp_path_factory.mktemp("bare") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, env={**os.environ, "PYTHONPATH": ""})
    return str((venv / "bin" / "python").absolute())


def test_capped_output_keeps_head_and_tail_and_counts_the_cut() -> None:
    out = CappedOutput(20)
    for _ in range(10_000):
        out.add("0123456789\n")
    text = out.text()
    assert text.startswith("0123456789\n") and text.endswith("\n")
    assert out.cut_chars == 110_000 - 20 and "[... 109,980 characters cut]" in text
    small = CappedOutput(100)
    small.add("hi\n")
    assert small.text() == "hi\n" and small.cut_chars == 0


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[0;31mValueError\x1b[0m: bad \x1b]0;t\x07x") == "ValueError: bad x"


def test_cell_numbers_continue_after_an_earlier_runs_files(workspace: Workspace) -> None:
    assert workspace.next_cell_number() == 1
    (workspace.root / "output-7-1.png").write_bytes(b"")
    workspace.hidden("cells").joinpath("cell-9.py").write_text("")
    (workspace.root / "output-x.png").write_bytes(b"")
    assert workspace.next_cell_number() == 10


def test_clean_output_keeps_the_last_state_of_a_redrawn_line() -> None:
    assert clean_output("start\n 10%\r 50%\r100%\ndone\r\n\x1b[1mbold\x1b[0m\n") == "start\n100%\ndone\r\nbold\n"
