"""Test-time transforms (LimitLongestSide, ZoomIn, Flip) worn by any predictor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from occseg.classical import GraphCutPredictor
from occseg.errors import ConfigError, InteractionError
from occseg.predict.transforms import (
    Flip,
    LimitLongestSide,
    TransformedPredictor,
    ZoomIn,
    with_transforms,
)
from occseg.predictor import Predictor, check_clicks
from occseg.types import BoundaryClick, Click


class Recorder:
    """Stub predictor: a 5×5 square around each positive click; records what it is shown."""

    threshold = 0.3
    supports_boundary_clicks = True

    def __init__(self) -> None:
        self.images: list[np.ndarray] = []
        self.calls: list[tuple[list, np.ndarray | None]] = []

    def set_image(self, image: np.ndarray) -> None:
        self.images.append(image)

    def predict(self, clicks: Sequence, prev_prob: np.ndarray | None = None) -> np.ndarray:
        shape = self.images[-1].shape[:2]
        check_clicks(clicks, shape)
        self.calls.append((list(clicks), prev_prob))
        prob = np.zeros(shape, np.float32)
        for c in clicks:
            if getattr(c, "positive", True):
                prob[max(0, c.y - 2) : c.y + 3, max(0, c.x - 2) : c.x + 3] = 1
        return prob


def _scene(h: int = 300, w: int = 400) -> np.ndarray:
    img = np.full((h, w, 3), 20, np.uint8)
    img[60:240, 100:300] = (200, 40, 40)
    return img


def test_wrapped_predictor_keeps_the_protocol() -> None:
    inner = Recorder()
    p = with_transforms(inner, [LimitLongestSide(100), ZoomIn(), Flip()])
    assert isinstance(p, TransformedPredictor) and isinstance(p, Predictor)
    assert p.threshold == 0.3 and p.supports_boundary_clicks
    with pytest.raises(InteractionError, match="set_image"):
        p.predict([Click(1, 1, True)])
    with pytest.raises(InteractionError, match="RGB image"):
        p.set_image(np.zeros((10, 10), np.uint8))
    p.set_image(_scene())
    for outside in (Click(300, 5, True), Click(-1, 5, True), Click(5, 400, False)):
        with pytest.raises(InteractionError, match="outside"):  # not clamped into the view
            p.predict([outside])
    with pytest.raises(InteractionError, match="prev_prob"):
        p.predict([Click(1, 1, True)], prev_prob=np.zeros((100, 75), np.float32))
    with pytest.raises(ConfigError, match="max_side"):
        LimitLongestSide(0)


def test_limit_longest_side_shrinks_once_per_image_and_answers_at_full_size() -> None:
    inner = GraphCutPredictor()
    shown: list[tuple[int, ...]] = []
    original = inner.set_image
    inner.set_image = lambda image: (shown.append(image.shape), original(image))  # type: ignore[method-assign]
    p = with_transforms(inner, [LimitLongestSide(100)])
    p.set_image(_scene())
    assert shown == [(75, 100, 3)]  # the per-image work runs at the small size, at set_image
    prob = p.predict([Click(150, 200, True)], prev_prob=np.zeros((300, 400), np.float32))
    prob = p.predict([Click(150, 200, True), Click(10, 10, False)], prev_prob=prob)
    assert shown == [(75, 100, 3)]  # ... and only once per image
    assert prob.shape == (300, 400) and prob.dtype == np.float32
    truth = np.zeros((300, 400), bool)
    truth[60:240, 100:300] = True
    mask = prob > p.threshold
    assert (mask & truth).sum() / (mask | truth).sum() > 0.95
    # the far corner pixel maps inside the small image
    p.predict([Click(299, 399, False), Click(150, 200, True)])


def test_limit_longest_side_for_the_first_clicks_only() -> None:
    inner = Recorder()
    p = with_transforms(inner, [LimitLongestSide(100, first_clicks=1)])
    image = _scene()
    p.set_image(image)
    first = p.predict([Click(150, 200, True)])
    assert inner.images[-1].shape == (75, 100, 3) and inner.calls[-1][0] == [Click(37, 50, True)]
    clicks = [Click(150, 200, True), Click(10, 10, False)]
    p.predict(clicks, prev_prob=first)
    assert inner.images[-1] is image and inner.calls[-1][0] == clicks  # full size from click 2
    assert inner.calls[-1][1] is first
    p.predict(clicks[:1])  # undone back to one click: small again
    assert inner.images[-1].shape == (75, 100, 3)
    with pytest.raises(ConfigError, match="first_clicks"):
        LimitLongestSide(100, first_clicks=0)


def test_limit_longest_side_passes_small_images_through() -> None:
    inner = Recorder()
    p = with_transforms(inner, [LimitLongestSide(1000)])
    image = _scene()
    p.set_image(image)
    prev = np.full((300, 400), 0.25, np.float32)
    prob = p.predict([Click(150, 200, True)], prev_prob=prev)
    assert inner.images[-1] is image and inner.calls[-1][1] is prev
    assert inner.calls[-1][0] == [Click(150, 200, True)]
    assert prob.sum() == 25


def test_zoom_in_crops_around_the_object_and_pastes_back() -> None:
    inner = Recorder()
    zoom = ZoomIn(target_size=50, min_crop=20, fill=0.125)
    p = with_transforms(inner, [zoom])
    p.set_image(_scene())
    first = p.predict([Click(150, 200, True)])
    assert inner.images[-1].shape == (300, 400, 3) and zoom.get_state() is None
    assert first.sum() == 25  # first click: the whole image, untouched
    prev = np.zeros((300, 400), np.float32)
    prev[100:140, 150:250] = 0.9  # the object so far: 40×100 pixels
    clicks = [Click(120, 200, True), Click(5, 5, False)]  # the negative click is far away
    prob = p.predict(clicks, prev_prob=prev)
    y0, y1, x0, x1 = zoom.get_state()
    assert (y0, y1, x0, x1) == (92, 148, 130, 270)  # the box expanded 1.4×
    assert inner.images[-1].shape == (20, 50, 3)  # resized to a longer side of 50
    seen_clicks, seen_prev = inner.calls[-1]
    assert seen_clicks == [Click(10, 25, True)]  # mapped; the one outside the crop left out
    assert seen_prev is not None and seen_prev.shape == (20, 50)
    assert (prob[:y0] == 0.125).all() and (prob[y1:] == 0.125).all()
    assert prob[120, 200] == 1.0
    # a similar box keeps the crop; restoring a state brings an older crop back
    p.predict([*clicks, Click(121, 201, True)], prev_prob=np.where(prev > 0, 1.0, 0.0))
    assert zoom.get_state() == (y0, y1, x0, x1)
    zoom.set_state(None)
    assert zoom.get_state() is None


def test_zoom_in_lets_a_classical_predictor_work_on_the_crop() -> None:
    p = with_transforms(GraphCutPredictor(), [ZoomIn(target_size=80, min_crop=40)])
    p.set_image(_scene())
    prob = p.predict([Click(150, 200, True)])
    # a negative click outside the later crop must not reach the graph cut as "outside"
    prob = p.predict([Click(150, 200, True), Click(290, 390, False)], prev_prob=prob)
    assert prob.shape == (300, 400) and prob[150, 200] > p.threshold


def test_flip_averages_the_view_and_its_mirror() -> None:
    class Ramp(Recorder):
        """Answers a left-to-right ramp whatever it is shown."""

        def predict(self, clicks, prev_prob=None):
            super().predict(clicks, prev_prob)
            w = self.images[-1].shape[1]
            return np.tile(np.linspace(0, 1, w, dtype=np.float32), (self.images[-1].shape[0], 1))

    inner = Ramp()
    p = with_transforms(inner, [Flip()])
    image = _scene(30, 40)
    p.set_image(image)
    prev = np.zeros((30, 40), np.float32)
    prev[:, :5] = 1
    prob = p.predict([Click(3, 4, True), BoundaryClick(7, 0)], prev_prob=prev)
    np.testing.assert_allclose(prob, 0.5, atol=1e-6)  # ramp + mirrored ramp
    (a, prev_a), (b, prev_b) = inner.calls[-2:]
    assert a == [Click(3, 4, True), BoundaryClick(7, 0)]
    assert b == [Click(3, 35, True), BoundaryClick(7, 39)]
    assert prev_a is prev and np.array_equal(prev_b, prev[:, ::-1])
    assert np.array_equal(inner.images[-1], image[:, ::-1])
    # a mirror-symmetric answer comes back unchanged
    squares = with_transforms(Recorder(), [Flip()])
    squares.set_image(image)
    assert squares.predict([Click(10, 10, True)]).sum() == 25
