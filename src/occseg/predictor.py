"""The model protocols: ``Predictor`` (clicks → mask) and the boundary and order models.

Modelled on Segment Anything's ``SamPredictor``: :meth:`Predictor.set_image` runs the expensive
per-image work once; :meth:`Predictor.predict` is called once per interaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from occseg.errors import InteractionError
from occseg.types import Click, Scribble


@runtime_checkable
class Predictor(Protocol):
    """Turns an image and clicks into an object probability map."""

    @property
    def threshold(self) -> float:
        """The mask is ``prob > threshold`` (read by the click protocol and the app alike)."""

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` RGB image."""

    def predict(self, clicks: Sequence[Click], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Return the object probability (``H×W float32`` in [0, 1]) given all clicks so far.

        ``prev_prob`` is the previous prediction of the same object (None for the first click).
        """


@runtime_checkable
class BoundaryModel(Protocol):
    """Estimates an occlusion-boundary probability map, corrected by scribbles."""

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` RGB image."""

    def predict_boundaries(self, scribbles: Sequence[Scribble]) -> np.ndarray:
        """``H×W float32`` boundary probability given FN (``"fn"``) / FP (``"fp"``) scribbles."""


@runtime_checkable
class OrderModel(Protocol):
    """Proposes the occlusion order of annotated objects."""

    def order_objects(
        self, image: np.ndarray, masks: Sequence[np.ndarray], boundaries: np.ndarray | None
    ) -> list[tuple[int, int]]:
        """``(front, back)`` index pairs: ``masks[front]`` occludes ``masks[back]``."""


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an ``H×W×3 uint8`` image and return it contiguous."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InteractionError(f"expected an H×W×3 RGB image, got shape {shape}; use read_image()")
    if image.dtype != np.uint8:
        raise InteractionError(f"expected a uint8 image, got {image.dtype}; use read_image()")
    return np.ascontiguousarray(image)


def check_clicks(clicks: Sequence[Click], shape: tuple[int, int]) -> None:
    """Raise :class:`InteractionError` if a click lies outside an image of ``shape`` (H, W)."""
    h, w = shape
    for c in clicks:
        if not (0 <= c.y < h and 0 <= c.x < w):
            raise InteractionError(
                f"click at (y={c.y}, x={c.x}) is outside the {w}×{h} image; "
                "clicks must satisfy 0 <= y < height and 0 <= x < width"
            )
