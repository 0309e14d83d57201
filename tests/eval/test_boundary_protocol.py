"""The click protocol with the boundary-click user (``--interaction boundary``, paper ``002``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import save_checkpoint
from occseg.errors import ConfigError
from occseg.eval.click_run import check_method, run_click_benchmark
from occseg.eval.clicks import evaluate_clicks, iou, next_boundary_interaction, next_click
from occseg.eval.report import read_click_report, write_click_report
from occseg.nn.twoinone import TwoInOne, TwoInOneConfig
from occseg.types import BoundaryClick, Click, Sample


class ScriptedPredictor:
    """Returns a fixed sequence of masks, one per interaction, and records what it was given."""

    threshold = 0.49
    supports_boundary_clicks = True

    def __init__(self, masks: list[np.ndarray]) -> None:
        self.masks, self.calls = masks, []

    def set_image(self, image: np.ndarray) -> None:
        self.calls.clear()

    def predict(self, clicks: list, prev_prob: np.ndarray | None = None) -> np.ndarray:
        self.calls.append((list(clicks), prev_prob))
        return self.masks[min(len(clicks), len(self.masks)) - 1].astype(np.float32)


def _sample(gt: np.ndarray, name: str = "s") -> Sample:
    return Sample(name, np.zeros((*gt.shape, 3), np.uint8), gt)


def _rectangle() -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((20, 30), bool)
    gt[4:16, 5:25] = True
    short = gt.copy()
    short[:, 18:] = False  # a false-negative strip along the right side
    return gt, short


def test_a_selection_click_then_a_boundary_click_on_the_largest_error() -> None:
    gt, short = _rectangle()
    predictor = ScriptedPredictor([short, gt])
    report = evaluate_clicks(predictor, [_sample(gt)], interaction="boundary")
    (result,) = report.results
    assert result.ious == [iou(gt, short), 1.0]  # stops at 90 %
    select, boundary = result.clicks
    # the standard user's first click: the interior-most pixel, first in row-major order
    assert select == next_click(gt, np.zeros_like(gt)) and select.positive
    # Eq. 5 for a false negative: the ground-truth boundary point farthest from the predicted
    # boundary (the right edge, column 24, at distance 7 from column 17; the first such pixel)
    assert boundary == BoundaryClick(4, 24)
    assert predictor.calls[0] == ([select], None)
    calls, prev = predictor.calls[1]
    assert calls == [select, boundary]
    np.testing.assert_array_equal(prev, short.astype(np.float32))  # fed back as usual
    again = evaluate_clicks(ScriptedPredictor([short, gt]), [_sample(gt)], interaction="boundary")
    assert again.results[0].clicks == result.clicks and again.results[0].ious == result.ious


def test_the_largest_region_is_clicked_first_and_false_positives_get_the_min_min_point() -> None:
    gt, _ = _rectangle()
    spill = gt.copy()
    spill[16:19, 8:21] = True  # a false-positive band under the object (39 px)
    spill[4:6, 5:17] = False  # a smaller false-negative strip at the top (24 px)
    click = next_boundary_interaction(gt, spill, first=False)
    # Eq. 5 for a false positive: the object's bottom edge next to the band (row 15) at its
    # least distance from the band's outline: 1, first at the band's left end
    assert click == BoundaryClick(15, 8)
    assert next_boundary_interaction(gt, spill, first=True) == next_click(gt, np.zeros_like(gt))


def test_the_user_stops_when_no_boundary_click_can_fix_the_error() -> None:
    gt = np.zeros((20, 30), bool)
    gt[2:18, 2:28] = True
    holed = gt.copy()
    holed[5:15, 8:22] = False  # a hole inside the object: no object boundary near it
    report = evaluate_clicks(ScriptedPredictor([holed]), [_sample(gt)], max_clicks=5)
    assert len(report.results[0].ious) == 5  # the standard user keeps clicking into the hole
    report = evaluate_clicks(
        ScriptedPredictor([holed]), [_sample(gt)], max_clicks=5, interaction="boundary"
    )
    (result,) = report.results
    assert result.ious == [iou(gt, holed)] and len(result.clicks) == 1
    summary = report.summary()
    assert summary["NoC@90"] == 5 and summary["mIoU@k"]["5"] == pytest.approx(iou(gt, holed))


def test_an_empty_object_gets_no_click() -> None:
    gt = np.zeros((10, 10), bool)
    predictor = ScriptedPredictor([gt])
    (result,) = evaluate_clicks(predictor, [_sample(gt)], interaction="boundary").results
    assert result.clicks == [] and result.ious == [1.0] and predictor.calls == []


def test_unknown_interaction() -> None:
    gt, _ = _rectangle()
    with pytest.raises(ConfigError, match="unknown interaction"):
        evaluate_clicks(ScriptedPredictor([gt]), [_sample(gt)], interaction="taps")
    with pytest.raises(ConfigError, match="--interaction must be"):
        check_method("graphcut", interaction="taps")
    with pytest.raises(ConfigError, match="does not take boundary clicks") as info:
        check_method("graphcut", interaction="boundary")
    assert "\n" not in str(info.value)


def test_the_report_keeps_boundary_clicks(tmp_path: Path) -> None:
    gt, short = _rectangle()
    report = evaluate_clicks(ScriptedPredictor([short, gt]), [_sample(gt)], interaction="boundary")
    report.meta.update(method="scripted", interaction="boundary")
    write_click_report(report, tmp_path)
    rows = json.loads((tmp_path / "per_sample.json").read_text())[0]["clicks"]
    select = report.results[0].clicks[0]
    assert rows == [[select.y, select.x, 1], [4, 24, "boundary"]]
    back = read_click_report(tmp_path)
    assert back.results[0].clicks == report.results[0].clicks
    assert back.meta["interaction"] == "boundary"


def test_a_two_in_one_checkpoint_runs_the_boundary_protocol(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    path = tmp_path / "twoinone.pt"
    save_checkpoint(path, TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12)).eval())
    gt = np.zeros((40, 48), bool)
    gt[10:30, 12:36] = True
    rng = np.random.default_rng(0)
    sample = Sample("toy", rng.integers(0, 255, (40, 48, 3), dtype=np.uint8), gt)
    report = run_click_benchmark(
        [sample], str(path), dataset="toy", max_clicks=3, interaction="boundary"
    )
    (result,) = report.results
    assert report.meta["interaction"] == "boundary" and report.meta["dataset"] == "toy"
    assert 1 <= len(result.ious) <= 3 and len(result.clicks) == len(result.ious)
    assert isinstance(result.clicks[0], Click)
    assert all(isinstance(c, BoundaryClick) for c in result.clicks[1:])
    standard = run_click_benchmark([sample], "graphcut", dataset="toy", max_clicks=2)
    assert "interaction" not in standard.meta  # the standard report is unchanged
    with pytest.raises(ConfigError, match="does not take boundary clicks"):
        run_click_benchmark([sample], "graphcut", dataset="toy", interaction="boundary")
    for options in ({}, {"max_side": 32}):  # also behind a resizing transform
        with pytest.raises(ConfigError, match="boundary clicks only") as info:
            check_method(str(path), options, interaction="clicks")
        assert "\n" not in str(info.value)
    pnr = tmp_path / "pnr.pt"
    signed = TwoInOneConfig(width_mult=0.25, crop_size=12, refinement_clicks="signed")
    save_checkpoint(pnr, TwoInOne(signed).eval())
    check_method(str(pnr), interaction="clicks")  # a PNR model takes the standard user
    with pytest.raises(ConfigError, match="trained with boundary clicks"):
        check_method(str(pnr), interaction="boundary")
