"""Checking output paths before any work: a file where a file goes, a folder where a folder goes.

Long commands (generation, evaluation, the boundary map of an image) call these first, so that a
wrong ``--out`` fails in a second with one clear line instead of after the work, and saved work
is never replaced without being asked to.
"""

from __future__ import annotations

import os
from pathlib import Path

from occseg.errors import ConfigError

__all__ = ["check_output_file", "check_output_folder"]


def _check_parents(path: Path, name: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder this process may write into."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write {name} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {name} {path}: no permission to write into {parent}")


def check_output_file(
    path: str | os.PathLike, *, overwrite: bool = False, name: str = "output"
) -> Path:
    """Check that ``path`` can be written as a new file (or replaced, with ``overwrite``).

    ``name`` is how messages call the path (e.g. ``"--out"``).

    Raises
    ------
    ConfigError
        If ``path`` is a folder, an existing file (unless ``overwrite``), or lies under a file
        or a folder without write permission.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{name} {path} is a folder; give the path of the file to write")
    if path.exists() and not overwrite:
        raise ConfigError(
            f"{name} {path} already exists; choose another path or pass --overwrite to replace it"
        )
    _check_parents(path, name)
    return path


def check_output_folder(
    path: str | os.PathLike,
    *,
    empty: bool = False,
    overwrite: bool = False,
    name: str = "output",
) -> Path:
    """Check that ``path`` can be used as an output folder (it is created later, by the writer).

    With ``empty``, an existing folder must be empty unless ``overwrite`` allows writing into it
    (files of the same names are then replaced, others are kept).

    Raises
    ------
    ConfigError
        If ``path`` is an existing file, lies under a file or a folder without write permission,
        or (with ``empty`` and without ``overwrite``) is a folder that is not empty.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} {path} is a file; give the path of a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"cannot write into {name} {path}: permission denied")
        if empty and not overwrite and any(path.iterdir()):
            raise ConfigError(
                f"{name} {path} is not empty; choose a new folder or pass --overwrite to write "
                "into it"
            )
    else:
        _check_parents(path, name)
    return path
