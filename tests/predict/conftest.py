"""Shared fixtures of the predictor tests: a plain object the shipped click models must follow."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from occseg.predict import Predictor
from occseg.types import Click, Sample


@pytest.fixture
def plain_object() -> Sample:
    """An orange ellipse (80×120 px half-axes) on a dark textured floor, 300×400."""
    yy, xx = np.mgrid[:300, :400]
    obj = (yy - 150) ** 2 / 80**2 + (xx - 200) ** 2 / 120**2 < 1
    img = np.random.default_rng(0).integers(20, 90, (300, 400, 3)).astype(np.uint8)
    img[obj] = (200, 140, 60)
    return Sample("ellipse", img, obj)


@pytest.fixture
def one_click_iou(plain_object: Sample) -> Callable[[Predictor], float]:
    """IoU with the plain object of a predictor's mask after one positive click at its centre."""

    def iou(predictor: Predictor) -> float:
        predictor.set_image(plain_object.image)
        mask = predictor.predict([Click(150, 200, True)]) > predictor.threshold
        obj = plain_object.mask
        return float((mask & obj).sum() / (mask | obj).sum())

    return iou
