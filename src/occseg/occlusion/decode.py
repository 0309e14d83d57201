"""Decoding the network's boundary and orientation maps (paper 001, Sec. 3.1; supplement 1.4).

The network gives per pixel the boundary probability ``b_p`` and the conditional orientation
``e_p`` over the left, right, top and bottom neighbours (the pixel occludes that neighbour).
:func:`decode_boundaries` thins ``b`` by non-maximum suppression, discards values below 0.1
(Sec. 3.1), and turns ``e`` into

* an angle (supplement 1.4, :func:`orientation_angle`): the larger of the left/right
  components gives the horizontal part of the normal, the larger of top/bottom the vertical part;
  the normal points from occluder to occludee, and the boundary angle follows the PIOD "left
  rule" (occluder on the left of the boundary direction, angle counter-clockwise with y up), the
  convention of the synthetic scenes' ``ob_angle``;
* 4-neighbour occlusion flags (:func:`occludes_from_orientation`): the normal's direction
  quantised to 8 sectors of 45°; an axis sector occludes one neighbour, a diagonal sector the
  two neighbours it lies between (as the ground truth ``E_p = [0.5, 0, 0.5, 0]`` of a 45° normal,
  supplement 1.3).

:func:`occlusion_inputs` gives the CRF's inputs (Eq. 5, 7): the background probability of the
semantic head and the pixel pairs ``(p, q)``, ``p`` occludes ``q``. NumPy only (no torch).

Example
-------
>>> e = np.zeros((1, 1, 4)); e[0, 0] = [0.5, 0.1, 0.4, 0.0]  # the example of supplement 1.4
>>> occludes_from_orientation(e).astype(int).tolist()  # occludes its left and top neighbours
[[[1, 0, 1, 0]]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from occseg.occlusion.nms import edge_nms
from occseg.occlusion.ordering import occ_pairs_from_oriented

__all__ = [
    "BOUNDARY_THRESHOLD",
    "OrientedBoundaries",
    "decode_boundaries",
    "occludes_from_orientation",
    "occlusion_inputs",
    "orientation_angle",
]

#: Boundaries below this (after NMS) are discarded (Sec. 3.1).
BOUNDARY_THRESHOLD = 0.1

_TAN_22_5 = float(np.tan(np.pi / 8))


def _normal(orientation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal ``(n_x, n_y)`` (image axes, y down) of supplement 1.4 from ``...×4`` components."""
    o = np.asarray(orientation, np.float64)
    if o.shape[-1] != 4:
        raise ValueError(
            f"orientation must have 4 components (left, right, top, bottom), got {o.shape}"
        )
    left, right, top, bottom = np.moveaxis(o, -1, 0)
    nx = np.where(right > left, right, -left)
    ny = np.where(bottom > top, bottom, -top)
    return nx, ny


def orientation_angle(orientation: np.ndarray) -> np.ndarray:
    """Boundary angle from the 4 orientation components (supplement 1.4).

    Parameters
    ----------
    orientation
        ``...×4`` components for left, right, top, bottom: ``e_p`` or the first four of ``o_p``
        (Eq. 3; the angle does not depend on the scale).

    Returns
    -------
    numpy.ndarray
        ``...`` float64 radians in ``(-π, π]``: ``θ = atan2(n_x, n_y)`` of the normal ``n`` from
        occluder to occludee, the PIOD angle of the boundary direction with the occluder on its
        left (the "left rule": the boundary direction is the normal turned by -π/2 on screen).

    Examples
    --------
    >>> round(float(orientation_angle(np.array([0.5, 0.1, 0.4, 0.0]))), 4)  # -π + atan(0.5/0.4)
    -2.2455
    """
    nx, ny = _normal(orientation)
    return np.arctan2(nx, ny)


def occludes_from_orientation(orientation: np.ndarray) -> np.ndarray:
    """``...×4 bool``: which neighbours (left, right, top, bottom) a boundary pixel occludes.

    The normal of supplement 1.4 is quantised to 8 sectors of 45°: its horizontal neighbour is
    occluded when ``|n_x| >= tan(22.5°) |n_y|``, its vertical neighbour when
    ``|n_y| >= tan(22.5°) |n_x|`` (both for a diagonal normal).
    """
    nx, ny = _normal(orientation)
    ax, ay = np.abs(nx), np.abs(ny)
    horizontal = (ax >= _TAN_22_5 * ay) & (ax > 0)
    vertical = (ay >= _TAN_22_5 * ax) & (ay > 0)
    return np.stack(
        [horizontal & (nx < 0), horizontal & (nx > 0), vertical & (ny < 0), vertical & (ny > 0)],
        axis=-1,
    )


@dataclass(frozen=True, eq=False)
class OrientedBoundaries:
    """Thinned, thresholded oriented occlusion boundaries.

    Attributes
    ----------
    prob
        ``H×W float64`` boundary probability after NMS, 0 below the threshold.
    occludes
        ``H×W×4 bool`` neighbours each kept boundary pixel occludes (left, right, top, bottom).
    angle
        ``H×W float64`` PIOD angle on kept pixels, NaN elsewhere.
    """

    prob: np.ndarray
    occludes: np.ndarray
    angle: np.ndarray


def decode_boundaries(
    boundary: np.ndarray,
    orientation: np.ndarray,
    *,
    threshold: float = BOUNDARY_THRESHOLD,
    nms: bool = True,
) -> OrientedBoundaries:
    """NMS, the 0.1 threshold and orientation decoding (Sec. 3.1; supplement 1.4).

    Parameters
    ----------
    boundary
        ``H×W`` boundary probability ``b``.
    orientation
        ``H×W×4`` conditional orientation ``e`` (left, right, top, bottom).
    threshold
        Boundaries below it (after NMS) are discarded.
    nms
        Thin with :func:`occseg.occlusion.nms.edge_nms` (triangle pre-smoothing of radius 1, no
        attenuation at the image border: an occlusion there still orders the instances).
    """
    b = np.asarray(boundary, np.float64)
    e = np.asarray(orientation, np.float64)
    if b.ndim != 2 or e.shape != (*b.shape, 4):
        raise ValueError(f"boundary must be H×W and orientation H×W×4, got {b.shape}, {e.shape}")
    thin = edge_nms(b, s=0) if nms else b.copy()
    keep = thin >= threshold
    thin[~keep] = 0.0
    occ = occludes_from_orientation(e) & keep[..., None]
    angle = np.where(keep, orientation_angle(e), np.nan)
    return OrientedBoundaries(thin, occ, angle)


def occlusion_inputs(
    semantic_prob: np.ndarray,
    boundary: np.ndarray,
    orientation: np.ndarray,
    *,
    threshold: float = BOUNDARY_THRESHOLD,
    nms: bool = True,
) -> tuple[np.ndarray, np.ndarray, OrientedBoundaries]:
    """Inputs of :func:`occseg.occlusion.ordering.order_labeling` from the network's maps.

    Parameters
    ----------
    semantic_prob
        ``H×W×C`` class probabilities; class 0 is the background (``sigma`` of Eq. 5).
    boundary, orientation, threshold, nms
        As in :func:`decode_boundaries`.

    Returns
    -------
    (bg_prob, occ_pairs, boundaries)
        ``H×W float64`` background probability, ``(N, 4) int64`` rows ``(py, px, qy, qx)``
        (``p`` occludes its 4-neighbour ``q``, Eq. 7) and the decoded boundaries.
    """
    s = np.asarray(semantic_prob, np.float64)
    if s.ndim != 3 or s.shape[:2] != np.shape(boundary):
        raise ValueError(f"semantic_prob must be H×W×C like the boundary map, got {s.shape}")
    decoded = decode_boundaries(boundary, orientation, threshold=threshold, nms=nms)
    bg = np.clip(s[..., 0], 0.0, 1.0)
    return bg, occ_pairs_from_oriented(decoded.occludes), decoded
