"""The models this project trains and ships inside the package (``occseg/models/``).

A shipped model is a checkpoint file at a fixed place in the package; whether it is there depends
on the installation, so the code that uses one by default asks :func:`shipped_model` for it and
gets either the path or a one-line :class:`~occseg.errors.ConfigError` that says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from occseg.errors import ConfigError

__all__ = ["MODELS_DIR", "shipped_model"]

#: The folder of the shipped checkpoints.
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def shipped_model(path: Path, what: str, train_hint: str) -> Path:
    """``path``, the checkpoint of a model shipped inside the package, if it is installed.

    Parameters
    ----------
    path
        Where the shipped checkpoint lives (under :data:`MODELS_DIR`).
    what
        The model in words, e.g. ``"default occlusion-order model"``.
    train_hint
        What to do instead, e.g. ``"train one with `occseg train order --config FILE`"``.

    Raises
    ------
    ConfigError
        If the file is not there: ``the WHAT is not installed (expected PATH); TRAIN_HINT``.

    Examples
    --------
    >>> shipped_model(MODELS_DIR / "obnet.pt", "OB model", "train one")  # doctest: +SKIP
    PosixPath('.../occseg/models/obnet.pt')
    """
    if not path.is_file():
        raise ConfigError(f"the {what} is not installed (expected {path}); {train_hint}")
    return path
