"""Exact, repeatable Euclidean distance transforms used by the clicker, encodings and samplers.

The field's reference code calls OpenCV's ``distanceTransform(DIST_L2, DIST_MASK_PRECISE)``. That is
the exact Euclidean distance up to float32 rounding, but the rounding (up to ~1e-5 here) is not
even repeatable: with OpenCV 5.0 the same call on the same mask returned different last bits in
about a third of calls on random masks, so whether two pixels at the same true distance tie can
change from call to call, and with it the outcome of the "first maximum in row-major order" and
"ties give a negative click" rules.
We compute the exact distance instead (square root of an integer squared distance, float64), with
which every tie rule holds exactly. Wherever the true distances differ the choice is the same as
OpenCV's: distinct square roots of integers below 10^8 differ by far more than its rounding.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt


def distance_to_outside(region: np.ndarray, *, border_is_outside: bool = True) -> np.ndarray:
    """Distance (``H×W float64``) from each pixel of ``region`` to the nearest pixel outside it.

    With ``border_is_outside`` the region is padded by one pixel of zeros first, so a pixel on the
    image border is at distance 1 (the reference clicker's padding). Pixels outside are 0.
    """
    region = np.asarray(region, bool)
    if border_is_outside:
        return distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
    if region.all():
        return np.full(region.shape, np.inf)
    return distance_transform_edt(region)


def distance_to_region(region: np.ndarray) -> np.ndarray:
    """Distance (``H×W float64``) from each pixel to the nearest pixel of ``region``.

    0 inside the region, ``inf`` everywhere when the region is empty.
    """
    region = np.asarray(region, bool)
    if not region.any():
        return np.full(region.shape, np.inf)
    return distance_transform_edt(~region)
