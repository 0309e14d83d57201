"""``load_predictor(name_or_path)``: the one way to get a predictor.

Names map to factories; a path to a checkpoint file loads a learned model (once one exists).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from occseg.errors import ConfigError
from occseg.predict.base import Predictor


def _classical(name: str) -> Callable[..., Predictor]:
    def make(**kwargs: Any) -> Predictor:
        from occseg import classical

        return getattr(classical, name)(**kwargs)

    return make


_FACTORIES: dict[str, Callable[..., Predictor]] = {
    "graphcut": _classical("GraphCutPredictor"),
    "grabcut": _classical("GrabCutPredictor"),
    "random_walker": _classical("RandomWalkerPredictor"),
    "geodesic": _classical("GeodesicPredictor"),
}


def available_methods() -> list[str]:
    """Names accepted by :func:`load_predictor`."""
    return sorted(_FACTORIES)


def load_predictor(name_or_path: str, **kwargs: Any) -> Predictor:
    """Return a fresh predictor by method name (see :func:`available_methods`) or checkpoint path.

    Raises
    ------
    ConfigError
        If the name is unknown and no such file exists.
    """
    factory = _FACTORIES.get(name_or_path.lower().replace("-", "_"))
    if factory is not None:
        return factory(**kwargs)
    if Path(name_or_path).is_file():
        raise ConfigError(
            f"{name_or_path}: loading learned checkpoints is not available yet; "
            f"use one of: {', '.join(available_methods())}"
        )
    raise ConfigError(
        f"unknown method {name_or_path!r}; choose one of: {', '.join(available_methods())}"
        " (or give the path of a checkpoint file)"
    )
