"""avgFN / avgFP (paper 000, Sec. 4.1 "Evaluation Metrics")."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from occseg.eval.scribble_metrics import error_pixel_ratios, scribble_effort
from occseg.simulate.scribbles import ErrorSegments, simulate_scribbles


def _row(y: int, x0: int, x1: int) -> np.ndarray:
    xs = np.arange(x0, x1)
    return np.stack([np.full(xs.size, y), xs], axis=1)


def test_ratios_use_gt_and_non_gt_pixel_counts() -> None:
    gt = np.zeros((20, 50), bool)
    gt[5, :40] = True  # 40 GT pixels, 960 non-GT pixels
    seg = ErrorSegments(fn=[_row(5, 0, 10), _row(5, 20, 30)], fp=[_row(15, 0, 48)])
    fn, fp = error_pixel_ratios(seg, gt)
    assert fn == pytest.approx(20 / 40)
    assert fp == pytest.approx(48 / 960)


def test_overlapping_segment_pixels_count_once() -> None:
    gt = np.zeros((10, 10), bool)
    gt[2, :] = True
    seg = ErrorSegments(fn=[_row(2, 0, 6), _row(2, 3, 8)], fp=[])
    assert error_pixel_ratios(seg, gt) == (0.8, 0.0)


def test_empty_ground_truth_and_empty_dataset() -> None:
    gt = np.zeros((4, 4), bool)
    assert error_pixel_ratios(ErrorSegments([], [_row(1, 0, 4)]), gt) == (0.0, 0.25)
    effort = scribble_effort([], [])
    assert math.isnan(effort.avg_fn) and math.isnan(effort.avg_fp)
    assert json.dumps(effort.as_dict())  # NaN becomes null


def test_average_over_images_not_pooled() -> None:
    small = np.zeros((10, 10), bool)
    small[0, :2] = True  # 2 GT pixels, both missed: ratio 1
    big = np.zeros((10, 100), bool)
    big[0, :] = True  # 100 GT pixels, none missed: ratio 0
    effort = scribble_effort(
        [ErrorSegments([_row(0, 0, 2)], []), ErrorSegments([], [])], [small, big]
    )
    assert effort.fn_ratios == [1.0, 0.0]
    assert effort.avg_fn == 0.5  # pooled counts would give 2 / 102
    assert effort.avg_fp == 0.0


def test_counts_only_segments_used_for_scribbles() -> None:
    # an empty prediction misses everything, but only pieces longer than 30 px are scribbled
    gt = np.zeros((100, 100), bool)
    gt[20, 10:90] = True  # 80 px
    gt[60, 10:30] = True  # 20 px: too short for a scribble
    sims = [simulate_scribbles(np.zeros(gt.shape), gt)]
    effort = scribble_effort([s.segments for s in sims], [gt])
    assert effort.avg_fn == pytest.approx(80 / 100)
    assert effort.avg_fp == 0.0


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError):
        scribble_effort([ErrorSegments([], [])], [])
