"""Atomic writes: whole files or nothing, with the mode the umask gives."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from occseg.io import atomic_write_bytes, atomic_write_json, atomic_write_text, write_png


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_mode_the_umask_gives(tmp_path: Path, mask: int, mode: int) -> None:
    with umask(mask):
        atomic_write_bytes(tmp_path / "a.bin", b"x")
        atomic_write_json(tmp_path / "sub" / "b.json", {"a": 1})
        write_png(tmp_path / "c.png", np.zeros((2, 2), np.uint8))
        (tmp_path / "d.txt").write_text("plain")  # what open() gives, for comparison
    for name in ("a.bin", "sub/b.json", "c.png", "d.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_overwrite_replaces_the_content_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    with pytest.raises(ValueError):
        atomic_write_json(path, {"x": float("nan")})  # refused before anything is written
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
