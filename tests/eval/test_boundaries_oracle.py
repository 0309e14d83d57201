"""Agreement with the reference BSDS implementation (pyEdgeEval, test-only oracle).

Inputs are BSDS-like synthetic fixtures built here (no data files): random region partitions
whose boundaries are drawn by several "annotators" with jittered region seeds, and a noisy,
blurred soft boundary map quantised to 1/255 like a PNG prediction. ODS, OIS and AP must agree
within 0.002 at the protocol's 99 thresholds and 0.0075 tolerance.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from occseg.eval.boundaries import boundary_pr

pytest.importorskip("pyEdgeEval")
from pyEdgeEval.common.binary_label.calculate_metrics import calculate_metrics
from pyEdgeEval.common.binary_label.evaluate_boundaries import (
    evaluate_boundaries_threshold_multiple_gts,
)

TOL = 0.002


def _bsds_like(seed: int, h: int = 96, w: int = 144) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    n_regions = int(rng.integers(8, 14))
    pts = rng.uniform((0, 0), (h, w), size=(n_regions, 2))
    yy, xx = np.mgrid[:h, :w]

    def labels(points: np.ndarray) -> np.ndarray:
        d = (yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2
        return np.argmin(d, axis=-1)

    def boundaries(lab: np.ndarray) -> np.ndarray:
        b = np.zeros((h, w), bool)
        b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
        b[:-1] |= lab[:-1] != lab[1:]
        return b

    gts = []
    for _ in range(int(rng.integers(3, 5))):
        lab = labels(pts + rng.normal(0, 1.5, pts.shape))
        # annotators differ in granularity: merge a random region into its neighbour
        lab[lab == rng.integers(n_regions)] = rng.integers(n_regions)
        gts.append(boundaries(lab))
    true = boundaries(labels(pts)).astype(np.float64)
    strength = cv2.GaussianBlur(rng.uniform(0.2, 1.0, true.shape), (0, 0), 8)
    # spurious edges: random segments of random strength
    clutter = np.zeros((h, w))
    for _ in range(10):
        p0 = (int(rng.integers(w)), int(rng.integers(h)))
        p1 = (int(p0[0] + rng.integers(-30, 31)), int(p0[1] + rng.integers(-30, 31)))
        cv2.line(clutter, p0, p1, float(rng.uniform(0.2, 0.9)), 1)
    soft = cv2.GaussianBlur(true * strength + clutter, (0, 0), 1.2)
    noise = rng.normal(0.0, 0.03, (h, w))
    # saturate the strongest boundaries so that even the top thresholds keep many pixels: the
    # low-recall end of the BSDS AP then does not hinge on a handful of pixels (the oracle's
    # randomised outlier graph can move a few matches from run to run)
    prob = np.clip(1.2 * soft / soft.max() + noise, 0.0, 1.0)
    return np.round(prob * 255) / 255, gts


def _oracle(probs: list[np.ndarray], gts: list[list[np.ndarray]]) -> dict:
    def single(sample: dict) -> tuple:
        return evaluate_boundaries_threshold_multiple_gts(
            thresholds=sample["thresholds"], pred=sample["pred"], gts=sample["gts"], max_dist=0.0075
        )

    thresholds = np.linspace(1 / 100, 99 / 100, 99)
    samples = [
        {"name": str(i), "thresholds": thresholds, "pred": p, "gts": g}
        for i, (p, g) in enumerate(zip(probs, gts, strict=True))
    ]
    _, _, overall = calculate_metrics(single, 99, samples, nproc=1)
    return overall


def test_agrees_with_pyedgeeval() -> None:
    cases = [_bsds_like(seed) for seed in (0, 1, 2)]
    probs = [c[0] for c in cases]
    gts = [c[1] for c in cases]
    ours = boundary_pr(probs, gts, 99, 0.0075)
    ref = _oracle(probs, gts)
    # pyEdgeEval's "AUC" is collect_eval_bdry.m's Area_PR (the AP of the BSDS tables)
    assert abs(ours.ods - ref["ODS_f1"]) < TOL, (ours.ods, ref["ODS_f1"])
    assert abs(ours.ois - ref["OIS_f1"]) < TOL, (ours.ois, ref["OIS_f1"])
    assert abs(ours.ap - ref["AUC"]) < TOL, (ours.ap, ref["AUC"])
    # the F-curve is flat near its top, so the oracle's randomised outlier matching can move its
    # best threshold by a step or two; what must hold is that its choice is optimal on our curve
    curve = ours.curve
    f_at_ref = float(np.interp(ref["ODS_threshold"], curve.thresholds, curve.f))
    assert abs(f_at_ref - ours.ods) < TOL, (ref["ODS_threshold"], f_at_ref, ours.ods)
