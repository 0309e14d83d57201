"""Small immutable value types shared by every part of occseg (no torch here).

Coordinates are ``(y, x)`` pixels with the origin at the top-left corner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Click:
    """A click at pixel ``(y, x)``; ``positive`` marks the object, otherwise the background."""

    y: int
    x: int
    positive: bool


@dataclass(frozen=True)
class BoundaryClick:
    """A click placed on the object's boundary (for refinement models)."""

    y: int
    x: int


@dataclass(frozen=True)
class Scribble:
    """A polyline of ``(y, x)`` points; ``kind`` is ``"fn"`` (missed boundary) or ``"fp"``."""

    points: tuple[tuple[int, int], ...]
    kind: str


@dataclass(frozen=True)
class OcclusionEdge:
    """Instance ``front`` occludes instance ``back``."""

    front: int
    back: int


@dataclass(frozen=True, eq=False)
class Sample:
    """One evaluation/training sample: an RGB image and one object's mask.

    ``image`` is ``H×W×3 uint8``, ``mask`` is ``H×W bool``; ``ignore`` (``H×W bool`` or None)
    marks pixels excluded from clicking and from IoU.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    ignore: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Instance:
    """A segmented instance: its mask, class id, confidence score and relative depth label."""

    mask: np.ndarray
    label: int = 0
    score: float = 1.0
    depth: int = 0
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Instances of one image with classes, occlusion edges and (for predictions) scores.

    Attributes
    ----------
    instances
        ``H×W`` int ids, 0 = background.
    classes
        Class of each id (missing ids count as class 0).
    edges
        ``(front, back)`` id pairs of the occlusion graph.
    scores
        Confidence of each id (predictions; missing = 0).
    """

    instances: np.ndarray
    classes: dict[int, int] = field(default_factory=dict)
    edges: list[tuple[int, int]] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        ids = np.unique(self.instances)
        return [int(i) for i in ids if i != 0]


def clicks_from_pairs(points: Sequence[tuple[int, int, bool]]) -> list[Click]:
    """Build clicks from ``(y, x, positive)`` triples."""
    return [Click(int(y), int(x), bool(p)) for y, x, p in points]
