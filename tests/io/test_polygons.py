"""Masks as COCO polygons: holes survive pycocotools' union of rings; the round trip is exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from occseg.io.polygons import mask_to_polygons, polygons_to_mask


def _ring_mask() -> np.ndarray:
    m = np.zeros((40, 50), bool)
    m[5:35, 5:45] = True
    m[12:28, 15:35] = False  # a hole
    m[15:25, 20:30] = True  # an island in the hole: a second part
    return m


def test_hole_stays_a_hole_and_island_stays() -> None:
    m = _ring_mask()
    rings = mask_to_polygons(m)
    assert len(rings) == 2  # the frame (hole joined in) and the island
    back = polygons_to_mask(rings, *m.shape)
    assert not back[13, 16] and back[20, 25] and back[6, 6]
    assert np.array_equal(back, m)


def test_separate_hole_rings_would_be_filled() -> None:
    """Why the keyhole: pycocotools unions the rings, so a hole ring on its own fills."""
    m = _ring_mask()
    m[15:25, 20:30] = False
    outer, hole = cv2.findContours(m.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[0]
    naive = [c.ravel().astype(float).tolist() for c in (outer, hole)]
    assert polygons_to_mask(naive, *m.shape)[20, 25]  # filled
    assert not polygons_to_mask(mask_to_polygons(m), *m.shape)[20, 25]


@pytest.mark.parametrize("seed", range(5))
def test_random_masks_round_trip_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = np.zeros((60, 70), np.uint8)
    for _ in range(4):
        centre = (int(rng.integers(70)), int(rng.integers(60)))
        cv2.circle(m, centre, int(rng.integers(2, 15)), 1, -1)
    for _ in range(3):
        centre = (int(rng.integers(70)), int(rng.integers(60)))
        cv2.circle(m, centre, int(rng.integers(1, 6)), 0, -1)
    m = m.astype(bool) | (rng.random(m.shape) < 0.05)  # single pixels and diagonal touches
    assert np.array_equal(polygons_to_mask(mask_to_polygons(m), *m.shape), m)


def test_edges_and_empty() -> None:
    assert mask_to_polygons(np.zeros((4, 4), bool)) == []
    full = np.ones((3, 5), bool)
    assert np.array_equal(polygons_to_mask(mask_to_polygons(full), 3, 5), full)
    with pytest.raises(ValueError, match="H×W"):
        mask_to_polygons(np.zeros((2, 2, 2), bool))
