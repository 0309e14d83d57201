"""Interaction encodings: clicks and scribbles → input maps for predictors and networks (NumPy).

Distance-based maps are computed with one exact Euclidean distance transform per click polarity
(:mod:`occseg.distances`), so the cost does not grow with the number of clicks; disks of a fixed
radius are computed in windows around the clicks (the same values, faster for a few clicks).
The maps are bit-for-bit repeatable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
from numpy.typing import NDArray

from occseg.distances import distance_to_region
from occseg.types import Click


def click_distance(
    clicks: Sequence[Click], shape: tuple[int, int], positive: bool, within: float | None = None
) -> np.ndarray:
    """Exact Euclidean distance (``H×W float32``) to the nearest click of one polarity.

    ``inf`` everywhere when there is no such click. With ``within``, exact up to ``within``
    pixels and ``inf`` beyond: computed in a window around each click, which for a few clicks on
    a large image is several times faster than the full transform (all that disks of a fixed
    radius need).
    """
    pts = [(c.y, c.x) for c in clicks if c.positive == positive]
    if within is None:
        seeds = np.zeros(shape, bool)
        if pts:
            ys, xs = np.asarray(pts).T
            seeds[ys, xs] = True
        return distance_to_region(seeds).astype(np.float32)
    out = np.full(shape, np.inf, np.float32)
    r, (h, w) = int(within), shape
    for y, x in pts:
        ys, xs = slice(max(0, y - r), min(h, y + r + 1)), slice(max(0, x - r), min(w, x + r + 1))
        yy, xx = np.ogrid[ys, xs]
        d = np.sqrt((yy - y) ** 2 + (xx - x) ** 2).astype(np.float32)
        d[d > within] = np.inf
        np.minimum(out[ys, xs], d, out=out[ys, xs])
    return out


def _both(clicks: Sequence[Click], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return click_distance(clicks, shape, True), click_distance(clicks, shape, False)


def disk_maps(clicks: Sequence[Click], shape: tuple[int, int], radius: float = 5) -> np.ndarray:
    """Binary disks of ``radius`` pixels around the clicks, as in RITM (Sec. 3.1, r = 5).

    Returns ``2×H×W float32``: channel 0 positive clicks, channel 1 negative clicks.
    """
    pos = click_distance(clicks, shape, True, within=radius)
    neg = click_distance(clicks, shape, False, within=radius)
    return np.stack([pos <= radius, neg <= radius]).astype(np.float32)


def gaussian_maps(clicks: Sequence[Click], shape: tuple[int, int], sigma: float = 10) -> np.ndarray:
    """Gaussians ``exp(-d²/2σ²)`` around the clicks (maximum over clicks), ``2×H×W float32``."""
    pos, neg = _both(clicks, shape)
    return np.exp(-np.square(np.stack([pos, neg])) / (2.0 * sigma * sigma)).astype(np.float32)


def gaussian_channel(
    points: Sequence[Any], shape: tuple[int, int], sigma: float = 10
) -> np.ndarray:
    """One ``H×W float32`` channel of Gaussians ``exp(-d²/2σ²)`` at point interactions.

    The guidance of Two-in-One refinement (paper ``002``, Sec. 3: "an image-sized channel of zeros"
    with a Gaussian of σ = 10 pixels "at each user click location", the maximum where they
    overlap): ``points`` are :class:`~occseg.types.Click` or :class:`~occseg.types.BoundaryClick`
    (anything with ``y`` and ``x`` inside the image; a click's polarity is not used). All zeros
    without points.
    """
    d = click_distance([Click(p.y, p.x, True) for p in points], shape, True)
    return np.exp(-np.square(d) / (2.0 * sigma * sigma)).astype(np.float32)


def refinement_channels(
    clicks: Sequence[Any], shape: tuple[int, int], sigma: float, signed: bool
) -> np.ndarray:
    """The refinement clicks of Two-in-One (paper ``002``) as Gaussian channels, ``C×H×W``.

    Boundary clicks (``signed=False``, Sec. 3.2): one :func:`gaussian_channel` of all clicks.
    Positive/negative clicks (``signed=True``, the paper's PNR variant, "encoded as Gaussians
    in two separate channels"): :func:`gaussian_maps`.
    """
    if signed:
        return gaussian_maps(clicks, shape, sigma)
    return gaussian_channel(clicks, shape, sigma)[None]


def distance_maps(
    clicks: Sequence[Click], shape: tuple[int, int], truncate: float = 255
) -> np.ndarray:
    """Distance to the nearest click, truncated at ``truncate`` and scaled to [0, 1].

    The encoding of Xu et al. (Deep Interactive Object Selection, 2016), used by RITM as the
    distance-map ablation. Returns ``2×H×W float32`` (1 where there is no click of that polarity).
    """
    pos, neg = _both(clicks, shape)
    return (np.minimum(np.stack([pos, neg]), truncate) / truncate).astype(np.float32)


#: Disk radius of the scribble encoding (paper ``000`` Sec. 4.1).
SCRIBBLE_RADIUS = 12


def _disk(radius: int) -> NDArray[np.uint8]:
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy * yy + xx * xx <= r * r).astype(np.uint8)


def scribble_map(
    segments: Sequence[NDArray[np.int64]], shape: tuple[int, int], *, radius: int = SCRIBBLE_RADIUS
) -> NDArray[np.float32]:
    """Rasterise point sets and dilate them by a disk (RITM-style disk encoding).

    Paper ``000`` Sec. 3.2 "Scribble Simulation" (ii), radius 12 (Sec. 4.1).

    Parameters
    ----------
    segments : list of (N, 2) int arrays
        ``(y, x)`` points inside the image.
    shape : (H, W)
    radius : int
        Disk radius in pixels: a pixel is covered when it is within ``radius`` of a point.

    Returns
    -------
    (H, W) float32 array in ``{0, 1}``

    Examples
    --------
    >>> m = scribble_map([np.array([[10, 10]])], (30, 30), radius=2)
    >>> int(m.sum()), float(m[10, 12]), float(m[12, 12])
    (13, 1.0, 0.0)
    """
    canvas: np.ndarray = np.zeros(shape, dtype=np.uint8)
    for seg in segments:
        pts = np.asarray(seg, dtype=np.int64).reshape(-1, 2)
        canvas[pts[:, 0], pts[:, 1]] = 1
    if radius > 0 and canvas.any():
        canvas = cv2.dilate(canvas, _disk(radius))
    return canvas.astype(np.float32)


@runtime_checkable
class InteractionEncoder(Protocol):
    """Encodes interactions of one type into ``channels`` input maps."""

    channels: int

    def encode(self, interactions: Sequence[Any], shape: tuple[int, int]) -> np.ndarray:
        """Return ``channels×H×W float32`` maps for ``interactions`` in an image of ``shape``."""


_CLICK_ENCODINGS: dict[str, Callable[..., np.ndarray]] = {
    "disk": lambda clicks, shape, r: disk_maps(clicks, shape, radius=r),
    "gaussian": lambda clicks, shape, r: gaussian_maps(clicks, shape, sigma=r),
    "distance": lambda clicks, shape, r: distance_maps(clicks, shape, truncate=r),
}


class ClickEncoder:
    """Positive/negative clicks → 2 maps (channel 0 positive, channel 1 negative).

    Parameters
    ----------
    encoding
        ``"disk"`` (RITM Sec. 3.1: binary disks, radius 5 is best, Table 1), ``"distance"``
        (Xu et al. 2016 distance transform truncated at ``param``, the DT ablation) or
        ``"gaussian"`` (``param`` = sigma).
    param
        Disk radius / truncation distance / sigma in pixels.

    Interactions that are not :class:`~occseg.types.Click` are ignored.
    """

    channels = 2

    def __init__(self, encoding: str = "disk", param: float = 5.0) -> None:
        if encoding not in _CLICK_ENCODINGS:
            raise ValueError(
                f"unknown click encoding {encoding!r}; choose one of {sorted(_CLICK_ENCODINGS)}"
            )
        self.encoding = encoding
        self.param = float(param)

    def encode(self, interactions: Sequence[Any], shape: tuple[int, int]) -> np.ndarray:
        clicks = [c for c in interactions if isinstance(c, Click)]
        h, w = shape
        clicks = [c for c in clicks if 0 <= c.y < h and 0 <= c.x < w]
        return _CLICK_ENCODINGS[self.encoding](clicks, shape, self.param)


#: interaction type → encoder factory ``(encoding, param) -> InteractionEncoder``.
ENCODERS: dict[str, Callable[[str, float], InteractionEncoder]] = {"clicks": ClickEncoder}


def make_encoder(interaction: str, encoding: str, param: float) -> InteractionEncoder:
    """Build the encoder of an interaction type (see :data:`ENCODERS`).

    Raises
    ------
    ValueError
        For an unknown interaction type or encoding.
    """
    if interaction not in ENCODERS:
        raise ValueError(
            f"unknown interaction type {interaction!r}; choose one of {sorted(ENCODERS)}"
        )
    return ENCODERS[interaction](encoding, param)
