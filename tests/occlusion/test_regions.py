"""Instances as regions of the boundary map (:mod:`occseg.occlusion.regions`)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.occlusion.regions import (
    MERGE_MAX_BOUNDARY,
    MERGE_MAX_COLOUR,
    boundary_regions,
    merge_similar_regions,
)


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


def _strips(colours, width=8, height=12):
    """Regions 1..n side by side, each ``width`` pixels wide and painted one RGB colour."""
    regions = np.repeat(np.repeat([np.arange(1, len(colours) + 1)], height, 0), width, 1)
    image = np.asarray(colours, np.uint8)[regions - 1]
    return regions.astype(np.int32), image


def test_matching_colours_across_a_weak_boundary_join():
    # a chair's back and seat (one wood, a weak self-occlusion edge), then a red box
    regions, image = _strips([(150, 100, 60), (154, 102, 60), (200, 30, 30)])
    b = np.zeros(regions.shape)
    b[:, 7:9] = MERGE_MAX_BOUNDARY - 0.1  # back | seat
    b[:, 15:17] = 0.2  # seat | box: weak, but the colours differ
    merged = merge_similar_regions(regions, b, image)
    assert merged.dtype == np.int32
    np.testing.assert_array_equal(merged[0], [1] * 16 + [2] * 8)
    b[:, 7:9] = MERGE_MAX_BOUNDARY  # a strong boundary keeps them apart
    np.testing.assert_array_equal(merge_similar_regions(regions, b, image), regions)


def test_joins_are_transitive_renumbered_and_leave_the_background():
    grey = (120, 120, 120)
    regions, image = _strips([grey, grey, grey, grey, (10, 200, 10)])
    regions[:, :8] = 0  # background of the same grey, beside region 2
    merged = merge_similar_regions(regions, np.zeros(regions.shape), image)
    assert (merged[:, :8] == 0).all()
    np.testing.assert_array_equal(merged[0, 8:], [1] * 24 + [2] * 8)  # 2-3-4 joined
    with pytest.raises(ValueError, match="one size"):
        merge_similar_regions(regions, np.zeros((5, 5)), image)
    # a colour step of just under and just over the bound (CIELAB ΔE*76)
    from skimage.color import lab2rgb

    for step, joined in ((MERGE_MAX_COLOUR - 1, True), (MERGE_MAX_COLOUR + 1, False)):
        lab = np.array([[[50.0, 0.0, 0.0], [50.0 + step, 0.0, 0.0]]])
        rgb = np.round(lab2rgb(lab) * 255).astype(np.uint8)[0]
        regions, image = _strips([tuple(rgb[0]), tuple(rgb[1])])
        merged = merge_similar_regions(regions, np.zeros(regions.shape), image)
        assert (merged.max() == 1) == joined
