"""Masks as COCO polygons (``segmentation: [[x1, y1, x2, y2, ...], ...]``), holes included.

COCO readers (:mod:`pycocotools.mask`, and the tools built on it) rasterise each ring of an
annotation on its own and take the **union** (``frPyObjects`` then ``merge``), so a hole written
as a ring of its own comes back filled. Here each hole is instead joined to the ring around it
by a zero-width cut (a "keyhole"): the rings stay one per connected part, and every COCO reader
decodes the hole as a hole.

Coordinates follow COCO: pixel ``(row r, column c)`` covers ``[c, c+1) × [r, r+1)``, and a
reader fills the pixels whose centre ``(c + ½, r + ½)`` lies inside a ring. Rings are traced on
the mask upsampled twice, so every vertex sits a quarter pixel inside the mask's outline: the
pixel centres fall where they should, with a margin, and the mask comes back exactly.

>>> import numpy as np
>>> m = np.zeros((8, 9), bool); m[1:7, 1:8] = True; m[3:5, 3:6] = False  # a ring
>>> rings = mask_to_polygons(m)
>>> len(rings), bool((polygons_to_mask(rings, 8, 9) == m).all())
(1, True)
"""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils

__all__ = ["mask_to_polygons", "polygons_to_mask"]

_UPSAMPLE = 2


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons of an ``H×W`` bool mask: one ring per 8-connected part, its holes
    joined in by keyhole cuts (module docstring). An empty mask gives ``[]``."""
    if mask.ndim != 2:
        raise ValueError(f"expected an H×W mask, got shape {mask.shape}")
    big = np.kron(mask, np.ones((_UPSAMPLE, _UPSAMPLE))).astype(np.uint8)
    contours, hierarchy = cv2.findContours(big, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    rings = [(c.reshape(-1, 2).astype(np.float64) + 0.5) / _UPSAMPLE for c in contours]
    parent = hierarchy[0][:, 3]
    polygons = []
    for i, ring in enumerate(rings):
        if parent[i] >= 0:
            continue  # a hole, joined to its outer ring below
        for j in np.flatnonzero(parent == i):
            ring = _join_hole(ring, rings[j])
        polygons.append([round(float(v), 2) for v in ring.ravel()])
    return polygons


def _join_hole(ring: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``ring`` with ``hole`` spliced in at their closest pair of vertices, going out along the
    cut, round the hole and back along the cut (the two cut edges cancel when rasterised)."""
    d = ((ring[:, None, :] - hole[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    around = np.roll(hole, -j, axis=0)
    return np.concatenate([ring[: i + 1], around, around[:1], ring[i:]])


def polygons_to_mask(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """Rasterise COCO polygons as COCO readers do (:mod:`pycocotools.mask`: each ring filled,
    the union taken); ``H×W`` bool."""
    if not polygons:
        return np.zeros((height, width), bool)
    rles = mask_utils.frPyObjects(polygons, height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)
