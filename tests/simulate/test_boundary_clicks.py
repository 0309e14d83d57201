"""The boundary-click user of Two-in-One refinement (paper ``002``, Sec. 3.3, Eq. 5)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.distances import distance_to_outside
from occseg.eval.clicks import next_click
from occseg.simulate import InteractionSimulator, make_simulator
from occseg.simulate.boundary_clicks import (
    BOUNDARY_JITTER,
    MIN_REGION_PERCENT,
    REFINEMENT_CLICKS,
    SELECTION_JITTER,
    BoundaryClickSimulator,
    boundary_click,
    error_components,
    mask_boundary,
    selection_click,
)
from occseg.types import BoundaryClick, Click


def _finger() -> tuple[np.ndarray, np.ndarray]:
    """A body with a pointed finger on top; the prediction misses the finger."""
    gt = np.zeros((50, 70), bool)
    gt[20:40, 10:60] = True  # body
    gt[6:20, 30:33] = True  # finger, 3 wide ...
    gt[5, 31] = True  # ... with a pointed tip
    pred = gt.copy()
    pred[:20] = False
    return gt, pred


def test_paper_constants() -> None:
    assert (SELECTION_JITTER, BOUNDARY_JITTER) == (25.0, 10.0)
    assert MIN_REGION_PERCENT == (1.0, 5.0) and REFINEMENT_CLICKS == (2, 4)


def test_false_negative_click_is_the_directed_hausdorff_point() -> None:
    gt, pred = _finger()
    (region,) = error_components(gt, pred)
    assert region.false_negative and region.size == 14 * 3 + 1
    # The tip is 15 pixels from the predicted boundary under the finger (row 20); every other
    # boundary pixel of the finger is closer.
    assert boundary_click(gt, pred, region) == BoundaryClick(5, 31)
    # ... which is not the interior-most pixel that the standard (positive/negative) user takes
    standard = next_click(gt, pred)
    assert standard.positive and (standard.y, standard.x) != (5, 31)


def test_false_positive_click_is_the_min_min_point() -> None:
    gt = np.zeros((50, 70), bool)
    gt[20:40, 10:50] = True
    pred = gt.copy()
    pred[14:20, 25:35] = True  # a bump on the top edge
    (region,) = error_components(gt, pred)
    assert not region.false_negative
    # B = the object's top edge under the bump (row 20, columns 25..34); its pixels nearest to
    # the bump's outline are the two ends (distance 1): the first in row-major order.
    assert boundary_click(gt, pred, region) == BoundaryClick(20, 25)


def test_detached_false_positive_clicks_the_nearest_object_boundary() -> None:
    gt = np.zeros((50, 70), bool)
    gt[20:40, 10:50] = True
    pred = gt.copy()
    pred[2:6, 60:64] = True  # a blob far from the object: no object boundary outlines it
    (region,) = error_components(gt, pred)
    assert boundary_click(gt, pred, region) == BoundaryClick(20, 49)


def test_hole_inside_the_object_cannot_be_clicked() -> None:
    gt = np.zeros((40, 40), bool)
    gt[5:35, 5:35] = True
    pred = gt.copy()
    pred[15:20, 15:20] = False  # missed pixels with no object boundary near them
    (region,) = error_components(gt, pred)
    assert boundary_click(gt, pred, region) is None
    assert BoundaryClickSimulator.evaluation().next(gt, pred, np.random.default_rng(0)) == []


def _brute_force(gt: np.ndarray, pred: np.ndarray, region: np.ndarray, fn: bool) -> BoundaryClick:
    """Eq. 5 with explicit point sets (regions that touch both boundaries)."""
    near = region.copy()
    near[1:] |= region[:-1]
    near[:-1] |= region[1:]
    near[:, 1:] |= region[:, :-1]
    near[:, :-1] |= region[:, 1:]
    b = np.argwhere(mask_boundary(gt) & near)
    pi = np.argwhere(mask_boundary(pred) & near)
    d = np.sqrt(((b[:, None, :] - pi[None, :, :]) ** 2).sum(-1)).min(1)
    i = int(np.argmax(d) if fn else np.argmin(d))  # argwhere is row-major: first extreme
    return BoundaryClick(int(b[i, 0]), int(b[i, 1]))


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_random_shapes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:48, :56]
    gt = (yy - 24) ** 2 / 15**2 + (xx - 28) ** 2 / 20**2 <= 1
    pred = np.zeros_like(gt)
    for _ in range(4):
        cy, cx, r = rng.uniform(12, 36), rng.uniform(12, 44), rng.uniform(6, 14)
        pred |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    checked = 0
    for region in error_components(gt, pred):
        near_gt = (mask_boundary(gt) & region.mask).any() or not region.false_negative
        click = boundary_click(gt, pred, region)
        if click is None:
            assert not near_gt
            continue
        try:
            expected = _brute_force(gt, pred, region.mask, region.false_negative)
        except ValueError:  # an empty set: the documented fallbacks apply
            continue
        assert click == expected
        checked += 1
    assert checked > 0


def test_selection_click_is_the_protocols_first_click() -> None:
    gt, _ = _finger()
    ignore = np.zeros_like(gt)
    ignore[30:40, 40:60] = True
    for ig in (None, ignore):
        first = BoundaryClickSimulator.evaluation().first(gt, np.random.default_rng(0), ignore=ig)
        assert first == [next_click(gt, np.zeros_like(gt), ignore=ig)]
        assert first == [selection_click(gt, ig)]
    assert selection_click(np.zeros((4, 4), bool)) is None


def test_evaluation_is_deterministic_and_draws_nothing() -> None:
    gt = np.zeros((60, 60), bool)
    gt[10:50, 10:50] = True
    pred = gt.copy()
    pred[10:30, 40:50] = False  # large false negative (200 px)
    pred[50:55, 20:30] = True  # smaller false positive (50 px)
    user = BoundaryClickSimulator.evaluation()
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    clicks = user.next(gt, pred, rng)
    assert rng.bit_generator.state == state  # no random number drawn
    assert clicks == user.next(gt, pred, np.random.default_rng(123))
    (click,) = clicks  # one click per step ...
    largest = error_components(gt, pred)[0]
    assert largest.false_negative and largest.size == 200
    assert click == boundary_click(gt, pred, largest)  # ... on the largest error region
    assert gt[click.y, click.x] and mask_boundary(gt)[click.y, click.x]
    assert user.first(gt, rng) == user.first(gt, np.random.default_rng(7))


def test_training_clicks_are_displaced_within_bounds() -> None:
    gt = np.zeros((64, 80), bool)
    gt[0:40, 0:30] = True  # touches the image border: displaced clicks must stay inside
    gt[20:30, 30:70] = True
    pred = np.zeros_like(gt)
    pred[0:40, 0:30] = True
    pred[40:44, 0:10] = True  # a false positive (40 px)
    pred[22:30, 30:50] = True  # the arm is partly missed: false negatives
    exact = BoundaryClickSimulator(
        selection_jitter=0, boundary_jitter=0, min_region_percent=(0, 0), clicks=(4, 4)
    )
    user = BoundaryClickSimulator(min_region_percent=(0, 0), clicks=(4, 4))
    centre = exact.first(gt, np.random.default_rng(0))[0]
    anchors = exact.next(gt, pred, np.random.default_rng(0))
    assert len(anchors) >= 2
    moved = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        (sel,) = user.first(gt, rng)
        assert isinstance(sel, Click) and sel.positive and gt[sel.y, sel.x]
        assert (sel.y - centre.y) ** 2 + (sel.x - centre.x) ** 2 <= 25**2
        clicks = user.next(gt, pred, rng)
        assert len(clicks) == len(anchors)
        for c, a in zip(clicks, anchors, strict=True):
            assert isinstance(c, BoundaryClick)
            assert 0 <= c.y < 64 and 0 <= c.x < 80
            assert (c.y - a.y) ** 2 + (c.x - a.x) ** 2 <= 10**2
            moved += c != a
    assert moved > 0


def test_the_pnr_user_clicks_each_region_centrally_with_its_sign() -> None:
    """``signed=True``: the PNR variant's user (Sec. 4) clicks the deepest pixel of each chosen
    error region, positive in a miss and negative in a false alarm; displaced, it stays there."""
    gt = np.zeros((60, 80), bool)
    gt[10:50, 10:40] = True
    pred = np.zeros_like(gt)
    pred[10:50, 10:25] = True  # misses columns 25-39: a 40×15 false negative
    pred[20:30, 50:70] = True  # a detached 10×20 false positive
    exact = BoundaryClickSimulator(boundary_jitter=0, min_region_percent=(0, 0), signed=True)
    clicks = exact.next(gt, pred, np.random.default_rng(0))
    assert [type(c) for c in clicks] == [Click, Click]
    miss, alarm = clicks
    assert miss.positive and (miss.y, miss.x) == (17, 32)  # the first deepest pixel of the miss
    assert not alarm.positive and (alarm.y, alarm.x) == (24, 54)
    user = BoundaryClickSimulator(min_region_percent=(0, 0), signed=True)
    fn, fp = gt & ~pred, pred & ~gt
    for seed in range(20):
        for c in user.next(gt, pred, np.random.default_rng(seed)):
            assert (fn if c.positive else fp)[c.y, c.x]


def test_training_click_count_and_small_regions() -> None:
    gt = np.zeros((60, 60), bool)
    gt[5:55, 5:55] = True  # 2500 px
    pred = gt.copy()
    pred[5:20, 5:15] = False  # 150 px = 6 %: kept for every m in [1, 5] %
    pred[40:55, 45:55] = False  # 150 px
    pred[5:20, 45:55] = False  # 150 px
    pred[45:50, 5:10] = False  # 25 px = 1 %
    pred[30, 55:57] = True  # 2 px
    counts = set()
    for seed in range(30):
        clicks = BoundaryClickSimulator().next(gt, pred, np.random.default_rng(seed))
        counts.add(len(clicks))
        assert 2 <= len(clicks) <= 3  # k in [2, 4], but only three regions are large enough
    assert counts == {2, 3}
    strict = BoundaryClickSimulator(min_region_percent=(2, 2), boundary_jitter=0, clicks=(4, 4))
    clicks = strict.next(gt, pred, np.random.default_rng(0))
    assert len(clicks) == 3  # the 25-px and 2-px regions are under 2 % of the object
    assert not any(45 <= c.y < 50 and 5 <= c.x < 10 for c in clicks)


def test_plugs_into_make_simulator() -> None:
    user = make_simulator("boundary_clicks", clicks=(2, 3))
    assert isinstance(user, BoundaryClickSimulator) and isinstance(user, InteractionSimulator)
    assert user.clicks == (2, 3)
    with pytest.raises(ValueError, match="clicks"):
        BoundaryClickSimulator(clicks=(3, 2))


def test_ignored_pixels_are_not_clicked() -> None:
    gt, pred = _finger()
    ignore = np.zeros_like(gt)
    ignore[5, 31] = True  # the tip
    (region,) = error_components(gt, pred, ignore)
    click = boundary_click(gt, pred, region, ignore)
    assert click is not None and not ignore[click.y, click.x]
    assert distance_to_outside(gt)[click.y, click.x] == 1  # still on the object boundary


def test_prediction_without_boundary_still_clicks_the_object_boundary() -> None:
    gt = np.zeros((30, 30), bool)
    gt[10:20, 10:20] = True
    for pred in (np.ones_like(gt), np.zeros_like(gt)):  # no predicted boundary at all
        (region,) = error_components(gt, pred)
        click = boundary_click(gt, pred, region)
        assert click == BoundaryClick(10, 10)  # every distance is infinite: the first pixel of B
