"""Keep clicks interactive on large images: run the model on a downscaled copy.

:class:`ScaledPredictor` wraps any :class:`~occseg.predict.Predictor`: ``set_image`` gives the
model the image shrunk so that its longer side is at most ``max_side`` pixels (area averaging),
clicks are mapped to the small image, and the probability map comes back bilinearly resized to
the full image, so masks are stored at full resolution. Images that are small enough pass
through untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from occseg.predict import Predictor

__all__ = ["ScaledPredictor"]


class ScaledPredictor:
    """A predictor that sees images at most ``max_side`` pixels long (0 or None: never scale)."""

    def __init__(self, predictor: Predictor, max_side: int | None) -> None:
        self.inner = predictor
        self.max_side = int(max_side or 0)
        self.full: tuple[int, int] = (0, 0)
        self.small: tuple[int, int] = (0, 0)

    @property
    def supports_boundary_clicks(self) -> bool:
        """Forwarded from the wrapped predictor."""
        return bool(getattr(self.inner, "supports_boundary_clicks", False))

    def set_image(self, image: np.ndarray) -> None:
        """Give the wrapped model the (possibly downscaled) image."""
        h, w = image.shape[:2]
        self.full = (h, w)
        longest = max(h, w)
        if not self.max_side or longest <= self.max_side:
            self.small = (h, w)
            self.inner.set_image(image)
            return
        s = self.max_side / longest
        self.small = (max(1, round(h * s)), max(1, round(w * s)))
        small = cv2.resize(image, self.small[::-1], interpolation=cv2.INTER_AREA)
        self.inner.set_image(np.ascontiguousarray(small))

    def _to_small(self, click: Any) -> Any:
        (h, w), (hs, ws) = self.full, self.small
        y = min(hs - 1, int((click.y + 0.5) * hs / h))
        x = min(ws - 1, int((click.x + 0.5) * ws / w))
        return dataclasses.replace(click, y=y, x=x)

    def predict(self, clicks: Sequence[Any], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Probability map at full resolution for clicks in full-resolution pixels."""
        if self.small == self.full:
            return self.inner.predict(clicks, prev_prob=prev_prob)
        (h, w), (hs, ws) = self.full, self.small
        prev = None
        if prev_prob is not None:
            prev = np.asarray(prev_prob, np.float32)
            prev = cv2.resize(prev, (ws, hs), interpolation=cv2.INTER_AREA)
        prob = np.asarray(self.inner.predict([self._to_small(c) for c in clicks], prev_prob=prev))
        return cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
