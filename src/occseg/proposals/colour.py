"""Colour and texture patch features (NumPy): the learning-free alternative to the network
features of :mod:`occseg.proposals.features`, to compare proposal quality against.

Each ``s × s`` patch is described in CIE L*a*b* (D65), whose Euclidean distances roughly follow
perceived colour differences, so Ward's cost (Eq. 4 of paper ``004``) is a sum of squared colour
differences:

* the mean ``L*, a*, b*`` (colour),
* their standard deviations within the patch (contrast, colour variation),
* the mean absolute horizontal and vertical differences of ``L*`` between neighbouring pixels
  of the patch (texture energy and its orientation).

All eight are in L*a*b* units, unscaled: no per-image normalisation, so a flat image merges at
cost 0 whatever its noise-free colour.
"""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab


def _patches(values: np.ndarray, stride: int) -> np.ndarray:
    """``H×W×k`` → ``H/s × s × W/s × s × k``: axes 1 and 3 run within a patch."""
    h, w, k = values.shape
    return values.reshape(h // stride, stride, w // stride, stride, k)


def colour_features(rgb: np.ndarray, stride: int = 8) -> np.ndarray:
    """Colour + texture features of the ``stride × stride`` patches of an image.

    Parameters
    ----------
    rgb
        ``H×W×3`` uint8 RGB; ``H`` and ``W`` multiples of ``stride``.
    stride
        Patch side in pixels (at least 2).

    Returns
    -------
    np.ndarray
        ``H/stride × W/stride × 8`` float64 (see the module docstring).

    Raises
    ------
    ValueError
        If the image is not ``H×W×3`` or its sides are not multiples of ``stride``.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 RGB image, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    if stride < 2 or h % stride or w % stride:
        raise ValueError(f"the image sides {h}×{w} must be multiples of the stride {stride}")
    lab = _patches(rgb2lab(rgb), stride)
    mean = lab.mean(axis=(1, 3))
    std = lab.std(axis=(1, 3))
    lum = lab[..., :1]
    dx = np.abs(np.diff(lum, axis=3)).mean(axis=(1, 3))  # within each patch only
    dy = np.abs(np.diff(lum, axis=1)).mean(axis=(1, 3))
    return np.concatenate([mean, std, dx, dy], 2)
