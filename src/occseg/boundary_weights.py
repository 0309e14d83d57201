"""Boundary-aware pixel weights of the Two-in-One selection network (paper ``002``, Eq. 2).

The boundary-aware cross-entropy (BA-CE, Eq. 3, :func:`occseg.nn.losses.boundary_aware_ce`)
multiplies the class-balanced cross-entropy of each pixel by ``1 + w(B, p)``. This module computes
``w(B, p)`` from the ground-truth mask (NumPy, exact Euclidean distances from
:mod:`occseg.distances`); the torch loss takes the map as a tensor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from occseg.distances import distance_to_region

#: Width of the band along the boundary where the penalty applies, in pixels (Sec. 3.1: τ = 40).
BAND_WIDTH = 40.0
#: Divisor of the distance in the penalty (Sec. 3.1: k = 255).
DISTANCE_SCALE = 255.0


def boundary_aware_weights(
    mask: NDArray[np.bool_], *, tau: float = BAND_WIDTH, k: float = DISTANCE_SCALE
) -> NDArray[np.float32]:
    """Extra weight ``w(B, p)`` of each pixel (paper ``002``, Sec. 3.1, Eq. 2).

    ``w(B, p) = d(B, p) / k`` for a background pixel ``p`` (``p ∉ M``) within ``d(B, p) ≤ τ`` of
    the boundary ``B`` of the ground-truth mask ``M``; 0 inside the mask and beyond ``τ``. The
    loss weighs each pixel by ``1 + w`` (Eq. 3), so background pixels near the object cost up to
    ``1 + τ/k ≈ 1.16`` times more, growing linearly with their distance, and the weight drops back
    to 1 past ``τ`` (the step at ``τ`` is the paper's).

    ``B`` is the set of mask pixels that touch the background (``B ⊂ M``, Sec. 3.1). For a pixel
    outside the mask the nearest mask pixel is always such a boundary pixel (the neighbour of a
    nearest pixel one step towards ``p`` is closer, so it lies outside), hence ``d(B, p)`` is the
    exact Euclidean distance from ``p`` to the mask (:func:`occseg.distances.distance_to_region`).

    Parameters
    ----------
    mask : (H, W) bool array
        The ground-truth mask ``M``.
    tau : float
        Band width ``τ`` in pixels (40 in the paper).
    k : float
        Distance scale ``k`` (255 in the paper).

    Returns
    -------
    (H, W) float32 array
        ``w(B, p)``; all zeros for an empty mask (no boundary).

    Examples
    --------
    >>> m = np.zeros((1, 50), bool); m[0, :5] = True
    >>> w = boundary_aware_weights(m)
    >>> [round(float(v) * 255, 3) for v in w[0, [4, 5, 44, 45]]]  # inside, d = 1, 40, 41
    [0.0, 1.0, 40.0, 0.0]
    """
    mask = np.asarray(mask, bool)
    # The text defines d(B, p) = min ||p - p_B||_2^2, a squared norm, but calls it "the minimum
    # Euclidean distance" and τ = 40 a width "in pixels": with the square the band would be
    # sqrt(40) ≈ 6 pixels wide, or (squaring only inside the weight) the weight would reach
    # 40²/255 ≈ 6.3 at τ and jump to 0 just past it. We read d as the Euclidean distance.
    d = distance_to_region(mask)
    band = ~mask & (d <= tau)
    return np.where(band, d / k, 0.0).astype(np.float32)
