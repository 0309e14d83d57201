"""Boundary clicks (Two-in-One refinement) in the app: serialisation, the API, restart, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from occseg.app import document as D
from occseg.app import export_coco
from occseg.errors import FileFormatError
from occseg.io.coco import rle_to_mask
from occseg.predict.session import Session
from occseg.predict.transforms import LimitLongestSide, with_transforms
from occseg.types import BoundaryClick, Click

URL = "/api/images/scene.png"


def _click(client, version, y, x, object_id=None, kind="click"):
    body = {"version": version, "y": y, "x": x, "object_id": object_id, "kind": kind}
    return client.post(f"{URL}/clicks", json=body)


def _box(y0, y1, x0, x1) -> np.ndarray:
    m = np.zeros((60, 80), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_a_session_stores_boundary_clicks_distinctly_and_replays_them(stubs):
    from tests.app.conftest import scene

    session = Session(stubs.EdgePredictor(), scene())
    obj = session.add_object()
    clicks = [Click(30, 35, True), BoundaryClick(30, 45), BoundaryClick(20, 35)]
    probs = [session.add_click(obj, c) for c in clicks]
    session.undo(obj)
    data = json.loads(json.dumps(session.to_dict()))  # through JSON, as the project stores it
    steps = data["objects"][0]
    assert [c["kind"] for c in steps["clicks"]] == ["click", "boundary"]
    assert steps["redo"] == [{"y": 20, "x": 35, "positive": True, "kind": "boundary"}]

    fresh = stubs.EdgePredictor()
    restored = Session.from_dict(fresh, scene(), data)
    assert restored.clicks(obj) == tuple(clicks[:2]) and restored.redo_clicks(obj) == (clicks[2],)
    assert isinstance(restored.clicks(obj)[1], BoundaryClick)
    np.testing.assert_array_equal(restored.prob(obj), probs[1])  # replayed, in order
    assert [c for c, _ in fresh.calls] == [tuple(clicks[:1]), tuple(clicks[:2])]
    restored.redo(obj)
    np.testing.assert_array_equal(restored.prob(obj), probs[2])


def test_a_boundary_click_makes_the_mask_follow_the_clicked_boundary(make_client, stubs):
    client = make_client(stubs.EdgePredictor())
    r = _click(client, 0, 30, 30, kind="boundary")  # nothing selected yet
    assert r.status_code == 422
    assert r.json()["detail"].startswith("a boundary click refines a selected object")
    obj = _click(client, 0, 30, 30).json()["doc"]["objects"][0]  # the selection click
    np.testing.assert_array_equal(rle_to_mask(obj["mask"]), _box(26, 35, 26, 35))
    obj = _click(client, 1, 31, 44, object_id=1, kind="boundary").json()["doc"]["objects"][0]
    np.testing.assert_array_equal(rle_to_mask(obj["mask"]), _box(26, 35, 26, 45))
    assert obj["clicks"] == [
        {"y": 30, "x": 30, "positive": True, "kind": "click"},
        {"y": 31, "x": 44, "positive": True, "kind": "boundary"},
    ]
    # undo / redo as for clicks, without the model
    assert client.post(f"{URL}/undo", json={"version": 2, "object_id": 1}).status_code == 200
    r = client.post(f"{URL}/redo", json={"version": 3, "object_id": 1})
    np.testing.assert_array_equal(
        rle_to_mask(r.json()["doc"]["objects"][0]["mask"]), _box(26, 35, 26, 45)
    )
    # undone back to nothing: a boundary click has nothing to refine
    for v in (4, 5):
        client.post(f"{URL}/undo", json={"version": v, "object_id": 1})
    r = _click(client, 6, 31, 44, object_id=1, kind="boundary")
    assert r.status_code == 422 and "first click inside the object" in r.json()["detail"]


def test_boundary_clicks_survive_a_restart_and_are_exported(make_client, stubs, tmp_path):
    client = make_client(stubs.EdgePredictor())
    _click(client, 0, 30, 30)
    _click(client, 1, 30, 42, object_id=1, kind="boundary")
    saved = json.loads((tmp_path / "out" / "annotations" / "scene.png.json").read_text())
    assert [s["kind"] for s in saved["objects"][0]["steps"]] == ["click", "boundary"]

    model = stubs.EdgePredictor()
    client = make_client(model)  # a restart: the stored clicks are replayed on the next click
    r = _click(client, 2, 18, 31, object_id=1, kind="boundary")
    assert r.status_code == 200, r.text
    first, second, third = model.calls
    assert first == ((Click(30, 30, True),), None)
    assert second[0] == (Click(30, 30, True), BoundaryClick(30, 42))
    np.testing.assert_array_equal(second[1], _box(26, 35, 26, 35))  # the replayed probability
    assert third[0][-1] == BoundaryClick(18, 31)
    np.testing.assert_array_equal(third[1], _box(26, 35, 26, 43))
    mask = rle_to_mask(r.json()["doc"]["objects"][0]["mask"])
    np.testing.assert_array_equal(mask, _box(18, 35, 26, 43))

    result = export_coco(tmp_path / "out")
    coco = json.loads(result.coco_json.read_text())
    (ann,) = coco["annotations"]
    assert ann["area"] == int(mask.sum())


def test_a_model_without_boundary_clicks_refuses_to_replay_them(make_client, stubs):
    client = make_client(stubs.EdgePredictor())
    _click(client, 0, 30, 30)
    _click(client, 1, 30, 42, object_id=1, kind="boundary")
    client = make_client(stubs.RegionPredictor())  # restarted with a plain click model
    assert client.get("/api/info").json()["capabilities"]["boundary_clicks"] is False
    r = _click(client, 2, 10, 10, object_id=1)
    detail = r.json()["detail"]
    assert r.status_code == 409 and "made with boundary clicks" in detail
    assert "\n" not in detail
    r = _click(client, 2, 31, 44, object_id=1, kind="boundary")
    assert r.status_code == 409 and "need a model that supports them" in r.json()["detail"]
    # what needs no model still works: undo, and new objects
    assert client.post(f"{URL}/undo", json={"version": 2, "object_id": 1}).status_code == 200
    assert _click(client, 3, 50, 60).status_code == 200


def test_a_stored_click_of_unknown_kind_is_a_file_format_error(make_client, stubs, tmp_path):
    client = make_client(stubs.EdgePredictor())
    _click(client, 0, 30, 30)
    path = tmp_path / "out" / "annotations" / "scene.png.json"
    doc = json.loads(path.read_text())
    doc["objects"][0]["steps"][0]["kind"] = "lasso"
    with pytest.raises(FileFormatError, match="unknown kind 'lasso'"):
        D.validate_document(doc, image="scene.png", height=60, width=80)
    path.write_text(json.dumps(doc))
    r = make_client(stubs.EdgePredictor()).get(f"{URL}/annotation")
    assert r.status_code == 409 and "unknown kind 'lasso'" in r.json()["detail"]


def test_the_two_in_one_predictor_in_the_app(make_client, tmp_path):
    """The real predictor (tiny, untrained), shrunk for the model as `occseg annotate` does."""
    import torch

    from occseg.checkpoint import save_checkpoint
    from occseg.nn.twoinone import TwoInOne, TwoInOneConfig
    from occseg.predict import load_predictor

    torch.manual_seed(0)
    path = tmp_path / "twoinone.pt"
    save_checkpoint(path, TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12)).eval())
    client = make_client(load_predictor(str(path)), max_side=40)
    assert client.get("/api/info").json()["capabilities"]["boundary_clicks"] is True
    assert _click(client, 0, 30, 30).status_code == 200
    r = _click(client, 1, 20, 42, object_id=1, kind="boundary")
    assert r.status_code == 200, r.text
    mask = rle_to_mask(r.json()["doc"]["objects"][0]["mask"])
    r = _click(client, 2, 5, 5, object_id=1)  # a plain click: this model refines on boundaries
    detail = r.json()["detail"]
    assert r.status_code == 422 and "press b" in detail and "\n" not in detail
    client.post(f"{URL}/undo", json={"version": 2, "object_id": 1})
    client.post(f"{URL}/redo", json={"version": 3, "object_id": 1})
    client = make_client(load_predictor(str(path)), max_side=40)  # restart: replayed
    r = _click(client, 4, 40, 20, object_id=1, kind="boundary")
    assert r.status_code == 200, r.text

    from tests.app.conftest import scene

    clicks = [Click(30, 30, True), BoundaryClick(20, 42), BoundaryClick(40, 20)]
    protocol = with_transforms(load_predictor(str(path)), [LimitLongestSide(40)])
    protocol.set_image(scene())
    probs = [protocol.predict(clicks[:1])]
    for k in (2, 3):
        probs.append(protocol.predict(clicks[:k], prev_prob=probs[-1]))
    np.testing.assert_array_equal(mask, probs[1] > protocol.threshold)
    got = rle_to_mask(r.json()["doc"]["objects"][0]["mask"])
    np.testing.assert_array_equal(got, probs[2] > protocol.threshold)
