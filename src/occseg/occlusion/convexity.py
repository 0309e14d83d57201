"""The convexity cue of figure and ground: which of two touching masks is in front, from their
shapes alone.

Where one object hides part of another, the shared border is the occluder's own outline: the
occluder's visible region is whole, the occludee's has a bite taken out of it. Convex regions
are seen as figures in front (Kanizsa & Gerbino, 1976), and so the occludee's convex hull
reaches over the occluder, while the occluder's hull stays clear of the occludee. For two masks
``a`` and ``b`` the cue is

    cvx(a, b) = (|hull(b) ∩ a| - |hull(a) ∩ b|) / (|hull(b) ∩ a| + |hull(a) ∩ b|)  in [-1, 1],

positive when ``a`` is in front (0 when neither hull reaches the other mask).
:func:`occseg.occlusion.pipeline.order_masks` adds it to the network's oriented-boundary vote;
the measurements that set its weight are at :data:`CONVEXITY_WEIGHT`.

OpenCV / NumPy only.

Example
-------
>>> a = np.zeros((20, 30), bool); a[5:15, 10:20] = True  # a square in front ...
>>> b = np.zeros((20, 30), bool); b[2:18, 2:28] = True; b &= ~a  # ... of a frame around it
>>> round(convexity_cue([a, b], [(1, 2)])[(1, 2)], 3)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["CONVEXITY_WEIGHT", "convex_hull", "convexity_cue"]

#: Weight of the convexity cue beside the network's normalised boundary vote when two masks are
#: ordered (:func:`occseg.occlusion.pipeline.order_masks`: an annotator's objects, or
#: ground-truth instances; not the boundary regions, which may be parts of objects). Chosen on
#: both development sets, the ground-truth objects of 50 held-out synthetic scenes and of the 5
#: COCOA photos ordered with the shipped ``ordernet`` (``occseg eval order --convexity W``,
#: given recall / accuracy): 0: 0.787 / 0.847 and 0.560 / 0.636; 0.25: 0.822 / 0.853 and
#: 0.680 / 0.723; **0.5: 0.858 / 0.885 and 0.740 / 0.787**; 1: 0.792 / 0.830 and 0.820 / 0.854;
#: 100 (the cue alone): 0.731 / 0.750 and 0.760 / 0.826. 0.5 is the best on the larger set and
#: far better than the vote alone on both.
CONVEXITY_WEIGHT = 0.5


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull of an ``H×W bool`` mask (all False for an empty mask)."""
    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, np.uint8)
    points = cv2.findNonZero(mask.astype(np.uint8))
    if points is not None:
        cv2.fillConvexPoly(out, cv2.convexHull(points), 1)
    return out.astype(bool)


def convexity_cue(
    masks: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    """``cvx(a, b)`` of the module docstring for every pair ``(a, b)`` of mask ids (``index +
    1`` of ``masks``); positive: ``a`` in front of ``b``."""
    hulls: dict[int, np.ndarray] = {}

    def hull(i: int) -> np.ndarray:
        if i not in hulls:
            hulls[i] = convex_hull(masks[i - 1])
        return hulls[i]

    out = {}
    for a, b in pairs:
        a_in_b = int(np.count_nonzero(hull(b) & np.asarray(masks[a - 1], bool)))
        b_in_a = int(np.count_nonzero(hull(a) & np.asarray(masks[b - 1], bool)))
        total = a_in_b + b_in_a
        out[(a, b)] = (a_in_b - b_in_a) / total if total else 0.0
    return out
