"""BA-CE pixel weights equal Eq. 2 of the Two-in-One paper (``002``, Sec. 3.1)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.boundary_weights import BAND_WIDTH, DISTANCE_SCALE, boundary_aware_weights


def test_paper_constants() -> None:
    assert (BAND_WIDTH, DISTANCE_SCALE) == (40.0, 255.0)


def test_half_plane_ramp() -> None:
    """Object = the first 10 columns: background column c is at distance c - 9."""
    mask = np.zeros((6, 70), bool)
    mask[:, :10] = True
    w = boundary_aware_weights(mask)
    expected = np.zeros(70)
    cols = np.arange(10, 50)  # d = 1 .. 40 <= tau: linear ramp d / k
    expected[cols] = (cols - 9) / 255.0
    # inside the object: no extra weight; d = 41 .. 60 > tau: no extra weight
    np.testing.assert_allclose(w, np.broadcast_to(expected, w.shape), rtol=1e-6, atol=0)
    assert w.dtype == np.float32
    assert w[0, 49] == pytest.approx(40 / 255) and w[0, 50] == 0.0


def _brute_force(mask: np.ndarray, tau: float, k: float) -> np.ndarray:
    """Eq. 2 literally: B = mask pixels with a 4-neighbour outside, d = min Euclidean to B."""
    h, w = mask.shape
    boundary = [
        (y, x)
        for y in range(h)
        for x in range(w)
        if mask[y, x]
        and any(
            0 <= y + dy < h and 0 <= x + dx < w and not mask[y + dy, x + dx]
            for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0))
        )
    ]
    pts = np.array(boundary, float)
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            if mask[y, x]:
                continue
            d = np.sqrt(((pts - (y, x)) ** 2).sum(1)).min()
            out[y, x] = d / k if d <= tau else 0.0
    return out


@pytest.mark.parametrize("seed", range(3))
def test_equals_eq2_on_irregular_masks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:30, :36]
    mask = np.zeros((30, 36), bool)
    for _ in range(3):
        cy, cx, r = rng.uniform(5, 25), rng.uniform(5, 30), rng.uniform(2, 7)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    mask[12:15, 3:20] = True  # a bar, so the shape is concave
    mask[13, 8] = False  # a one-pixel hole: weighted like any background pixel
    tau, k = 6.5, 10.0  # a band that ends inside this small image
    np.testing.assert_allclose(
        boundary_aware_weights(mask, tau=tau, k=k), _brute_force(mask, tau, k), rtol=1e-6, atol=0
    )


def test_empty_and_full_masks_have_no_extra_weight() -> None:
    assert not boundary_aware_weights(np.zeros((8, 8), bool)).any()
    assert not boundary_aware_weights(np.ones((8, 8), bool)).any()
