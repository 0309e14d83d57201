"""Interaction encodings agree with brute-force definitions."""

import numpy as np

from occseg.encode import (
    click_distance,
    disk_maps,
    distance_maps,
    gaussian_channel,
    gaussian_maps,
    refinement_channels,
)
from occseg.types import Click

CLICKS = [Click(3, 4, True), Click(10, 12, True), Click(7, 1, False)]
SHAPE = (15, 18)


def _brute_distance(positive):
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    d = [np.hypot(yy - c.y, xx - c.x) for c in CLICKS if c.positive == positive]
    return np.min(d, axis=0) if d else np.full(SHAPE, np.inf)


def test_disks_are_exact_euclidean():
    maps = disk_maps(CLICKS, SHAPE, radius=5)
    assert maps.shape == (2, *SHAPE) and maps.dtype == np.float32
    np.testing.assert_array_equal(maps[0], _brute_distance(True) <= 5)
    np.testing.assert_array_equal(maps[1], _brute_distance(False) <= 5)


def test_gaussians_and_distances():
    g = gaussian_maps(CLICKS, SHAPE, sigma=3)
    np.testing.assert_allclose(g[0], np.exp(-(_brute_distance(True) ** 2) / 18), atol=1e-5)
    d = distance_maps(CLICKS, SHAPE, truncate=10)
    np.testing.assert_allclose(d[1], np.minimum(_brute_distance(False), 10) / 10, atol=1e-5)


def test_refinement_channels_of_boundary_and_signed_clicks():
    boundary = refinement_channels(CLICKS, SHAPE, 3.0, signed=False)
    np.testing.assert_array_equal(boundary, gaussian_channel(CLICKS, SHAPE, 3.0)[None])
    signed = refinement_channels(CLICKS, SHAPE, 3.0, signed=True)
    np.testing.assert_array_equal(signed, gaussian_maps(CLICKS, SHAPE, 3.0))
    assert signed.shape == (2, *SHAPE)


def test_no_clicks_of_a_polarity():
    only_pos = [Click(1, 1, True)]
    assert disk_maps(only_pos, SHAPE)[1].sum() == 0
    assert gaussian_maps(only_pos, SHAPE)[1].max() == 0
    assert (distance_maps(only_pos, SHAPE)[1] == 1).all()


def test_click_distance_within_a_radius_is_the_exact_distance_there() -> None:
    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        n = int(rng.integers(0, 6))
        clicks = [
            Click(int(rng.integers(h)), int(rng.integers(w)), bool(rng.integers(2)))
            for _ in range(n)
        ]
        radius = float(rng.choice([0.5, 1.0, 5.0, 7.5, 15.0]))
        for positive in (True, False):
            full = click_distance(clicks, (h, w), positive)
            near = click_distance(clicks, (h, w), positive, within=radius)
            assert np.array_equal(near[full <= radius], full[full <= radius])
            assert np.isinf(near[full > radius]).all()
