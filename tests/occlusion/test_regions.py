"""Instances as regions of the boundary map (:mod:`occseg.occlusion.regions`)."""

from __future__ import annotations

import numpy as np

from occseg.occlusion.regions import boundary_regions


def test_a_boundary_splits_the_foreground_and_every_foreground_pixel_gets_a_region():
    bg = np.zeros((20, 30))
    bg[:, :3] = 1  # a background strip
    b = np.zeros((20, 30))
    b[:, 14:16] = 0.8  # a boundary between two objects
    b[5, 20] = 0.5  # a speck of texture: below min_area as a marker, never a region
    regions = boundary_regions(bg, b, min_area=20)
    assert (regions[:, :3] == 0).all() and (regions[:, 3:] > 0).all()
    assert set(np.unique(regions[:, 3:14]).tolist()) == {1}
    assert set(np.unique(regions[:, 16:]).tolist()) == {2}
    assert regions.dtype == np.int32


def test_markers_below_min_area_are_dropped_and_no_marker_gives_no_region():
    bg = np.zeros((10, 10))
    b = np.full((10, 10), 0.9)
    b[1:3, 1:3] = 0.0  # a 4-pixel marker
    assert boundary_regions(bg, b, min_area=5).max() == 0
    regions = boundary_regions(bg, b, min_area=4)
    assert regions.max() == 1 and (regions == 1).all()  # the one marker floods the foreground
    assert boundary_regions(np.ones((10, 10)), np.zeros((10, 10))).max() == 0  # all background
