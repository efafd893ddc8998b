"""The one atomic writer (`llmcompiler._files`): what the store, dataset cache and traces rely on."""

from __future__ import annotations

import os
import stat

import pytest

from llmcompiler import _files
from llmcompiler._files import atomic_write, write_text_atomic


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask(tmp_path):
    old = tmp_path / "old.json"
    old.write_text("before")
    os.chmod(old, 0o640)
    with atomic_write(old) as handle:
        handle.write("after")
    assert old.read_text() == "after" and stat.S_IMODE(old.stat().st_mode) == 0o640

    umask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "fresh.json") as handle:
            handle.write("{}")
        new = write_text_atomic(tmp_path / "sub" / "new.json", "é")  # parents created, UTF-8
        os.chmod(old, 0o600)
        write_text_atomic(old, "traces")  # a trace or page is 0644 whatever was there
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "fresh.json").stat().st_mode) == 0o640
    assert new.read_bytes() == "é".encode() and stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(old.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.json", "old.json", "sub"]


@pytest.mark.parametrize("failing", ["inside", "fsync", "replace", "interrupt"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing in ("fsync", "replace"):
        monkeypatch.setattr(_files.os, failing, boom)
    expected = KeyboardInterrupt if failing == "interrupt" else OSError
    with pytest.raises(expected):
        with atomic_write(path, binary=True, suffix=".part") as handle:
            handle.write(b"new, half written")
            if failing == "inside":
                boom()
            if failing == "interrupt":
                raise KeyboardInterrupt
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_the_temporary_file_is_fresh_and_beside_the_target(tmp_path, monkeypatch):
    opened: list[tuple[str, int]] = []
    real_open = os.open

    def watch(path, flags, *args):
        opened.append((str(path), flags))
        return real_open(path, flags, *args)

    monkeypatch.setattr(_files.os, "open", watch)
    with atomic_write(tmp_path / "x.txt", suffix=".tmp") as handle:
        handle.write("x")
    name, flags = opened[0]
    assert os.path.dirname(name) == str(tmp_path) and os.path.basename(name).startswith(".x.txt.")
    assert name.endswith(".tmp") and flags & os.O_EXCL and flags & os.O_CREAT
