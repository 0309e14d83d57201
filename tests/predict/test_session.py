"""Session: objects, clicks, fed-back probabilities, undo/redo, serialisation by replay."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from occseg.classical import GraphCutPredictor
from occseg.errors import FileFormatError, InteractionError
from occseg.predict.session import (
    PredictorOutputError,
    Session,
    SharedPredictor,
    StaleProposal,
    interaction_from_dict,
    interaction_to_dict,
)
from occseg.predict.transforms import TransformedPredictor, ZoomIn, with_transforms
from occseg.types import BoundaryClick, Click


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (64, 80, 3), dtype=np.uint8)
    img[10:40, 10:40] = (220, 40, 40)
    img[30:60, 45:75] = (40, 60, 220)
    return img


def _zooming() -> TransformedPredictor:
    """The graph cut wearing zoom-in: its answers depend on the crop kept per object."""
    return with_transforms(GraphCutPredictor(), [ZoomIn(target_size=48, min_crop=16)])


RED = [Click(25, 25, True), Click(5, 5, False), Click(12, 30, True), Click(38, 12, True)]
BLUE = [Click(45, 60, True), Click(62, 78, False), Click(32, 70, True), Click(50, 50, True)]


def _alone(predictor, clicks) -> list[np.ndarray]:
    """The probabilities of the bare protocol: one object, the probability fed back."""
    predictor.set_image(_image())
    probs, prob = [], None
    for k in range(len(clicks)):
        prob = predictor.predict(clicks[: k + 1], prev_prob=prob)
        probs.append(prob)
    return probs


def test_interleaved_objects_give_the_protocol_probabilities() -> None:
    """Two objects clicked in turn get each the probabilities it gets alone (zoom-in crops are
    kept per object)."""
    red, blue = _alone(_zooming(), RED), _alone(_zooming(), BLUE)
    session = Session(_zooming(), _image())
    a, b = session.add_object(), session.add_object()
    for k in range(4):
        np.testing.assert_array_equal(session.add_click(a, RED[k]), red[k])
        np.testing.assert_array_equal(session.add_click(b, BLUE[k]), blue[k])
    assert session.objects == [a, b] and session.clicks(b) == tuple(BLUE)
    assert np.array_equal(session.mask(a), red[-1] > 0.49) and session.threshold == 0.49
    assert session.shared.predictor.transforms[0].get_state() is not None


def test_undo_redo_need_no_model_and_a_new_click_forgets_redo() -> None:
    predictor = _zooming()
    red = _alone(_zooming(), RED)
    session = Session(predictor, _image())
    a = session.add_object()
    for c in RED[:3]:
        session.add_click(a, c)
    calls = []
    predictor.predict = lambda *args, **kw: calls.append(args)  # type: ignore[method-assign]
    session.undo(a)
    session.undo(a)
    assert session.clicks(a) == tuple(RED[:1]) and session.redo_clicks(a) == (RED[2], RED[1])
    np.testing.assert_array_equal(session.prob(a), red[0])
    session.redo(a)
    np.testing.assert_array_equal(session.prob(a), red[1])
    assert calls == []
    del predictor.predict
    session.add_click(a, RED[2])
    assert session.redo_clicks(a) == ()
    with pytest.raises(InteractionError, match="nothing to redo"):
        session.redo(a)
    for _ in range(3):
        session.undo(a)
    assert session.prob(a) is None and not session.mask(a).any()
    with pytest.raises(InteractionError, match="nothing to undo"):
        session.undo(a)
    with pytest.raises(InteractionError, match="no object 9"):
        session.add_click(9, RED[0])


def test_a_restored_session_replays_to_the_same_probabilities() -> None:
    session = Session(_zooming(), _image())
    a, b = session.add_object(), session.add_object()
    for c in RED:
        session.add_click(a, c)
    session.add_click(b, BLUE[0])
    session.undo(a)
    data = session.to_dict()
    assert data["objects"][1]["clicks"] == [{"y": 45, "x": 60, "positive": True, "kind": "click"}]
    restored = Session.from_dict(_zooming(), _image(), data)
    assert restored.to_dict() == data
    assert restored.clicks(a) == tuple(RED[:3]) and restored.redo_clicks(a) == (RED[3],)
    np.testing.assert_array_equal(restored.prob(a), session.prob(a))  # replayed
    restored.redo(a)  # the redone click is computed on demand, with the replayed crop
    session.redo(a)
    np.testing.assert_array_equal(restored.prob(a), session.prob(a))
    np.testing.assert_array_equal(restored.add_click(a, RED[0]), session.add_click(a, RED[0]))
    c = restored.add_object()
    assert c == 3 and restored.objects == [a, b, c]


@pytest.mark.parametrize(
    "data",
    [None, {}, {"objects": [{"id": "x", "clicks": []}]}, {"objects": [{"id": 1}]}],
)
def test_malformed_session_dicts_are_file_format_errors(data) -> None:
    with pytest.raises(FileFormatError):
        Session.from_dict(GraphCutPredictor(), _image(), data)


def test_interaction_dicts() -> None:
    for c in (Click(1, 2, False), BoundaryClick(3, 4)):
        assert interaction_from_dict(interaction_to_dict(c)) == c
    with pytest.raises(FileFormatError, match="kind"):
        interaction_from_dict({"y": 1, "x": 2, "kind": "lasso"})
    with pytest.raises(FileFormatError, match="'y'"):
        interaction_from_dict({"x": 2})


def test_propose_changes_nothing_and_a_stale_proposal_is_refused() -> None:
    session = Session(GraphCutPredictor(), _image())
    a = session.add_object()
    first = session.propose(a, Click(25, 25, True))
    second = session.propose(a, Click(45, 60, True))
    assert session.clicks(a) == () and first.seconds >= 0
    session.commit(first)
    assert session.clicks(a) == (Click(25, 25, True),)
    with pytest.raises(StaleProposal, match="click again"):
        session.commit(second)
    new = session.propose(7, Click(45, 60, True))  # an unknown id: a new object on commit
    session.commit(new)
    assert session.objects == [a, 7] and session.add_object() == 8


def test_shared_predictor_sets_the_image_only_when_it_changes() -> None:
    inner = GraphCutPredictor()
    seen = []
    original = inner.set_image
    inner.set_image = lambda image: (seen.append(image), original(image))  # type: ignore[method-assign]
    shared = SharedPredictor(inner)
    one, two = Session(shared, _image()), Session(shared, _image()[:, ::-1].copy())
    a, b = one.add_object(), two.add_object()
    one.add_click(a, Click(25, 25, True))
    one.add_click(a, Click(5, 5, False))
    assert len(seen) == 1 and seen[0] is one.image
    two.add_click(b, Click(25, 54, True))
    one.prepare()
    assert [s is one.image for s in seen] == [True, False, True]
    np.testing.assert_array_equal(one.mask(a), two.mask(b)[:, ::-1])


def test_shared_predictor_serialises_threads() -> None:
    inside = []

    class Slow(GraphCutPredictor):
        def predict(self, clicks, prev_prob=None):
            inside.append(1)
            assert len(inside) == 1, "two threads inside the model at once"
            threading.Event().wait(0.02)
            inside.pop()
            return super().predict(clicks, prev_prob)

    shared = SharedPredictor(Slow())
    sessions = [Session(shared, _image()) for _ in range(3)]
    errors = []

    def work(s: Session) -> None:
        try:
            s.add_click(s.add_object(), Click(25, 25, True))
        except AssertionError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(s.mask(1).any() for s in sessions)


def test_a_broken_model_is_reported() -> None:
    class Wrong(GraphCutPredictor):
        def predict(self, clicks, prev_prob=None):
            return np.zeros((3, 3), np.float32)

    session = Session(Wrong(), _image())
    with pytest.raises(PredictorOutputError, match="broken"):
        session.add_click(session.add_object(), Click(1, 1, True))
    assert session.clicks(1) == ()


def test_a_memory_budget_drops_probabilities_and_replays_them_exactly() -> None:
    full = Session(_zooming(), _image())
    small = Session(_zooming(), _image(), max_bytes=1)  # keeps only the newest probability
    for s in (full, small):
        a, b = s.add_object(), s.add_object()
        for k in range(4):
            s.add_click(a, RED[k])
            s.add_click(b, BLUE[k])
        s.undo(a)
    np.testing.assert_array_equal(small.prob(a), full.prob(a))  # replayed
    np.testing.assert_array_equal(small.prob(b), full.prob(b))
    small.redo(a)
    full.redo(a)
    np.testing.assert_array_equal(small.prob(a), full.prob(a))
    np.testing.assert_array_equal(small.add_click(b, RED[0]), full.add_click(b, RED[0]))


class _Recorder:
    """A predictor that records what it is given and answers the previous probability + 0.1."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, np.ndarray | None]] = []

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict(self, clicks, prev_prob=None) -> np.ndarray:
        self.calls.append((tuple(clicks), None if prev_prob is None else prev_prob.copy()))
        base = np.zeros(self.shape, np.float32) if prev_prob is None else prev_prob
        return np.clip(base + 0.1, 0, 1).astype(np.float32)


def test_an_adopted_mask_is_the_state_and_later_clicks_refine_it() -> None:
    from occseg.io.coco import mask_to_rle
    from occseg.predict.session import AdoptedMask

    mask = np.zeros((64, 80), bool)
    mask[10:40, 10:40] = True
    rle = mask_to_rle(mask)
    adopted = AdoptedMask(20, 20, rle["counts"], (64, 80))
    model = _Recorder()
    session = Session(model, _image())
    obj = session.add_object()
    np.testing.assert_array_equal(session.add_click(obj, adopted), mask.astype(np.float32))
    assert model.calls == []  # no model call for the adoption
    click = Click(50, 60, True)
    session.add_click(obj, click)
    ((clicks, prev),) = model.calls
    assert clicks == (click,)  # the model sees only the clicks after the adoption ...
    np.testing.assert_array_equal(prev, mask.astype(np.float32))  # ... and the mask fed back
    assert interaction_from_dict(interaction_to_dict(adopted)) == adopted
    wrong = AdoptedMask(1, 1, mask_to_rle(np.ones((4, 4), bool))["counts"], (4, 4))
    with pytest.raises(InteractionError, match="adopted mask"):
        session.add_click(session.add_object(), wrong)
