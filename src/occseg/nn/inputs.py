"""What a model's interaction channels mean: encoders from interactions to input maps.

An :class:`InteractionEncoder` turns a list of interactions (clicks today; boundary clicks next)
into ``C×H×W float32`` maps. The model config names the interaction type and its encoding, and
:func:`make_encoder` builds the matching encoder, so the trainer, the iterative sampler and the
predictor all encode exactly as the model was trained. A new interaction type is a new class
registered in :data:`ENCODERS`; nothing else changes.

These are NumPy functions (built on :mod:`occseg.encode`), not torch modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from occseg.encode import disk_maps, distance_maps, gaussian_maps
from occseg.types import Click


@runtime_checkable
class InteractionEncoder(Protocol):
    """Encodes interactions of one type into ``channels`` input maps."""

    channels: int

    def encode(self, interactions: Sequence[Any], shape: tuple[int, int]) -> np.ndarray:
        """Return ``channels×H×W float32`` maps for ``interactions`` in an image of ``shape``."""


_CLICK_ENCODINGS: dict[str, Callable[..., np.ndarray]] = {
    "disk": lambda clicks, shape, r: disk_maps(clicks, shape, radius=r),
    "gaussian": lambda clicks, shape, r: gaussian_maps(clicks, shape, sigma=r),
    "distance": lambda clicks, shape, r: distance_maps(clicks, shape, truncate=r),
}


class ClickEncoder:
    """Positive/negative clicks → 2 maps (channel 0 positive, channel 1 negative).

    Parameters
    ----------
    encoding
        ``"disk"`` (RITM Sec. 3.1: binary disks, radius 5 is best, Table 1), ``"distance"``
        (Xu et al. 2016 distance transform truncated at ``param``, the DT ablation) or
        ``"gaussian"`` (``param`` = sigma).
    param
        Disk radius / truncation distance / sigma in pixels.

    Interactions that are not :class:`~occseg.types.Click` are ignored.
    """

    channels = 2

    def __init__(self, encoding: str = "disk", param: float = 5.0) -> None:
        if encoding not in _CLICK_ENCODINGS:
            raise ValueError(
                f"unknown click encoding {encoding!r}; choose one of {sorted(_CLICK_ENCODINGS)}"
            )
        self.encoding = encoding
        self.param = float(param)

    def encode(self, interactions: Sequence[Any], shape: tuple[int, int]) -> np.ndarray:
        clicks = [c for c in interactions if isinstance(c, Click)]
        h, w = shape
        clicks = [c for c in clicks if 0 <= c.y < h and 0 <= c.x < w]
        return _CLICK_ENCODINGS[self.encoding](clicks, shape, self.param)


#: interaction type → encoder factory ``(encoding, param) -> InteractionEncoder``.
ENCODERS: dict[str, Callable[[str, float], InteractionEncoder]] = {"clicks": ClickEncoder}


def make_encoder(interaction: str, encoding: str, param: float) -> InteractionEncoder:
    """Build the encoder of an interaction type (see :data:`ENCODERS`).

    Raises
    ------
    ValueError
        For an unknown interaction type or encoding.
    """
    if interaction not in ENCODERS:
        raise ValueError(
            f"unknown interaction type {interaction!r}; choose one of {sorted(ENCODERS)}"
        )
    return ENCODERS[interaction](encoding, param)
