"""The predictor contract, checked on every method ``load_predictor`` knows.

Whatever a predictor does inside, the evaluator, the app and the CLI rely on the same surface:
``set_image`` then ``predict(clicks, prev_prob)`` returning ``H×W float32`` in [0, 1], a
``threshold`` attribute, deterministic answers, and :class:`InteractionError` for every
mistake a caller can make. A predictor that takes boundary clicks (``supports_boundary_clicks``)
is asked with a selection click and a boundary click; the two-in-one and mask-free (mis) models
are skipped until they are shipped (tests/predict/test_twoinone_predictor.py checks the first with
a tiny checkpoint; mis is a click model like clicknet).
"""

from __future__ import annotations

import numpy as np
import pytest

from occseg.errors import ConfigError, InteractionError
from occseg.predict import available_methods, load_predictor
from occseg.predictor import Predictor
from occseg.types import BoundaryClick, Click


def _load(method: str) -> Predictor:
    """``load_predictor(method)``; skips the two-in-one model until it is shipped."""
    try:
        return load_predictor(method)
    except ConfigError as exc:
        if method == "twoinone" and "not installed" in str(exc):
            pytest.skip(str(exc))
        raise


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A bright disk on a textured dark background, 60×80."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (60, 80, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:60, :80]
    img[(yy - 30) ** 2 + (xx - 40) ** 2 < 15**2] = (220, 200, 40)
    return img


@pytest.fixture(scope="module", params=available_methods())
def predictor(request: pytest.FixtureRequest, image: np.ndarray) -> Predictor:
    p = _load(request.param)
    p.set_image(image)
    return p


@pytest.fixture(scope="module")
def clicks(predictor: Predictor) -> list:
    """A positive click on the object, then a negative click (or a boundary click)."""
    boundary = getattr(predictor, "supports_boundary_clicks", False)
    return [Click(30, 40, True), BoundaryClick(5, 5) if boundary else Click(5, 5, False)]


CLICKS = [Click(30, 40, True), Click(5, 5, False)]


def test_is_a_predictor_with_a_threshold(predictor: Predictor) -> None:
    assert isinstance(predictor, Predictor)
    assert 0.0 < float(predictor.threshold) < 1.0


def test_output_shape_dtype_range(predictor: Predictor, clicks: list) -> None:
    prob = predictor.predict(clicks)
    assert prob.shape == (60, 80) and prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0.0 and prob.max() <= 1.0
    assert prob[30, 40] > predictor.threshold  # the positive click is in the object
    prev = predictor.predict(clicks[:1])
    again = predictor.predict(clicks, prev_prob=prev)
    assert again.shape == (60, 80) and again.dtype == np.float32


def test_deterministic(predictor: Predictor, clicks: list) -> None:
    first = predictor.predict(clicks)
    assert np.array_equal(first, predictor.predict(clicks))


@pytest.mark.parametrize("click", [Click(60, 3, True), Click(3, 80, True), Click(-1, 3, True)])
def test_click_outside_is_an_interaction_error(predictor: Predictor, click: Click) -> None:
    with pytest.raises(InteractionError, match="outside"):
        predictor.predict([click])


def test_prev_prob_of_another_shape_is_an_interaction_error(
    predictor: Predictor, clicks: list
) -> None:
    with pytest.raises(InteractionError, match="prev_prob"):
        predictor.predict(clicks, prev_prob=np.zeros((10, 10), np.float32))


@pytest.mark.parametrize("method", available_methods())
def test_predict_before_set_image_is_an_interaction_error(method: str) -> None:
    with pytest.raises(InteractionError, match="set_image"):
        _load(method).predict(CLICKS)


@pytest.mark.parametrize("method", available_methods())
def test_bad_image_is_an_interaction_error(method: str) -> None:
    with pytest.raises(InteractionError):
        _load(method).set_image(np.zeros((10, 10), np.float64))
