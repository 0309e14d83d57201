"""The proposals layer: region proposals per image, adopting one as an object, then clicks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from occseg.app import Extensions
from occseg.app.proposals import DEFAULT_K, RegionProposals
from occseg.cli import main
from occseg.io.coco import mask_to_rle, rle_to_mask
from occseg.types import Click

URL = "/api/images/scene.png"
SHAPE = (60, 80)


def _client(make_client, predictor=None, **options):
    """A server with a proposals layer (colour features unless ``options`` say otherwise)."""
    layer = RegionProposals(**{"features": "colour", **options})
    return make_client(predictor, Extensions(proposals=layer))


def _full(proposal: dict, shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """A proposal's grid region at the image's size: pixel (y, x) lies in patch
    (y · rows // H, x · cols // W)."""
    grid = rle_to_mask(proposal["mask"])
    rows, cols = grid.shape
    h, w = shape
    return grid[np.ix_(np.arange(h) * rows // h, np.arange(w) * cols // w)]


def _inside(mask: np.ndarray) -> tuple[int, int]:
    """The pixel of ``mask`` farthest from its outline."""
    depth = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(np.argmax(depth), depth.shape)
    return int(y), int(x)


def _box(box) -> np.ndarray:
    m = np.zeros(SHAPE, bool)
    m[box[0] : box[1], box[2] : box[3]] = True
    return m


def _adopt(client, version: int, rank: int = 1, **extra) -> tuple[np.ndarray, dict]:
    """Adopt proposal ``rank`` at its innermost pixel; returns its mask and the reply."""
    items = client.get(f"{URL}/proposals").json()["proposals"]
    mask = _full(items[rank - 1])
    y, x = _inside(mask)
    body = {"version": version, "rank": rank, "y": y, "x": x, **extra}
    r = client.post(f"{URL}/proposals/adopt", json=body)
    assert r.status_code == 200, r.text
    return mask, r.json()


def test_the_layer_serves_ranked_proposals_once_per_image(make_client, monkeypatch):
    from occseg.proposals import propose

    shapes = []
    real = propose.image_tree

    def counted(image, **options):
        shapes.append(image.shape)
        return real(image, **options)

    monkeypatch.setattr(propose, "image_tree", counted)
    client = _client(make_client)
    assert client.get("/api/info").json()["capabilities"]["proposals"] is True
    r = client.get(f"{URL}/proposals")
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["image"], data["width"], data["height"]) == ("scene.png", 80, 60)
    assert data["features"] == "colour"
    items = data["proposals"]
    assert 1 <= len(items) <= DEFAULT_K
    assert [p["rank"] for p in items] == list(range(1, len(items) + 1))
    scores = [p["score"] for p in items]
    assert scores == sorted(scores, reverse=True)
    for p in items:
        grid = rle_to_mask(p["mask"])
        assert list(grid.shape) == data["grid"]
        assert p["area"] == pytest.approx(grid.mean(), abs=1e-6) and p["area"] >= 0.05
    assert client.get(f"{URL}/proposals").json() == data  # cached: not computed again
    assert client.get("/api/images/flipped.png/proposals").status_code == 200
    assert shapes == [(60, 80, 3), (60, 80, 3)]


def test_a_proposal_is_adopted_as_a_new_object(make_client, tmp_path):
    client = _client(make_client)
    mask, body = _adopt(client, 0, label="cup")
    obj = body["doc"]["objects"][0]
    y, x = _inside(mask)
    assert body["object_id"] == obj["id"] == 1 and body["doc"]["version"] == 1
    assert (rle_to_mask(obj["mask"]) == mask).all() and obj["area"] == mask.sum() > 0
    assert obj["clicks"] == [{"y": y, "x": x, "positive": True, "kind": "mask"}]
    assert obj["label"] == "cup" and "cup" in client.get("/api/info").json()["classes"]
    saved = json.loads((tmp_path / "out" / "annotations" / "scene.png.json").read_text())
    step = {"y": y, "x": x, "positive": True, "kind": "mask", "rle": mask_to_rle(mask)["counts"]}
    assert saved["objects"][0]["steps"] == [step]


def test_undo_redo_reload_then_clicks_refine_the_adopted_mask(make_client, stubs, boxes):
    client = _client(make_client, stubs.RefinePredictor())
    adopted, _ = _adopt(client, 0)
    obj = client.post(f"{URL}/undo", json={"version": 1, "object_id": 1}).json()["doc"]
    obj = obj["objects"][0]
    assert obj["mask"] is None and obj["area"] == 0 and obj["can_redo"]
    obj = client.post(f"{URL}/redo", json={"version": 2, "object_id": 1}).json()["doc"]
    assert (rle_to_mask(obj["objects"][0]["mask"]) == adopted).all()

    model = stubs.RefinePredictor()  # a restart: the document is read from disk
    client = _client(make_client, model)
    doc = client.get(f"{URL}/annotation").json()
    assert (rle_to_mask(doc["objects"][0]["mask"]) == adopted).all()
    blue = _box(boxes["blue"])
    body = {"version": 3, "object_id": 1, "y": 40, "x": 60, "positive": True}
    r = client.post(f"{URL}/clicks", json=body)
    assert r.status_code == 200, r.text
    refined = adopted | blue  # the stub adds the clicked region to the previous mask
    assert (rle_to_mask(r.json()["doc"]["objects"][0]["mask"]) == refined).all()
    [(clicks, prev)] = model.calls  # the adopted mask is the model's previous mask
    assert clicks == (Click(40, 60, True),) and np.array_equal(prev, adopted.astype(np.float32))

    model = stubs.RefinePredictor()  # another restart: the click is replayed after the mask
    client = _client(make_client, model)
    body = {"version": 4, "object_id": 1, "y": 20, "x": 25, "positive": False}
    r = client.post(f"{URL}/clicks", json=body)
    assert r.status_code == 200, r.text
    red = _box(boxes["red"]) & ~blue
    assert (rle_to_mask(r.json()["doc"]["objects"][0]["mask"]) == refined & ~red).all()
    first, second = Click(40, 60, True), Click(20, 25, False)
    assert [clicks for clicks, _ in model.calls] == [(first,), (first, second)]
    assert np.array_equal(model.calls[0][1], adopted.astype(np.float32))
    assert np.array_equal(model.calls[1][1], refined.astype(np.float32))
    for version in (5, 6):
        r = client.post(f"{URL}/undo", json={"version": version, "object_id": 1})
    assert (rle_to_mask(r.json()["doc"]["objects"][0]["mask"]) == adopted).all()
    assert len(model.calls) == 2  # undo needs no model


def test_export_includes_adopted_objects(make_client, tmp_path):
    client = _client(make_client)
    adopted, _ = _adopt(client, 0, label="cup")
    assert main(["export", "coco", "--project", str(tmp_path / "out")]) == 0
    coco = json.loads((tmp_path / "out" / "export" / "coco.json").read_text())
    [ann] = coco["annotations"]
    assert (rle_to_mask(ann["segmentation"]) == adopted).all() and ann["area"] == adopted.sum()
    assert [c["name"] for c in coco["categories"]] == ["cup"]


def test_bad_proposal_requests_are_one_line_errors_that_change_nothing(make_client, tmp_path):
    client = _client(make_client)
    r = client.get("/api/images/nope.png/proposals")
    assert r.status_code == 404 and "nope.png" in r.json()["detail"]
    adopted, _ = _adopt(client, 0)
    items = client.get(f"{URL}/proposals").json()["proposals"]
    y, x = _inside(adopted)
    oy, ox = _inside(~adopted)
    path = tmp_path / "out" / "annotations" / "scene.png.json"
    saved = path.read_bytes()
    cases = [
        ({"version": 0, "rank": 1, "y": y, "x": x}, 409, "changed elsewhere"),
        ({"version": 1, "rank": 99, "y": y, "x": x}, 422, f"has {len(items)} proposals"),
        ({"version": 1, "rank": 0, "y": y, "x": x}, 422, "rank"),
        ({"version": 1, "rank": 1, "y": oy, "x": ox}, 422, "not inside proposal 1"),
        ({"version": 1, "rank": 1, "y": 60, "x": 5}, 422, "outside the 80×60 image"),
        ({"version": 1, "rank": 1, "y": y, "x": x, "mask": "x"}, 422, "mask"),
        ({"version": 1, "rank": 1}, 422, "y"),
    ]
    for body, status, words in cases:
        r = client.post(f"{URL}/proposals/adopt", json=body)
        detail = r.json()["detail"]
        assert r.status_code == status and words in detail and "\n" not in detail, (body, detail)
    body = {"version": 1, "rank": 1, "y": y, "x": x}
    r = client.post("/api/images/nope.png/proposals/adopt", json=body)
    assert r.status_code == 404 and "nope.png" in r.json()["detail"]
    assert path.read_bytes() == saved

    plain = make_client()  # a server without the layer says so
    assert plain.get("/api/info").json()["capabilities"]["proposals"] is False
    for r in (plain.get(f"{URL}/proposals"), plain.post(f"{URL}/proposals/adopt", json=body)):
        assert r.status_code == 409 and "no proposals layer" in r.json()["detail"]
    assert path.read_bytes() == saved


def test_a_boundary_click_model_first_selects_the_adopted_object(make_client, stubs):
    model = stubs.EdgePredictor()
    client = _client(make_client, model)
    adopted, _ = _adopt(client, 0)
    y, x = _inside(adopted)
    body = {"version": 1, "object_id": 1, "y": y, "x": x, "kind": "boundary"}
    r = client.post(f"{URL}/clicks", json=body)
    assert r.status_code == 422 and "first click inside the object" in r.json()["detail"]
    r = client.post(f"{URL}/clicks", json={**body, "kind": "click"})
    assert r.status_code == 200, r.text
    [(clicks, prev)] = model.calls
    assert clicks == (Click(y, x, True),) and np.array_equal(prev, adopted.astype(np.float32))
    r = client.post(f"{URL}/clicks", json={**body, "version": 2, "x": x + 3})
    assert r.status_code == 200, r.text
    kinds = [c["kind"] for c in r.json()["doc"]["objects"][0]["clicks"]]
    assert kinds == ["mask", "click", "boundary"]


def test_the_features_see_the_image_at_most_max_side_long(make_client):
    client = _client(make_client, max_side=40)  # 60×80 → 30×40 → a 4×5 grid at stride 8
    assert client.get(f"{URL}/proposals").json()["grid"] == [4, 5]
    adopted, body = _adopt(client, 0)
    assert adopted.shape == SHAPE and adopted.any()
    assert (rle_to_mask(body["doc"]["objects"][0]["mask"]) == adopted).all()
    assert RegionProposals(max_side=4000).max_side == 640  # never above `occseg proposals`'


def test_the_default_layer_uses_imagenet_efficientnet_features(make_client):
    client = make_client(None, Extensions(proposals=RegionProposals()))
    data = client.get(f"{URL}/proposals").json()
    assert data["features"] == "efficientnet" and len(data["proposals"]) >= 1
    adopted, _ = _adopt(client, 0)
    assert adopted.any()
