"""Interaction encodings: clicks → input maps for predictors and networks.

All maps are computed with one exact Euclidean distance transform per click polarity
(:mod:`occseg.distances`), so the cost does not grow with the number of clicks and the maps are
bit-for-bit repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from occseg.distances import distance_to_region
from occseg.types import Click


def click_distance(clicks: Sequence[Click], shape: tuple[int, int], positive: bool) -> np.ndarray:
    """Exact Euclidean distance (``H×W float32``) to the nearest click of one polarity.

    ``inf`` everywhere when there is no such click.
    """
    seeds = np.zeros(shape, bool)
    pts = [(c.y, c.x) for c in clicks if c.positive == positive]
    if pts:
        ys, xs = np.asarray(pts).T
        seeds[ys, xs] = True
    return distance_to_region(seeds).astype(np.float32)


def _both(clicks: Sequence[Click], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return click_distance(clicks, shape, True), click_distance(clicks, shape, False)


def disk_maps(clicks: Sequence[Click], shape: tuple[int, int], radius: float = 5) -> np.ndarray:
    """Binary disks of ``radius`` pixels around the clicks, as in RITM (Sec. 3.1, r = 5).

    Returns ``2×H×W float32``: channel 0 positive clicks, channel 1 negative clicks.
    """
    pos, neg = _both(clicks, shape)
    return np.stack([pos <= radius, neg <= radius]).astype(np.float32)


def gaussian_maps(clicks: Sequence[Click], shape: tuple[int, int], sigma: float = 10) -> np.ndarray:
    """Gaussians ``exp(-d²/2σ²)`` around the clicks (maximum over clicks), ``2×H×W float32``."""
    pos, neg = _both(clicks, shape)
    return np.exp(-np.square(np.stack([pos, neg])) / (2.0 * sigma * sigma)).astype(np.float32)


def distance_maps(
    clicks: Sequence[Click], shape: tuple[int, int], truncate: float = 255
) -> np.ndarray:
    """Distance to the nearest click, truncated at ``truncate`` and scaled to [0, 1].

    The encoding of Xu et al. (Deep Interactive Object Selection, 2016), used by RITM as the
    distance-map ablation. Returns ``2×H×W float32`` (1 where there is no click of that polarity).
    """
    pos, neg = _both(clicks, shape)
    return (np.minimum(np.stack([pos, neg]), truncate) / truncate).astype(np.float32)
