"""Simple classical boundary detectors used as baselines by the boundary benchmark.

They turn an ``H×W×3 uint8`` RGB image into a soft boundary map (``H×W float32`` in ``[0, 1]``)
that :func:`occseg.eval.boundaries.boundary_pr` can score; they are the "simple gradient-magnitude
detector" against which the benchmark is checked, not competitive methods.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["DETECTORS", "canny_boundaries", "detect_boundaries", "sobel_boundaries"]


def _gray(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    img: np.ndarray = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img.astype(np.float32) / 255.0


def sobel_boundaries(image: NDArray[np.uint8], *, sigma: float = 0.0) -> NDArray[np.float32]:
    """Gradient magnitude of the grey image (3×3 Sobel), divided by its maximum.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB or (H, W) grey image
    sigma : float
        Optional Gaussian pre-smoothing (pixels); 0 disables it.

    Returns
    -------
    (H, W) float32 array in ``[0, 1]``
    """
    g: np.ndarray = _gray(image)
    if sigma > 0:
        g = cv2.GaussianBlur(g, (0, 0), sigma)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    peak = float(mag.max())
    return (mag / peak).astype(np.float32) if peak > 0 else np.zeros_like(mag)


def canny_boundaries(
    image: NDArray[np.uint8], *, levels: int = 16, sigma: float = 1.0
) -> NDArray[np.float32]:
    """Soft Canny: the fraction of ``levels`` Canny runs (rising thresholds) that keep a pixel.

    Canny gives a binary map; averaging runs whose high hysteresis threshold rises linearly up to
    the strongest gradient (low = 0.4 × high) turns it into a map with a PR curve.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB or (H, W) grey image
    levels : int
        Number of Canny runs.
    sigma : float
        Gaussian pre-smoothing (pixels).

    Returns
    -------
    (H, W) float32 array in ``[0, 1]``
    """
    g: np.ndarray = _gray(image)
    if sigma > 0:
        g = cv2.GaussianBlur(g, (0, 0), sigma)
    g8 = np.clip(np.rint(g * 255.0), 0, 255).astype(np.uint8)
    gx = cv2.Sobel(g8, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g8, cv2.CV_32F, 0, 1, ksize=3)
    peak = float(np.hypot(gx, gy).max())
    out = np.zeros(g8.shape, dtype=np.float32)
    if peak <= 0:
        return out
    for high in np.linspace(peak / levels, peak, levels, endpoint=False):
        out += cv2.Canny(g8, 0.4 * high, high, L2gradient=True) > 0
    return out / np.float32(levels)


DETECTORS = {"sobel": sobel_boundaries, "canny": canny_boundaries}


def detect_boundaries(image: NDArray[np.uint8], method: str) -> NDArray[np.float32]:
    """Run the named detector (``"sobel"`` or ``"canny"``)."""
    try:
        fn = DETECTORS[method]
    except KeyError:
        raise ValueError(
            f"unknown boundary detector {method!r}; use one of {sorted(DETECTORS)}"
        ) from None
    return fn(image)
