"""avgFN and avgFP: the user effort of scribble-interactive occlusion-boundary estimation.

Paper ``000`` Sec. 4.1 "Evaluation Metrics": *avgFN* and *avgFP* are "the averages of the ratios
between the numbers of pixels occupied by FN or FP boundary segments used for generating
scribbles and the total number of GT or non-GT pixel points, respectively". Per image,

* FN ratio = (pixels of the FN segments used) / (ground-truth boundary pixels),
* FP ratio = (pixels of the FP segments used) / (pixels that are not ground-truth boundary),

and avgFN / avgFP are the means over images. The segments are those the simulated user draws
scribbles from (:func:`occseg.simulate.scribbles.error_segments`: pieces longer than 30 pixels in
the paper's evaluation), counted before perturbation and dilation; they are not the full
false-negative / false-positive rates (paper ``000`` Sec. 4.2). The paper reports avgFN in units
of 1e-2 and avgFP in units of 1e-4 or 1e-3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from occseg.simulate.scribbles import ErrorSegments, Segment

__all__ = ["ScribbleEffort", "error_pixel_ratios", "scribble_effort"]


def _pixel_count(segments: list[Segment], shape: tuple[int, int]) -> int:
    """Distinct in-image pixels covered by the segments."""
    covered = np.zeros(shape, dtype=bool)
    for seg in segments:
        pts = np.asarray(seg, dtype=np.int64).reshape(-1, 2)
        covered[pts[:, 0], pts[:, 1]] = True
    return int(covered.sum())


def error_pixel_ratios(segments: ErrorSegments, gt: NDArray[np.bool_]) -> tuple[float, float]:
    """One image's FN and FP ratios (paper ``000`` Sec. 4.1).

    Parameters
    ----------
    segments : ErrorSegments
        The FN / FP segments used for the scribbles.
    gt : (H, W) bool array
        The ground-truth boundary map the segments were computed against.

    Returns
    -------
    fn_ratio, fp_ratio : float
        FN segment pixels / GT pixels and FP segment pixels / non-GT pixels; a ratio whose
        denominator is 0 is 0.

    Examples
    --------
    >>> gt = np.zeros((10, 10), bool); gt[5, :] = True
    >>> seg = ErrorSegments(fn=[np.array([[5, 0], [5, 1]])], fp=[np.array([[0, 0]])])
    >>> error_pixel_ratios(seg, gt)
    (0.2, 0.011111111111111112)
    """
    g = np.asarray(gt, dtype=bool)
    if g.ndim != 2:
        raise ValueError(f"ground truth must be 2-D, got shape {g.shape}")
    shape = (g.shape[0], g.shape[1])
    n_gt = int(g.sum())
    n_bg = g.size - n_gt
    fn = _pixel_count(segments.fn, shape)
    fp = _pixel_count(segments.fp, shape)
    return (fn / n_gt if n_gt else 0.0), (fp / n_bg if n_bg else 0.0)


@dataclass(frozen=True)
class ScribbleEffort:
    """avgFN / avgFP of a data set and the per-image ratios.

    Attributes
    ----------
    avg_fn, avg_fp
        Means of the per-image ratios (NaN for an empty data set).
    fn_ratios, fp_ratios
        Per-image ratios, in input order.
    """

    avg_fn: float
    avg_fp: float
    fn_ratios: list[float]
    fp_ratios: list[float]

    @classmethod
    def from_ratios(cls, fn_ratios: Sequence[float], fp_ratios: Sequence[float]) -> ScribbleEffort:
        """avgFN / avgFP as the means of per-image ratios (NaN for none)."""
        fn, fp = [float(r) for r in fn_ratios], [float(r) for r in fp_ratios]
        return cls(
            float(np.mean(fn)) if fn else float("nan"),
            float(np.mean(fp)) if fp else float("nan"),
            fn,
            fp,
        )

    def as_dict(self) -> dict[str, float | list[float] | None]:
        """JSON-ready (NaN as ``None``)."""

        def clean(x: float) -> float | None:
            return None if np.isnan(x) else x

        return {
            "avg_fn": clean(self.avg_fn),
            "avg_fp": clean(self.avg_fp),
            "fn_ratios": self.fn_ratios,
            "fp_ratios": self.fp_ratios,
        }


def scribble_effort(
    segment_sets: Iterable[ErrorSegments], gts: Iterable[NDArray[np.bool_]]
) -> ScribbleEffort:
    """avgFN and avgFP over a data set (paper ``000`` Sec. 4.1).

    Parameters
    ----------
    segment_sets : iterable of ErrorSegments
        Per image, the segments used for the scribbles (e.g.
        ``simulate_scribbles(prob, gt).segments``).
    gts : iterable of (H, W) bool arrays
        Per image, the ground truth the segments were computed against.

    Returns
    -------
    ScribbleEffort

    Examples
    --------
    >>> gt = np.zeros((10, 10), bool); gt[5, :] = True
    >>> none = ErrorSegments([], [])
    >>> half = ErrorSegments([np.stack([np.full(5, 5), np.arange(5)], 1)], [])
    >>> scribble_effort([none, half], [gt, gt]).avg_fn
    0.25
    """
    fn, fp = [], []
    for segs, gt in zip(segment_sets, gts, strict=True):
        r_fn, r_fp = error_pixel_ratios(segs, gt)
        fn.append(r_fn)
        fp.append(r_fp)
    return ScribbleEffort.from_ratios(fn, fp)
