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
        "proposals": False,
    }
    r = client.post(f"{URL}/clicks", json={"version": 0, "y": 10, "x": 10, "kind": "boundary"})
    assert r.status_code == 422 and "first click inside the object" in r.json()["detail"]
    client.post(f"{URL}/clicks", json={"version": 0, "y": 10, "x": 10})  # selects
    body = {"version": 1, "y": 10, "x": 12, "object_id": 1, "kind": "boundary"}
    assert client.post(f"{URL}/clicks", json=body).status_code == 200
    assert predictor.seen == [Click(10, 10, True), BoundaryClick(10, 12)]
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


def test_automatic_order_adds_to_the_manual_order_and_is_undoable(make_client, stubs):
    client = make_client(stubs.BoxPredictor(), Extensions(order=stubs.AreaOrder()))
    v = 0

    def post(path, **body):
        nonlocal v
        r = client.post(f"{URL}/{path}", json={"version": v, **body})
        assert r.status_code == 200, r.text
        v += 1
        return r.json()

    # areas: object 1 two 7×7 squares, object 2 one, object 3 three; the stub puts small in front
    post("clicks", y=10, x=10)
    post("clicks", y=10, x=30, object_id=1)
    post("clicks", y=40, x=10)
    for x in (40, 55, 70):
        post("clicks", y=50, x=x, object_id=None if x == 40 else 3)
    manual = post("order", action="add", front=1, back=2)["doc"]["order"]
    assert manual["edges"] == [[1, 2]] and manual["can_undo"]
    auto = post("order/auto")
    assert auto["added"] == 2  # (2, 1) contradicts the manual pair: not added, not flipped
    assert auto["doc"]["order"]["edges"] == [[1, 2], [2, 3], [1, 3]]
    assert post("order/auto")["added"] == 0  # nothing left open
    assert post("order/undo")["doc"]["order"]["edges"] == [[1, 2]]  # the automatic pairs
    post("order", action="clear")
    assert post("order/undo")["doc"]["order"]["edges"] == [[1, 2]]  # a clear, undone
    after = post("order/undo")["doc"]["order"]
    assert after["edges"] == [] and not after["can_undo"]
    r = client.post(f"{URL}/order/undo", json={"version": v})
    assert r.status_code == 422 and "no order change" in r.json()["detail"]


def test_order_undo_leaves_out_deleted_objects(make_client, stubs):
    client = make_client(stubs.BoxPredictor())
    for v, (y, x) in enumerate([(10, 10), (40, 40), (10, 60)]):
        client.post(f"{URL}/clicks", json={"version": v, "y": y, "x": x})
    client.post(f"{URL}/order", json={"version": 3, "action": "add", "front": 1, "back": 2})
    client.post(f"{URL}/order", json={"version": 4, "action": "add", "front": 3, "back": 2})
    client.delete(f"{URL}/objects/1", params={"version": 5})
    r = client.post(f"{URL}/order/undo", json={"version": 6})
    assert r.status_code == 200 and r.json()["doc"]["order"]["edges"] == []
