"""The click protocol pinned on hand-made cases (reference clicker and NoC rules)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from occseg.eval.clicks import ClickReport, SampleResult, evaluate_clicks, iou, next_click
from occseg.types import Click, Sample


def test_border_counts_as_boundary():
    # Without the 1-pixel zero padding the whole-image FN region has no zero pixel and every
    # distance is "infinite"; with it, the centre is the interior-most pixel.
    gt = np.ones((5, 7), bool)
    click = next_click(gt, np.zeros_like(gt))
    assert click == Click(2, 2, True)  # (2,2),(2,3),(2,4) tie at 3: first in row-major order


def test_fn_strictly_larger_gives_positive_and_tie_gives_negative():
    gt = np.zeros((9, 20), bool)
    pred = np.zeros_like(gt)
    gt[2:7, 2:7] = True  # FN square 5x5 (max distance 3)
    pred[2:7, 12:17] = True  # FP square of the same size
    tie = next_click(gt, pred)
    assert tie == Click(4, 14, False)
    pred[2:7, 12:16] = True
    pred[2:7, 16] = False  # FP now 5x4: smaller maximum, so the FN wins
    assert next_click(gt, pred) == Click(4, 4, True)


def test_first_maximum_in_row_major_order():
    gt = np.zeros((6, 10), bool)
    gt[2:4, 1:9] = True  # 2-row band: every pixel is at distance 1
    click = next_click(gt, np.zeros_like(gt))
    assert click == Click(2, 1, True)


def test_ignore_pixels_are_never_errors():
    gt = np.zeros((10, 10), bool)
    gt[1:9, 1:9] = True
    ignore = np.zeros_like(gt)
    ignore[1:9, 1:6] = True  # the big FN region is mostly ignored
    pred = np.zeros_like(gt)
    click = next_click(gt, pred, ignore=ignore)
    assert click.positive and not ignore[click.y, click.x]
    assert iou(gt, gt & ~ignore, ignore) == 1.0


def test_clicked_pixels_are_excluded():
    gt = np.zeros((9, 9), bool)
    gt[1:8, 1:8] = True
    first = next_click(gt, np.zeros_like(gt))
    assert first == Click(4, 4, True)
    not_clicked = np.ones_like(gt)
    not_clicked[4, 4] = False
    second = next_click(gt, np.zeros_like(gt), not_clicked)
    assert (second.y, second.x) != (4, 4) and second.positive
    assert (second.y, second.x) == (3, 3)  # distance-3 ring; first in row-major order


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_matches_exact_euclidean_distance(seed):
    rng = np.random.default_rng(seed)
    gt = ndimage.binary_opening(rng.random((24, 31)) < 0.6)
    pred = ndimage.binary_opening(rng.random((24, 31)) < 0.4)
    click = next_click(gt, pred)
    fn = ndimage.distance_transform_edt(np.pad(gt & ~pred, 1))[1:-1, 1:-1]
    fp = ndimage.distance_transform_edt(np.pad(~gt & pred, 1))[1:-1, 1:-1]
    if abs(fn.max() - fp.max()) > 1e-4:
        assert click.positive == (fn.max() > fp.max())
    chosen = fn if click.positive else fp
    assert chosen[click.y, click.x] == pytest.approx(chosen.max(), abs=1e-4)


class ScriptedPredictor:
    """Returns a fixed sequence of masks, one per click, and records what it was given."""

    threshold = 0.49

    def __init__(self, masks):
        self.masks, self.calls = masks, []

    def set_image(self, image):
        self.calls.clear()

    def predict(self, clicks, prev_prob=None):
        self.calls.append((list(clicks), prev_prob))
        return self.masks[min(len(clicks), len(self.masks)) - 1].astype(np.float32)


def _sample(gt, name="s"):
    return Sample(name, np.zeros((*gt.shape, 3), np.uint8), gt)


def test_noc_stops_at_target_and_feeds_back_previous_probability():
    gt = np.zeros((20, 20), bool)
    gt[5:15, 5:15] = True
    half = gt.copy()
    half[5:15, 10:15] = False  # IoU 0.5
    almost = gt.copy()
    almost[5, 5:15] = False  # IoU 0.9 exactly
    predictor = ScriptedPredictor([half, almost, gt])
    report = evaluate_clicks(predictor, [_sample(gt)], max_clicks=20)
    (result,) = report.results
    assert result.ious == [0.5, 0.9]
    assert report.summary()["NoC@85"] == 2 and report.summary()["NoC@90"] == 2
    assert predictor.calls[0][1] is None
    np.testing.assert_array_equal(predictor.calls[1][1], half.astype(np.float32))


def test_threshold_never_reached_counts_max_clicks():
    gt = np.zeros((20, 20), bool)
    gt[5:15, 5:15] = True
    report = evaluate_clicks(ScriptedPredictor([np.zeros_like(gt)]), [_sample(gt)], max_clicks=7)
    summary = report.summary()
    assert len(report.results[0].ious) == 7
    assert summary["NoC@90"] == 7 and summary["NoC@85"] == 7
    assert summary["NoC@90>=7"] == 1
    assert summary["mIoU@k"]["5"] == 0.0 and "10" not in summary["mIoU@k"]


def test_the_mask_is_prob_above_the_predictor_threshold():
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True
    prob = np.where(gt, 0.495, 0.485).astype(np.float32)

    class Const:
        threshold = 0.49  # RITM's, as every occseg predictor

        def set_image(self, image):
            pass

        def predict(self, clicks, prev_prob=None):
            return prob

    assert evaluate_clicks(Const(), [_sample(gt)]).results[0].ious == [1.0]
    Const.threshold = 0.48  # everything is object
    (result,) = evaluate_clicks(Const(), [_sample(gt)], max_clicks=1).results
    assert result.ious == [0.36]
    (result,) = evaluate_clicks(Const(), [_sample(gt)], max_clicks=1, pred_thr=0.49).results
    assert result.ious == [1.0]  # an explicit threshold still wins


def test_summary_counts_and_carry_forward():
    results = [
        SampleResult("a", [0.5, 0.86, 0.91], [], 0.3),
        SampleResult("b", [0.2] * 20, [], 0.2),
    ]
    report = ClickReport(results, max_clicks=20)
    s = report.summary()
    assert s["NoC@85"] == pytest.approx((2 + 20) / 2)
    assert s["NoC@90"] == pytest.approx((3 + 20) / 2)
    assert s["NoC@90>=20"] == 1
    assert s["mIoU@k"]["1"] == pytest.approx(0.35)
    assert s["mIoU@k"]["20"] == pytest.approx((0.91 + 0.2) / 2)  # 'a' carried forward
    assert s["seconds_per_click"] == pytest.approx(0.5 / 23)


def test_all_clicks_mode_runs_every_click():
    gt = np.zeros((20, 20), bool)
    gt[5:15, 5:15] = True
    report = evaluate_clicks(ScriptedPredictor([gt]), [_sample(gt)], max_clicks=5, target_iou=None)
    assert report.results[0].ious == [1.0] * 5
    assert report.summary()["NoC@90"] == 1


def test_exact_ties_are_repeatable_and_negative():
    # Mirror-image FN and FP regions: equal maxima at an irrational distance (sqrt of an integer),
    # where float32 transforms round differently from call to call. The tie must give a negative
    # click at the same pixel every time.
    yy, xx = np.mgrid[0:40, 0:80]
    blob = (yy - 20) ** 2 + (xx - 20) ** 2 <= 37
    clicks = {next_click(blob, np.fliplr(blob)) for _ in range(30)}
    assert len(clicks) == 1
    (click,) = clicks
    assert not click.positive and click.x >= 40


def test_parse_options_types_and_errors():
    from occseg.errors import ConfigError
    from occseg.eval.click_run import parse_options

    got = parse_options(["refine=hybrid", "flip=false", "refine.weight=2.5", "zoom-in=True", "n=3"])
    assert got == {
        "refine": "hybrid",
        "flip": False,
        "refine_options": {"weight": 2.5},
        "zoom_in": True,
        "n": 3,
    }
    assert parse_options(["refine.band=None"]) == {"refine_options": {"band": None}}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_options(["refine"])
