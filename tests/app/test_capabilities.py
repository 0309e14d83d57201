"""Optional capabilities (boundary clicks, boundary mode, automatic order) and order helpers."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.app import Extensions
from occseg.app.ordering import find_cycles, relative_depth, strongly_connected
from occseg.app.serve import bind, is_loopback
from occseg.errors import ConfigError
from occseg.types import BoundaryClick, Click

URL = "/api/images/scene.png"


def test_capabilities_appear_with_their_models(make_client, stubs):
    predictor, order = stubs.BoxPredictor(), stubs.AreaOrder()
    client = make_client(predictor, Extensions(boundary=stubs.LineBoundaries(), order=order))
    caps = client.get("/api/info").json()["capabilities"]
    assert caps == {
        "object": True,
        "order": True,
        "boundary_clicks": True,
        "boundary": True,
        "auto_order": True,
    }
    r = client.post(f"{URL}/clicks", json={"version": 0, "y": 10, "x": 10, "kind": "boundary"})
    assert r.status_code == 200 and isinstance(predictor.seen[-1], BoundaryClick)
    client.post(f"{URL}/clicks", json={"version": 1, "y": 10, "x": 12, "object_id": 1})
    assert predictor.seen == [BoundaryClick(10, 10), Click(10, 12, True)]
    client.post(f"{URL}/clicks", json={"version": 2, "y": 40, "x": 40})
    r = client.post(
        f"{URL}/scribbles", json={"version": 3, "kind": "fn", "points": [[5, 5], [5, 6]]}
    )
    assert r.status_code == 200 and len(r.json()["doc"]["scribbles"]) == 1
    png = client.get(f"{URL}/boundaries.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    r = client.post(f"{URL}/order/auto", json={"version": 4})
    assert r.status_code == 200, r.text
    assert r.json()["doc"]["order"]["edges"] == [[2, 1]]  # 2 (7×7) is smaller than 1 (7×9)
    assert order.boundaries is not None and order.boundaries.shape == (60, 80)
    r = client.post(f"{URL}/scribbles/undo", json={"version": 5})
    assert r.json()["doc"]["scribbles"] == []
    r = client.post(f"{URL}/scribbles/undo", json={"version": 6})
    assert r.status_code == 422 and "no scribble" in r.json()["detail"]
    r = client.post(f"{URL}/scribbles", json={"version": 6, "kind": "fp", "points": [[99, 5]]})
    assert r.status_code == 422 and "outside" in r.json()["detail"]


def test_a_predictor_can_bring_its_own_extras(make_client, stubs):
    class AllInOne(stubs.BoxPredictor, stubs.LineBoundaries, stubs.AreaOrder):
        pass

    caps = make_client(AllInOne()).get("/api/info").json()["capabilities"]
    assert caps["boundary"] and caps["auto_order"]


def test_broken_model_output_is_reported(make_client, stubs):
    class Wrong(stubs.BoxPredictor):
        def predict(self, clicks, prev_prob=None):
            return np.zeros((3, 3), np.float32)

    client = make_client(Wrong())
    r = client.post(f"{URL}/clicks", json={"version": 0, "y": 10, "x": 10})
    assert r.status_code == 409 and "model" in r.json()["detail"]
    doc = client.get(f"{URL}/annotation").json()
    assert doc["version"] == 0 and doc["objects"] == []  # rolled back


def test_ordering_helpers():
    assert strongly_connected([1, 2, 3], []) == [[1], [2], [3]]
    assert find_cycles([1, 2, 3, 4], [(1, 2), (2, 1), (3, 4)]) == [[1, 2]]
    assert find_cycles([1, 2], [(1, 2), (1, 9)]) == []  # unknown ids are ignored
    assert relative_depth([1, 2, 3], [(1, 2), (2, 1), (2, 3)]) == {1: 0, 2: 0, 3: 1}
    long_chain = [(i, i + 1) for i in range(2000)]  # deep graphs need no recursion
    assert relative_depth(list(range(2001)), long_chain)[2000] == 2000
    assert find_cycles(list(range(2001)), [*long_chain, (2000, 0)]) == [list(range(2001))]


def test_serving_helpers():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match="--port"):
            bind("127.0.0.1", sock.getsockname()[1])
    finally:
        sock.close()


def test_model_crash_is_a_500_with_a_message_and_rolls_back(make_client, stubs):
    from fastapi.testclient import TestClient

    class Crashing(stubs.BoxPredictor):
        def predict(self, clicks, prev_prob=None):
            raise RuntimeError("out of memory")

    client = make_client(Crashing())
    client = TestClient(client.app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    r = client.post(f"{URL}/clicks", json={"version": 0, "y": 10, "x": 10})
    assert r.status_code == 500 and "out of memory" in r.json()["detail"]
    assert client.get(f"{URL}/annotation").json()["objects"] == []


def test_large_images_are_segmented_at_a_bounded_size(stubs):
    from occseg.app.scaling import ScaledPredictor

    img = np.full((300, 400, 3), 20, np.uint8)
    img[60:240, 100:300] = (200, 40, 40)
    inner = stubs.RegionPredictor()
    seen = {}
    original = inner.set_image
    inner.set_image = lambda image: (seen.update(shape=image.shape), original(image))
    p = ScaledPredictor(inner, max_side=100)
    p.set_image(img)
    assert seen["shape"] == (75, 100, 3)
    prob = p.predict([Click(150, 200, True)], prev_prob=np.zeros((300, 400), np.float32))
    assert prob.shape == (300, 400) and prob.dtype == np.float32
    truth = np.zeros((300, 400), bool)
    truth[60:240, 100:300] = True
    iou = ((prob >= 0.5) & truth).sum() / ((prob >= 0.5) | truth).sum()
    assert iou > 0.95
    small = ScaledPredictor(stubs.RegionPredictor(), max_side=1000)  # small images pass through
    small.set_image(img)
    assert np.array_equal(small.predict([Click(150, 200, True)]) >= 0.5, truth)
    assert not p.supports_boundary_clicks
    assert ScaledPredictor(stubs.BoxPredictor(), 100).supports_boundary_clicks


def test_create_app_scales_only_plain_click_models(make_client, stubs):
    class Recording(stubs.RegionPredictor):
        def set_image(self, image):
            self.shape = image.shape[:2]
            super().set_image(image)

    plain = Recording()
    r = make_client(plain, max_side=40).post(f"{URL}/clicks", json={"version": 0, "y": 30, "x": 30})
    assert r.status_code == 200 and r.json()["doc"]["objects"][0]["area"] > 0
    assert plain.shape == (30, 40)  # the 60×80 image, halved for the model

    class AllInOne(stubs.BoxPredictor, stubs.LineBoundaries, stubs.AreaOrder):
        pass

    both = AllInOne()  # also the boundary model: it must see the image at full size
    client = make_client(both, max_side=40)
    # (same project folder as above: the document is at version 1)
    assert client.post(f"{URL}/clicks", json={"version": 1, "y": 30, "x": 30}).status_code == 200
    assert both.shape == (60, 80)
