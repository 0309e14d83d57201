"""The standard click-evaluation protocol of interactive segmentation (NoC, mIoU@k).

This reproduces the protocol used across the field (RITM, Sofiiuk et al. 2022, Sec. 4 and its
evaluation code; also FocalClick, SimpleClick): a simulated user clicks at the interior-most pixel
of the largest error, the previous probability is fed back, and the number of clicks needed to
reach an IoU threshold is counted.

With ``interaction="boundary"`` the same protocol runs with the boundary-click user of Two-in-One
refinement (paper ``002``, Sec. 3.3) in its deterministic evaluation mode
(:meth:`~occseg.simulate.boundary_clicks.BoundaryClickSimulator.evaluation`): the first click
selects the object at its interior-most pixel, every later one is a boundary click (Eq. 5) on the
largest error region, undisplaced, for predictors that take boundary clicks
(``supports_boundary_clicks``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from occseg.distances import distance_to_outside
from occseg.errors import ConfigError
from occseg.predict.session import Interaction, Session
from occseg.predictor import Predictor
from occseg.simulate.boundary_clicks import BoundaryClickSimulator
from occseg.types import BoundaryClick, Click, Sample

#: Click counts at which mIoU@k is reported.
MIOU_AT = (1, 2, 3, 5, 10, 20)

#: The simulated users of the protocol: positive/negative clicks (the field's standard) or a
#: selection click followed by boundary clicks (Two-in-One).
INTERACTIONS = ("clicks", "boundary")


def next_click(
    gt: np.ndarray,
    pred: np.ndarray,
    not_clicked: np.ndarray | None = None,
    ignore: np.ndarray | None = None,
) -> Click:
    """The next click of the standard simulated user.

    Parameters
    ----------
    gt, pred
        ``H×W bool`` ground truth and current prediction.
    not_clicked
        ``H×W bool``, False at pixels already clicked (they are never chosen again).
    ignore
        ``H×W bool``, True at pixels excluded from the error regions.

    Notes
    -----
    Each error region is padded by one pixel of zeros so the image border counts as boundary, as
    in the reference clicker. Distances are exact Euclidean (see :mod:`occseg.distances` for why
    not OpenCV's float32 transform, whose rounding is not repeatable and breaks the tie rules).

    Returns
    -------
    Click
        Positive only if the largest false-negative distance is strictly larger than the largest
        false-positive distance (a tie gives a negative click); the pixel is the first maximum in
        row-major order. With no error at all this returns the first pixel of the (empty) FP map,
        as the reference does; the evaluator stops before that matters.
    """
    gt = np.asarray(gt, bool)
    pred = np.asarray(pred, bool)
    valid = ~np.asarray(ignore, bool) if ignore is not None else True
    fn = distance_to_outside(gt & ~pred & valid)
    fp = distance_to_outside(~gt & pred & valid)
    if not_clicked is not None:
        keep = np.asarray(not_clicked, bool)
        fn *= keep
        fp *= keep
    fn_max, fp_max = fn.max(), fp.max()
    positive = bool(fn_max > fp_max)
    dist = fn if positive else fp
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)  # argmax: first in row-major order
    return Click(int(y), int(x), positive)


def next_boundary_interaction(
    gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None, *, first: bool
) -> Click | BoundaryClick | None:
    """The next interaction of the boundary-click user in evaluation mode (paper ``002``, Sec. 3.3).

    ``first``: the selection click, a positive click at the object pixel farthest from its
    boundary (the first maximum in row-major order; the standard user's first click); otherwise
    the boundary click (Eq. 5) on the largest error region that can take one. Deterministic: no
    displacement, no region too small, no random draw. None when there is nothing to click (an
    empty object, or only errors no boundary click can reach, e.g. a hole inside the object).
    """
    user = BoundaryClickSimulator.evaluation()
    rng = np.random.default_rng(0)  # required by the interface; evaluation mode draws nothing
    got = user.first(gt, rng, ignore=ignore) if first else user.next(gt, pred, rng, ignore=ignore)
    return got[0] if got else None


def iou(gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union at full resolution, ignore pixels excluded (1.0 if both empty)."""
    valid = ~ignore if ignore is not None else True
    inter = np.count_nonzero(gt & pred & valid)
    union = np.count_nonzero((gt | pred) & valid)
    return inter / union if union else 1.0


@dataclass
class SampleResult:
    """The trace of one sample: IoU after every click, the clicks, and predictor seconds."""

    name: str
    ious: list[float]
    clicks: list[Interaction]
    seconds: float

    def noc(self, threshold: float, max_clicks: int) -> int:
        """Clicks needed to reach ``threshold`` (``max_clicks`` if never reached)."""
        for k, value in enumerate(self.ious, start=1):
            if value >= threshold:
                return k
        return max_clicks

    def iou_at(self, k: int) -> float:
        """IoU after click ``k``; after an early stop the last IoU carries forward."""
        return self.ious[min(k, len(self.ious)) - 1]


def evaluate_sample(
    predictor: Predictor,
    sample: Sample,
    *,
    max_clicks: int = 20,
    target_iou: float | None = 0.90,
    pred_thr: float | None = None,
    interaction: str = "clicks",
) -> SampleResult:
    """Run the simulated user on one sample.

    The user's clicks drive a :class:`~occseg.predict.session.Session` (as the annotation app
    does), which feeds the previous probability back; the mask is ``prob > pred_thr``, by default
    the predictor's own ``threshold``. The run stops once IoU reaches ``target_iou`` (never, if it
    is None, so all ``max_clicks`` are made).

    ``interaction`` picks the user (:data:`INTERACTIONS`): ``"clicks"``, the standard clicker
    (:func:`next_click`), or ``"boundary"``, the boundary-click user
    (:func:`next_boundary_interaction`), which also stops when it has nothing to click (the
    last IoU carries forward; an object it cannot select gets the IoU of the empty mask as its
    only entry).

    Raises
    ------
    ConfigError
        For an unknown ``interaction``.
    """
    if interaction not in INTERACTIONS:
        raise ConfigError(
            f"unknown interaction {interaction!r}; choose one of {', '.join(INTERACTIONS)}"
        )
    gt, ignore = sample.mask, sample.ignore
    not_clicked = np.ones(gt.shape, bool)
    pred = np.zeros(gt.shape, bool)
    clicks: list[Interaction] = []
    ious: list[float] = []
    session = Session(predictor, sample.image)
    threshold = session.threshold if pred_thr is None else pred_thr
    start = time.perf_counter()
    session.prepare()
    seconds = time.perf_counter() - start
    obj = session.add_object()
    for _ in range(max_clicks):
        click: Interaction | None
        if interaction == "boundary":
            click = next_boundary_interaction(gt, pred, ignore, first=not clicks)
            if click is None:
                break
        else:
            click = next_click(gt, pred, not_clicked, ignore)
            not_clicked[click.y, click.x] = False
        clicks.append(click)
        start = time.perf_counter()
        prob = session.add_click(obj, click)
        seconds += time.perf_counter() - start
        pred = prob > threshold
        ious.append(iou(gt, pred, ignore))
        if target_iou is not None and ious[-1] >= target_iou:
            break
    if not ious:  # the boundary user could not even select the object
        ious.append(iou(gt, pred, ignore))
    return SampleResult(sample.name, ious, clicks, seconds)


@dataclass
class ClickReport:
    """Results of a click evaluation; :meth:`summary` gives the standard numbers."""

    results: list[SampleResult]
    max_clicks: int = 20
    meta: dict = field(default_factory=dict)

    def noc(self, threshold: float) -> float:
        """Mean number of clicks to reach ``threshold`` (NoC@threshold)."""
        return float(np.mean([r.noc(threshold, self.max_clicks) for r in self.results]))

    def n_failed(self, threshold: float = 0.90) -> int:
        """Samples whose NoC at ``threshold`` equals ``max_clicks`` (the reference's count)."""
        return sum(r.noc(threshold, self.max_clicks) >= self.max_clicks for r in self.results)

    def miou_curve(self) -> np.ndarray:
        """Mean IoU after clicks 1..max_clicks (early-stopped traces carried forward)."""
        return np.array(
            [np.mean([r.iou_at(k) for r in self.results]) for k in range(1, self.max_clicks + 1)]
        )

    def summary(self) -> dict:
        """The standard summary: NoC@85, NoC@90, NoC@90>=20, mIoU@k, seconds per click."""
        n_clicks = sum(len(r.ious) for r in self.results)
        curve = self.miou_curve() if self.results else np.zeros(self.max_clicks)
        return {
            "n_samples": len(self.results),
            "max_clicks": self.max_clicks,
            "NoC@85": self.noc(0.85) if self.results else float("nan"),
            "NoC@90": self.noc(0.90) if self.results else float("nan"),
            f"NoC@90>={self.max_clicks}": self.n_failed(0.90),
            "mIoU@k": {str(k): float(curve[k - 1]) for k in MIOU_AT if k <= self.max_clicks},
            "seconds_per_click": sum(r.seconds for r in self.results) / max(n_clicks, 1),
            **self.meta,
        }


def evaluate_clicks(
    predictor: Predictor,
    samples: Iterable[Sample],
    max_clicks: int = 20,
    target_iou: float | None = 0.90,
    pred_thr: float | None = None,
    *,
    progress: Callable[[SampleResult], None] | None = None,
    interaction: str = "clicks",
) -> ClickReport:
    """Evaluate ``predictor`` with the standard protocol on ``samples``.

    NoC@85 and NoC@90 come from the same run, which stops at ``target_iou`` (pass None to always
    make ``max_clicks`` clicks, for exact mIoU@k). The mask is ``prob > pred_thr``, by default the
    predictor's ``threshold``. ``progress`` is called after each sample. ``interaction`` picks the
    simulated user (:func:`evaluate_sample`).
    """
    results = []
    for sample in samples:
        results.append(
            evaluate_sample(
                predictor,
                sample,
                max_clicks=max_clicks,
                target_iou=target_iou,
                pred_thr=pred_thr,
                interaction=interaction,
            )
        )
        if progress is not None:
            progress(results[-1])
    return ClickReport(results, max_clicks)


def clicks_to_json(clicks: Sequence[Interaction]) -> list[list[int | str]]:
    """Clicks as ``[y, x, positive]`` rows for JSON; a boundary click as ``[y, x, "boundary"]``."""
    return [
        [c.y, c.x, "boundary" if isinstance(c, BoundaryClick) else int(c.positive)] for c in clicks
    ]


def click_from_json(row: Sequence[int | str]) -> Interaction:
    """The inverse of one row of :func:`clicks_to_json`."""
    y, x, kind = row
    if kind == "boundary":
        return BoundaryClick(int(y), int(x))
    return Click(int(y), int(x), bool(kind))
