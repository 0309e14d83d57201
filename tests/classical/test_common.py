"""The shared helpers: seeds, colour model, soft masks, geodesic distance."""

from __future__ import annotations

import numpy as np

from occseg.classical.common import (
    DIRECTIONS_8,
    ColourHistogram,
    border_mask,
    downscale,
    geodesic_distance,
    neighbour_sq_diffs,
    prob_from_mask,
    seed_masks,
)
from occseg.classical.graphcut import contrast_weights
from occseg.types import Click


def test_seed_masks_disks_border_and_keepout():
    clicks = [Click(10, 10, True), Click(30, 30, False)]
    fg, bg = seed_masks(clicks, (40, 40), radius=3, border=2, border_keepout=12)
    assert fg[10, 10] and fg[10, 13] and not fg[10, 14]
    assert bg[30, 30] and bg[39, 39]
    assert not bg[0, 5]  # border near the positive click is kept free
    assert not (fg & bg).any()


def test_seed_masks_border_respects_prev_mask():
    prev = np.zeros((20, 20), bool)
    prev[:, :5] = True
    _, bg = seed_masks([Click(10, 10, True)], (20, 20), radius=2, border=1, prev_mask=prev)
    assert not bg[0, 2] and bg[0, 15]


def test_prob_from_mask_is_the_sigmoid_of_the_signed_distance() -> None:
    """The chamfer distance stays within 2 % of the Euclidean one, so the probability stays
    within 0.01 of the sigmoid of the exact signed distance, and every mask thresholds back."""
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(0)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 260, 2))
        mask = np.zeros((h, w), bool)
        for _ in range(int(rng.integers(1, 4))):
            y, x = int(rng.integers(h)), int(rng.integers(w))
            mask[y : y + int(rng.integers(1, h + 1)), x : x + int(rng.integers(1, w + 1))] ^= True
        softness = float(rng.choice([0.5, 2.0, 3.5]))
        signed = np.where(mask, distance_transform_edt(mask), -distance_transform_edt(~mask))
        expected = 1.0 / (1.0 + np.exp(-np.clip(signed / softness, -30, 30)))
        prob = prob_from_mask(mask, softness)
        np.testing.assert_allclose(prob, expected, atol=0.01)
        np.testing.assert_array_equal(prob > 0.49, mask)


def test_prob_from_mask_thresholds_back():
    m = np.zeros((30, 30), bool)
    m[5:20, 8:25] = True
    p = prob_from_mask(m)
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p > 0.49, m)
    assert prob_from_mask(np.zeros((4, 4), bool)).max() == 0.0
    assert prob_from_mask(np.ones((4, 4), bool)).min() == 1.0


def test_colour_histogram_prefers_sampled_colour():
    img = np.zeros((10, 10, 3), np.uint8)
    img[:, 5:] = 200
    nll = ColourHistogram(img).neg_log_likelihood(img[..., 0] == 200)
    assert nll[0, 9] < nll[0, 0]


def test_geodesic_distance_is_euclidean_like_without_colour():
    shape = (40, 50)
    seeds = np.zeros(shape, bool)
    seeds[20, 25] = True
    flat = np.zeros((*shape, 3), np.uint8)
    costs = [
        np.sqrt(dy * dy + dx * dx + 0 * s)
        for (dy, dx), s in zip(DIRECTIONS_8, neighbour_sq_diffs(flat), strict=True)
    ]
    d = geodesic_distance(seeds, costs)
    yy, xx = np.mgrid[:40, :50]
    eu = np.hypot(yy - 20, xx - 25)
    assert d[20, 25] == 0
    assert np.all(d >= eu - 1e-3)
    assert np.all(d <= eu * 1.09 + 1e-3)  # 8-neighbour chamfer error bound
    assert d[20, 0] == 25 and d[0, 25] == 20


def test_geodesic_distance_stops_at_edges_and_uses_init():
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 255
    costs = [
        np.sqrt(dy * dy + dx * dx + s)
        for (dy, dx), s in zip(DIRECTIONS_8, neighbour_sq_diffs(img), strict=True)
    ]
    seeds = np.zeros((20, 20), bool)
    seeds[10, 2] = True
    d = geodesic_distance(seeds, costs)
    assert d[10, 9] < 8 and d[10, 10] > 100
    init = np.full((20, 20), np.inf)
    init[:, 19] = 3.0
    d2 = geodesic_distance(np.zeros((20, 20), bool), costs, init=init)
    assert d2[5, 19] == 3.0 and d2[5, 15] == 7.0
    assert np.isinf(geodesic_distance(np.zeros((5, 5), bool), [c[:5, :5] for c in costs])).all()


def test_contrast_weights_and_border_mask():
    img = np.zeros((6, 8, 3), np.uint8)
    img[:, 4:] = 100
    ws = dict(contrast_weights(img, 8))
    assert ws[(0, 1)][0, 3] < ws[(0, 1)][0, 0]
    assert ws[(0, 1)][0, 7] == 0 and ws[(1, 0)][5, 0] == 0
    np.testing.assert_allclose(ws[(1, 1)][0, 0], 1 / np.sqrt(2), rtol=1e-5)
    b = border_mask((6, 8), 1)
    assert b.sum() == 6 * 8 - 4 * 6


def test_downscale_maps_clicks():
    img = np.zeros((400, 200, 3), np.uint8)
    small, s, clicks = downscale(img, 100, [Click(399, 199, True)])
    assert small.shape == (100, 50, 3) and s == 0.25
    assert clicks == [Click(99, 49, True)]
