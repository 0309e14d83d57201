"""The app drives a Session: the protocol's masks, fed-back probabilities, models off the lock."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np

from occseg.classical import GraphCutPredictor
from occseg.io.coco import rle_to_mask
from occseg.predict.transforms import ZoomIn, with_transforms
from occseg.types import Click

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

URL = "/api/images/scene.png"


def _click(client, version, y, x, positive=True, object_id=None):
    body = {"version": version, "y": y, "x": x, "positive": positive, "object_id": object_id}
    return client.post(f"{URL}/clicks", json=body)


class Soft:
    """Stub: 0.45 on a 10×10 square around the first click, 0.2 elsewhere; records prev_prob."""

    threshold = 0.4

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]
        self.prevs: list = []

    def predict(self, clicks, prev_prob=None) -> np.ndarray:
        self.prevs.append(prev_prob)
        prob = np.full(self.shape, 0.2, np.float32)
        c = clicks[0]
        prob[max(0, c.y - 5) : c.y + 5, max(0, c.x - 5) : c.x + 5] = 0.45
        prob[0, 0] = 0.01 * len(clicks)  # tells the clicks apart
        return prob


def test_the_probability_is_fed_back_and_the_predictor_threshold_makes_the_mask(make_client):
    soft = Soft()
    client = make_client(soft)
    obj = _click(client, 0, 30, 30).json()["doc"]["objects"][0]
    assert rle_to_mask(obj["mask"]).sum() == 100  # 0.45 > 0.4 (it would be empty at 0.5)
    _click(client, 1, 5, 5, positive=False, object_id=1)
    first, second = soft.prevs
    assert first is None
    assert second.dtype == np.float32 and second[0, 0] == np.float32(0.01)  # not a binary mask
    assert set(np.unique(second)) == {np.float32(v) for v in (0.01, 0.2, 0.45)}


def _protocol(predictor, image, clicks) -> list[np.ndarray]:
    """The click protocol's masks for one object: probability fed back, ``> threshold``."""
    predictor.set_image(image)
    masks, prob = [], None
    for k in range(len(clicks)):
        prob = predictor.predict(clicks[: k + 1], prev_prob=prob)
        masks.append(prob > predictor.threshold)
    return masks


def _zooming():
    return with_transforms(GraphCutPredictor(), [ZoomIn(target_size=40, min_crop=16)])


def test_the_app_gives_the_masks_of_the_protocol_even_after_a_restart(make_client):
    from tests.app.conftest import scene

    red = [Click(30, 30, True), Click(16, 22, True), Click(44, 48, False), Click(20, 45, True)]
    blue = [Click(40, 65, True), Click(28, 50, True), Click(54, 46, True), Click(50, 75, False)]
    want_red, want_blue = _protocol(_zooming(), scene(), red), _protocol(_zooming(), scene(), blue)
    client, version = make_client(_zooming()), 0
    for k in range(4):
        if k == 2:
            client = make_client(_zooming())  # a restart: the app replays the clicks
        for object_id, clicks, want in ((1, red, want_red), (2, blue, want_blue)):
            c = clicks[k]
            r = _click(client, version, c.y, c.x, c.positive, None if k == 0 else object_id)
            assert r.status_code == 200, r.text
            version += 1
            obj = r.json()["doc"]["objects"][object_id - 1]
            np.testing.assert_array_equal(rle_to_mask(obj["mask"]), want[k])
    # undo then the same click again: the same mask (the session kept the probabilities)
    client.post(f"{URL}/undo", json={"version": version, "object_id": 1})
    r = _click(client, version + 1, red[3].y, red[3].x, True, 1)
    np.testing.assert_array_equal(rle_to_mask(r.json()["doc"]["objects"][0]["mask"]), want_red[3])


class Gate(GraphCutPredictor):
    """The graph cut, held inside ``predict`` until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def predict(self, clicks, prev_prob=None):
        self.inside.set()
        assert self.release.wait(20)
        return super().predict(clicks, prev_prob)


def test_inference_runs_outside_the_project_lock(make_client):
    gate = Gate()
    client = make_client(gate)
    other = TestClient(client.app, base_url="http://127.0.0.1")
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=_click(client, 0, 30, 30)))
    worker.start()
    try:
        assert gate.inside.wait(20)
        start = time.monotonic()
        assert other.get(f"{URL}/version").json() == {"version": 0}  # not behind the model
        assert other.get("/api/images").status_code == 200
        r = other.patch("/api/images/flipped.png/objects/1", json={"version": 0, "label": "a"})
        assert r.status_code == 404  # a change of another image is not held up either
        assert time.monotonic() - start < 5
    finally:
        gate.release.set()
        worker.join(30)
    assert result["r"].status_code == 200 and result["r"].json()["doc"]["version"] == 1


def test_a_change_made_during_inference_wins_over_the_late_result(make_client):
    gate = Gate()
    client = make_client(gate)
    gate.release.set()
    assert _click(client, 0, 30, 30).status_code == 200
    gate.release.clear()
    gate.inside.clear()
    other = TestClient(client.app, base_url="http://127.0.0.1")
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(r=_click(client, 1, 40, 65, object_id=1))
    )
    worker.start()
    try:
        assert gate.inside.wait(20)
        r = other.patch(f"{URL}/objects/1", json={"version": 1, "label": "crate"})
        assert r.status_code == 200
    finally:
        gate.release.set()
        worker.join(30)
    late = result["r"]
    assert late.status_code == 409 and "changed elsewhere" in late.json()["detail"]
    doc = other.get(f"{URL}/annotation").json()
    assert doc["version"] == 2 and len(doc["objects"][0]["clicks"]) == 1
    assert doc["objects"][0]["label"] == "crate"
