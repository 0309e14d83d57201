"""The crop around the selected object (Two-in-One Sec. 4.2) always holds the selection click."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.errors import ConfigError, InteractionError
from occseg.selection_crop import CROP_THRESHOLD, DEFAULT_PAD, CropRule, selection_box
from occseg.types import BoundaryClick, Click


def _check(box: tuple[int, int, int, int], shape: tuple[int, int], click: Click) -> None:
    y0, y1, x0, x1 = box
    assert 0 <= y0 <= click.y < y1 <= shape[0]
    assert 0 <= x0 <= click.x < x1 <= shape[1]


def test_threshold_is_the_papers() -> None:
    assert CROP_THRESHOLD == 0.001
    prob = np.zeros((40, 40), np.float32)
    prob[5, 30] = 0.001  # not above the threshold
    prob[20, 10] = 0.0011
    assert selection_box(prob, Click(20, 10, True), pad=0) == (20, 21, 10, 11)
    prob[5, 30] = 0.0011
    assert selection_box(prob, Click(20, 10, True), pad=0) == (5, 21, 10, 31)


def test_box_of_the_probability_padded_and_clipped() -> None:
    prob = np.zeros((100, 120), np.float32)
    prob[30:60, 2:50] = 0.7
    assert selection_box(prob, Click(40, 20, True), pad=10) == (20, 70, 0, 60)
    # relative padding: 10 % of the 30-row, 48-column box
    assert selection_box(prob, Click(40, 20, True), pad=0, relative_pad=0.1) == (27, 63, 0, 55)


def test_click_outside_the_probability_extends_the_box() -> None:
    prob = np.zeros((50, 50))
    prob[10:20, 10:20] = 1.0
    assert selection_box(prob, Click(40, 45, False), pad=2) == (8, 43, 8, 48)


def test_the_box_stretches_to_hold_the_boundary_clicks() -> None:
    prob = np.zeros((100, 100))
    prob[40:50, 40:50] = 0.9
    points = [BoundaryClick(10, 45), BoundaryClick(45, 90)]
    assert selection_box(prob, Click(45, 45, True), pad=3, points=points) == (7, 53, 37, 94)
    # relative padding counts the stretched box: 0.1 × 40 rows, 0.1 × 51 columns
    box = selection_box(prob, Click(45, 45, True), pad=0, relative_pad=0.1, points=points)
    assert box == (6, 54, 35, 96)


def test_crop_rule_defaults_are_the_papers_and_checkpoints_name_theirs() -> None:
    assert CropRule() == CropRule(CROP_THRESHOLD, DEFAULT_PAD, 0.0)
    assert CropRule.from_train_config({}) == CropRule()
    rule = CropRule.from_train_config({"crop_threshold": 0.5, "crop_relative_pad": 0.25})
    assert rule == CropRule(0.5, DEFAULT_PAD, 0.25)
    prob = np.zeros((100, 100))
    prob[40:60, 20:60] = 0.3  # passes the paper's threshold, not 0.5
    prob[45:55, 30:50] = 0.8
    click = Click(50, 40, True)
    # prob > 0.5: rows 45-55, columns 30-50; padded by 20 + 0.25 × 10 (rounded to 2) rows and
    # 20 + 0.25 × 20 columns
    assert rule.box(prob, click) == (23, 77, 5, 75)
    assert CropRule().box(prob, click) == (20, 80, 0, 80)  # the paper's keeps the 0.3 too
    for bad in ({"crop_threshold": 1.0}, {"crop_pad": -1}, {"crop_relative_pad": -0.1}):
        with pytest.raises(ConfigError):
            CropRule.from_train_config(bad)


def test_random_maps_always_hold_the_click() -> None:
    rng = np.random.default_rng(0)
    for trial in range(300):
        h, w = (int(v) for v in rng.integers(1, 60, size=2))
        prob = rng.random((h, w)) * (rng.random((h, w)) < rng.random() * 0.05)
        if trial % 3 == 0:
            prob[:] = 0.0  # empty selection: the box is the padded click
        click = Click(int(rng.integers(h)), int(rng.integers(w)), True)
        pad, relative = int(rng.integers(0, 30)), float(rng.random())
        box = selection_box(prob, click, pad=pad, relative_pad=relative)
        _check(box, (h, w), click)
        y0, y1, x0, x1 = box
        inside = np.zeros((h, w), bool)
        inside[y0:y1, x0:x1] = True
        assert not (prob > CROP_THRESHOLD)[~inside].any()  # the whole selection is kept
        if not (prob > CROP_THRESHOLD).any():
            pad += round(relative)  # relative to the 1-pixel box of the click
            assert box == (
                max(0, click.y - pad),
                min(h, click.y + 1 + pad),
                max(0, click.x - pad),
                min(w, click.x + 1 + pad),
            )


def test_errors() -> None:
    with pytest.raises(InteractionError, match="outside"):
        selection_box(np.zeros((5, 5)), Click(5, 0, True))
    with pytest.raises(ConfigError, match="non-negative"):
        selection_box(np.zeros((5, 5)), Click(1, 1, True), pad=-1)
