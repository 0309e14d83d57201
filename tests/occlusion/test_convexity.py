"""The convexity cue of figure and ground (:mod:`occseg.occlusion.convexity`)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.occlusion.convexity import convex_hull, convexity_cue


def test_convex_hull_fills_the_bite_and_an_empty_mask_has_none():
    ring = np.zeros((9, 9), bool)
    ring[1:8, 1:8] = True
    ring[3:6, 3:8] = False  # a bite from the right side
    hull = convex_hull(ring)
    assert hull[4, 4] and hull[1:8, 1:8].all() and not hull[0].any()
    assert not convex_hull(np.zeros((5, 5), bool)).any()


def test_the_occluder_is_the_mask_the_other_wraps_around():
    disc = np.zeros((40, 60), bool)
    yy, xx = np.mgrid[:40, :60]
    disc[(yy - 20) ** 2 + (xx - 30) ** 2 <= 64] = True  # a ball in front ...
    wall = np.zeros((40, 60), bool)
    wall[10:30, 5:55] = True
    wall &= ~disc  # ... of a box whose visible part has a bite
    cue = convexity_cue([disc, wall], [(1, 2), (2, 1)])
    # not 1: the ball's rasterised hull outline takes in a ring of wall pixels
    assert cue[(1, 2)] > 0.8 and cue[(2, 1)] == pytest.approx(-cue[(1, 2)])
    apart = np.zeros((40, 60), bool)
    apart[0:5, 0:5] = True
    assert convexity_cue([disc, apart], [(1, 2)]) == {(1, 2): 0.0}  # no hull reaches the other
