"""The boundary-click user of Two-in-One refinement (paper ``002``, Sec. 3.3, Eq. 5).

* **Selection click** (:func:`selection_click`): the interior point of the object farthest from
  its boundary (the paper starts from the centre of mass and moves to this point for concave
  shapes; for convex ones the two nearly agree), displaced by up to 25 pixels in training.
* **Refinement clicks** (:func:`boundary_click`): false-negative and false-positive regions of the
  prediction are split into connected components (:func:`error_components`); components smaller
  than ``m`` % of the object are dropped in training (``m`` in 1-5). Each chosen region gets one
  click on the *ground-truth boundary* outlining it (Eq. 5): for a false negative the boundary
  point farthest from the predicted boundary (one-sided Hausdorff), for a false positive the
  boundary point nearest to it (min-min). Training clicks are displaced by up to 10 pixels, and
  2 to 4 of them are drawn per instance (``k1 = 2``, ``k2 = 4``).

:class:`BoundaryClickSimulator` is the training user (an
:class:`~occseg.simulate.clicks.InteractionSimulator`, ``make_simulator("boundary_clicks")``);
:meth:`BoundaryClickSimulator.evaluation` is the protocol's user: the undisplaced selection click,
then one undisplaced boundary click per step on the largest error region, with no random choice.
With ``signed=True`` the same user trains the paper's PNR variant (Sec. 4, "Ours-PNR"): each
chosen region gets a positive (false negative) or negative (false positive) click at its
interior point farthest from its border (:func:`interior_click`) instead of a boundary click.

Pixel sets (our reading of "the boundary pixels outlining the region"): the boundary ``∂M`` of a
mask is its pixels with a 4-neighbour outside it (the image border is not a boundary); the pixels
*outlining* a region ``R`` are those of ``R`` and of its 4-neighbours. So ``B`` is ``∂GT`` near
``R`` and ``π`` is ``∂pred`` near ``R``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from occseg.distances import distance_to_outside, distance_to_region
from occseg.simulate.clicks import SIMULATORS, error_regions
from occseg.types import BoundaryClick, Click

__all__ = [
    "BOUNDARY_JITTER",
    "MIN_REGION_PERCENT",
    "REFINEMENT_CLICKS",
    "SELECTION_JITTER",
    "BoundaryClickSimulator",
    "ErrorRegion",
    "boundary_click",
    "error_components",
    "interior_click",
    "jitter",
    "mask_boundary",
    "selection_click",
]

#: Largest displacement of a training selection click, pixels (Sec. 3.3).
SELECTION_JITTER = 25.0
#: Largest displacement of a training boundary click, pixels (Sec. 3.3).
BOUNDARY_JITTER = 10.0
#: Range of ``m``: training drops error regions under ``m`` % of the object (Sec. 3.3: 1-5).
MIN_REGION_PERCENT = (1.0, 5.0)
#: ``(k1, k2)``: refinement clicks per training instance (Sec. 3.3: 2 to 4).
REFINEMENT_CLICKS = (2, 4)

_CROSS = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True, eq=False)
class ErrorRegion:
    """One connected error region: component ``index`` of the label map ``labels``.

    The label map is shared by the regions of one error type, so many small regions cost no
    memory until their :attr:`mask` is asked for.
    """

    labels: np.ndarray
    index: int
    false_negative: bool
    size: int

    @property
    def mask(self) -> NDArray[np.bool_]:
        """The region's pixels (``H×W bool``)."""
        return self.labels == self.index


def mask_boundary(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Pixels of ``mask`` with a 4-neighbour outside it (the image border is not a boundary)."""
    mask = np.asarray(mask, bool)
    return mask & ~ndimage.binary_erosion(mask, _CROSS, border_value=1)


def error_components(
    gt: NDArray[np.bool_],
    pred: NDArray[np.bool_],
    ignore: NDArray[np.bool_] | None = None,
    *,
    min_pixels: float = 0,
) -> list[ErrorRegion]:
    """The 8-connected false-negative and false-positive regions, largest first (Sec. 3.3).

    Regions with fewer than ``min_pixels`` pixels are dropped. Ties in size keep false negatives
    before false positives and, within a type, the order of the first pixel in row-major order.
    """
    fn, fp = error_regions(gt, pred, ignore)
    regions = []
    for error, is_fn in ((fn, True), (fp, False)):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            error.astype(np.uint8), connectivity=8
        )
        for i in range(1, n):
            size = int(stats[i, cv2.CC_STAT_AREA])
            if size >= min_pixels:
                regions.append(ErrorRegion(labels, i, is_fn, size))
    return sorted(regions, key=lambda r: -r.size)  # stable: keeps the order of equal sizes


def boundary_click(
    gt: NDArray[np.bool_],
    pred: NDArray[np.bool_],
    region: ErrorRegion,
    ignore: NDArray[np.bool_] | None = None,
) -> BoundaryClick | None:
    """The boundary click correcting ``region`` (paper ``002``, Eq. 5), or None if there is none.

    ``c_FN = argmax_{x ∈ B} min_{y ∈ π} |x - y|`` for a false-negative region (the one-sided
    Hausdorff point: where the true boundary lies farthest from the predicted one) and
    ``c_FP = argmin_{x ∈ B} min_{y ∈ π} |x - y|`` for a false-positive region (the min-min point:
    for a region attached to the object, where the predicted boundary leaves the true one). ``B``
    is the ground-truth boundary and ``π`` the predicted boundary outlining the region (see the
    module notes); ties go to the first pixel in row-major order.

    Where the paper's sets are empty: a false-positive region that does not touch the object
    (a detached blob) takes ``B`` = the whole object boundary (its point nearest to the blob); a
    region with no predicted boundary around it takes ``π`` = the whole predicted boundary (all
    distances are infinite when nothing is predicted, so the first pixel of ``B`` is taken); a
    false-negative region with no object boundary (a hole in the prediction inside the object)
    cannot be corrected by a boundary click and gives None. Ignored pixels are never clicked.
    """
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    near = ndimage.binary_dilation(region.mask, _CROSS)
    gt_boundary, pred_boundary = mask_boundary(gt), mask_boundary(pred)
    if ignore is not None:
        gt_boundary &= ~np.asarray(ignore, bool)
    b = gt_boundary & near
    if not b.any():
        if region.false_negative:
            return None
        b = gt_boundary
        if not b.any():
            return None
    pi = pred_boundary & near
    candidates = np.flatnonzero(b)  # row-major order: argmax/argmin take the first extreme
    dist = distance_to_region(pi if pi.any() else pred_boundary).ravel()[candidates]
    best = np.argmax(dist) if region.false_negative else np.argmin(dist)
    y, x = divmod(int(candidates[best]), b.shape[1])
    return BoundaryClick(y, x)


def interior_click(region: ErrorRegion, ignore: NDArray[np.bool_] | None = None) -> Click | None:
    """The positive (false-negative region) or negative (false-positive region) click at the
    region's pixel farthest from its border (as :func:`selection_click`); None when the whole
    region is ignored. The PNR user's click, "placed centrally" (Sec. 1)."""
    click = selection_click(region.mask, ignore)
    return None if click is None else Click(click.y, click.x, region.false_negative)


def selection_click(gt: NDArray[np.bool_], ignore: NDArray[np.bool_] | None = None) -> Click | None:
    """The positive click at the object pixel farthest from its boundary (Sec. 3.3).

    The first maximum in row-major order of the exact distance to the outside (image border
    counted as outside, ignored pixels removed first): the first click of the standard protocol
    (:func:`occseg.eval.clicks.next_click` with an empty prediction). None for an empty object.
    """
    region = np.asarray(gt, bool)
    if ignore is not None:
        region = region & ~np.asarray(ignore, bool)
    if not region.any():
        return None
    dist = distance_to_outside(region)
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(int(y), int(x), True)


def jitter(
    y: int, x: int, radius: float, rng: np.random.Generator, allowed: NDArray[np.bool_]
) -> tuple[int, int]:
    """``(y, x)`` moved by a random integer offset of length at most ``radius``.

    The new point is uniform over the pixels within ``radius`` that lie in the image and where
    ``allowed`` (``H×W bool``) is True; ``(y, x)`` itself when there is none.
    """
    h, w = allowed.shape
    r = int(np.floor(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    ys, xs = (y + dy).ravel(), (x + dx).ravel()
    keep = (dy * dy + dx * dx <= radius * radius).ravel()
    keep &= (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    ys, xs = ys[keep], xs[keep]
    inside = allowed[ys, xs]
    ys, xs = ys[inside], xs[inside]
    if ys.size == 0:
        return y, x
    i = int(rng.integers(ys.size))
    return int(ys[i]), int(xs[i])


class BoundaryClickSimulator:
    """The boundary-click user (paper ``002``, Sec. 3.3): a selection click, then boundary clicks.

    The defaults are the paper's training user; :meth:`evaluation` builds the protocol's user.

    Parameters
    ----------
    selection_jitter, boundary_jitter
        Largest displacement (pixels) of the selection click (25) and of each boundary click
        (10). The displaced selection click stays inside the object (a person selects the object
        by clicking on it); boundary clicks stay inside the image.
    min_region_percent
        ``(low, high)``: each call draws ``m`` uniformly in this range and drops error regions
        with fewer than ``m`` % of the object's pixels ("we vary m between 1-5"; our reading is a
        random ``m`` per instance). ``(m, m)`` fixes it.
    clicks
        ``(k1, k2)``: each call clicks the ``k`` largest remaining regions (one click each), ``k``
        uniform in ``[k1, k2]`` (fewer when fewer regions can be clicked). The paper does not say
        which regions are taken; we take the largest, as its user study asks people to do.
    signed
        Click each region's interior (:func:`interior_click`, positive or negative) instead of
        its boundary: the user of the paper's PNR variant. The displaced click stays in its
        region.
    """

    def __init__(
        self,
        *,
        selection_jitter: float = SELECTION_JITTER,
        boundary_jitter: float = BOUNDARY_JITTER,
        min_region_percent: tuple[float, float] = MIN_REGION_PERCENT,
        clicks: tuple[int, int] = REFINEMENT_CLICKS,
        signed: bool = False,
    ) -> None:
        low, high = (float(v) for v in min_region_percent)
        k1, k2 = (int(v) for v in clicks)
        if selection_jitter < 0 or boundary_jitter < 0:
            raise ValueError("jitter radii must be non-negative")
        if not 0 <= low <= high:
            raise ValueError(f"min_region_percent must be 0 <= low <= high, got {(low, high)}")
        if not 1 <= k1 <= k2:
            raise ValueError(f"clicks must be 1 <= k1 <= k2, got {(k1, k2)}")
        self.selection_jitter = float(selection_jitter)
        self.boundary_jitter = float(boundary_jitter)
        self.min_region_percent = (low, high)
        self.clicks = (k1, k2)
        self.signed = bool(signed)

    @classmethod
    def evaluation(cls) -> BoundaryClickSimulator:
        """The protocol's user: no displacement, one click per step on the largest error region.

        No region is too small to click in evaluation, so the user never stops while an error
        remains; no random number is drawn.
        """
        return cls(selection_jitter=0, boundary_jitter=0, min_region_percent=(0, 0), clicks=(1, 1))

    def first(
        self,
        gt: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        others: np.ndarray | None = None,
    ) -> list[Any]:
        """``[selection click]`` (empty for an empty object); ``others`` is not used."""
        gt = np.asarray(gt, bool)
        click = selection_click(gt, ignore)
        if click is None:
            return []
        if self.selection_jitter > 0:
            allowed = gt if ignore is None else gt & ~np.asarray(ignore, bool)
            y, x = jitter(click.y, click.x, self.selection_jitter, rng, allowed)
            click = Click(y, x, True)
        return [click]

    def next(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        history: Sequence[Any] = (),
    ) -> list[Any]:
        """Boundary (or, ``signed``, interior) clicks on the largest error regions; empty when
        none can be clicked."""
        gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
        low, high = self.min_region_percent
        m = low if high == low else float(rng.uniform(low, high))
        k1, k2 = self.clicks
        k = k1 if k1 == k2 else int(rng.integers(k1, k2 + 1))
        anywhere = np.ones(gt.shape, bool)
        out: list[Any] = []
        for region in error_components(gt, pred, ignore, min_pixels=m / 100.0 * gt.sum()):
            click: Click | BoundaryClick | None
            if self.signed:
                click = interior_click(region, ignore)
            else:
                click = boundary_click(gt, pred, region, ignore)
            if click is None:
                continue
            if self.boundary_jitter > 0:
                allowed = region.mask if self.signed else anywhere
                y, x = jitter(click.y, click.x, self.boundary_jitter, rng, allowed)
                click = replace(click, y=y, x=x)
            out.append(click)
            if len(out) == k:
                break
        return out


SIMULATORS["boundary_clicks"] = BoundaryClickSimulator
