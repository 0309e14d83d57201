"""The app's JSON API: clicks, undo/redo, persistence, versions, order, safety, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from occseg.io.coco import rle_to_mask

URL = "/api/images/scene.png"


def _mask(obj: dict) -> np.ndarray:
    return rle_to_mask(obj["mask"])


def _click(client, version, y, x, positive=True, object_id=None, **extra):
    body = {"version": version, "y": y, "x": x, "positive": positive, "object_id": object_id}
    return client.post(f"{URL}/clicks", json={**body, **extra})


def _box(box) -> np.ndarray:
    m = np.zeros((60, 80), bool)
    m[box[0] : box[1], box[2] : box[3]] = True
    return m


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_info_listing_and_page(client):
    info = client.get("/api/info").json()
    assert info["model"] == "region-stub"
    assert info["capabilities"] == {
        "object": True,
        "order": True,
        "boundary_clicks": False,
        "boundary": False,
        "auto_order": False,
        "proposals": False,
    }
    names = [i["name"] for i in client.get("/api/images").json()["images"]]
    assert names == ["flipped.png", "scene.png"]  # notes.txt is not an image
    page = client.get("/")
    assert page.status_code == 200 and "occseg" in page.text
    assert client.get("/static/main.js").status_code == 200
    image = client.get(f"{URL}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    doc = client.get(f"{URL}/annotation").json()
    assert (doc["version"], doc["objects"], doc["width"], doc["height"]) == (0, [], 80, 60)


def test_clicks_build_an_object_and_report_latency(client, boxes):
    r = _click(client, 0, 30, 30)
    assert r.status_code == 200, r.text
    body = r.json()
    obj = body["doc"]["objects"][0]
    assert body["object_id"] == obj["id"] == 1 and body["doc"]["version"] == 1
    assert body["ms"] >= 0
    assert obj["clicks"] == [{"y": 30, "x": 30, "positive": True, "kind": "click"}]
    assert _iou(_mask(obj), _box(boxes["red"])) > 0.6
    r = _click(client, 1, 5, 5, positive=False, object_id=1)
    obj = r.json()["doc"]["objects"][0]
    assert [c["positive"] for c in obj["clicks"]] == [True, False]
    assert not _mask(obj)[5, 5]
    # a click without object_id starts the next object, with the next colour
    r = _click(client, 2, 40, 65)
    doc = r.json()["doc"]
    assert [o["id"] for o in doc["objects"]] == [1, 2]
    assert doc["objects"][0]["color"] != doc["objects"][1]["color"]
    assert _iou(_mask(doc["objects"][1]), _box(boxes["blue"])) > 0.6


def test_undo_redo_are_exact(client):
    first = _click(client, 0, 30, 30).json()["doc"]["objects"][0]
    second = _click(client, 1, 40, 65, object_id=1).json()["doc"]["objects"][0]
    assert len(second["clicks"]) == 2
    r = client.post(f"{URL}/undo", json={"version": 2, "object_id": 1})
    obj = r.json()["doc"]["objects"][0]
    assert obj["clicks"] == first["clicks"] and obj["mask"] == first["mask"] and obj["can_redo"]
    r = client.post(f"{URL}/redo", json={"version": 3, "object_id": 1})
    obj = r.json()["doc"]["objects"][0]
    assert obj["clicks"] == second["clicks"] and obj["mask"] == second["mask"]
    assert not obj["can_redo"]
    # a new click after an undo forgets the redo list
    client.post(f"{URL}/undo", json={"version": 4, "object_id": 1})
    obj = _click(client, 5, 20, 25, object_id=1).json()["doc"]["objects"][0]
    assert not obj["can_redo"] and len(obj["clicks"]) == 2
    r = client.post(f"{URL}/redo", json={"version": 6, "object_id": 1})
    assert r.status_code == 422 and "nothing to redo" in r.json()["detail"]
    for v in (6, 7):
        assert client.post(f"{URL}/undo", json={"version": v, "object_id": 1}).status_code == 200
    r = client.post(f"{URL}/undo", json={"version": 8, "object_id": 1})
    assert r.status_code == 422 and "nothing to undo" in r.json()["detail"]


def test_every_change_is_saved_and_restored_after_restart(make_client, tmp_path):
    client = make_client()
    _click(client, 0, 30, 30)
    _click(client, 1, 5, 5, positive=False, object_id=1)
    client.patch(f"{URL}/objects/1", json={"version": 2, "label": "box", "finished": True})
    _click(client, 3, 40, 65)
    client.post(f"{URL}/order", json={"version": 4, "action": "add", "front": 2, "back": 1})
    before = client.get(f"{URL}/annotation").json()
    saved = json.loads((tmp_path / "out" / "annotations" / "scene.png.json").read_text())
    assert saved["version"] == 5 == before["version"]
    assert not [p for p in (tmp_path / "out" / "annotations").iterdir() if p.suffix == ".tmp"]

    restarted = make_client()  # a new server process over the same folders
    after = restarted.get(f"{URL}/annotation").json()
    assert after == before
    assert [len(o["clicks"]) for o in after["objects"]] == [2, 1]
    assert after["objects"][0]["label"] == "box" and after["order"]["edges"] == [[2, 1]]
    listing = restarted.get("/api/images").json()["images"]
    assert {i["name"]: i["objects"] for i in listing} == {"flipped.png": 0, "scene.png": 2}
    assert "box" in restarted.get("/api/info").json()["classes"]
    # editing continues from the restored state, with the restored version
    assert _click(restarted, 5, 20, 25, object_id=1).status_code == 200


def test_stale_version_is_refused_with_a_message(client):
    assert _click(client, 0, 30, 30).status_code == 200
    stale = _click(client, 0, 40, 65)  # a second tab still at version 0
    assert stale.status_code == 409
    assert "changed elsewhere" in stale.json()["detail"] and "reload" in stale.json()["detail"]
    for method, path, body in [
        ("POST", "undo", {"version": 0, "object_id": 1}),
        ("PATCH", "objects/1", {"version": 0, "label": "x"}),
        ("POST", "order", {"version": 0, "action": "clear"}),
    ]:
        assert client.request(method, f"{URL}/{path}", json=body).status_code == 409
    assert client.delete(f"{URL}/objects/1", params={"version": 0}).status_code == 409
    doc = client.get(f"{URL}/annotation").json()
    assert doc["version"] == 1 and len(doc["objects"]) == 1  # nothing was overwritten


def test_object_edits_and_delete(client):
    _click(client, 0, 30, 30)
    r = client.patch(
        f"{URL}/objects/1",
        json={"version": 1, "label": "red box", "color": "#00FF00", "visible": False},
    )
    obj = r.json()["doc"]["objects"][0]
    assert (obj["label"], obj["color"], obj["visible"]) == ("red box", "#00ff00", False)
    r = client.patch(f"{URL}/objects/1", json={"version": 2, "finished": True})
    assert r.json()["doc"]["objects"][0]["finished"]
    # selecting a finished object and clicking again continues (and reopens) it
    obj = _click(client, 3, 5, 5, positive=False, object_id=1).json()["doc"]["objects"][0]
    assert len(obj["clicks"]) == 2 and not obj["finished"]
    _click(client, 4, 40, 65)
    client.post(f"{URL}/order", json={"version": 5, "action": "add", "front": 2, "back": 1})
    r = client.delete(f"{URL}/objects/2", params={"version": 6})
    doc = r.json()["doc"]
    assert [o["id"] for o in doc["objects"]] == [1] and doc["order"]["edges"] == []
    assert client.delete(f"{URL}/objects/2", params={"version": 7}).status_code == 404


def test_order_cycles_and_relative_depth(client):
    v = 0
    for y, x in [(30, 30), (40, 65), (5, 5)]:
        _click(client, v, y, x)
        v += 1

    def order(action, front=None, back=None):
        nonlocal v
        r = client.post(
            f"{URL}/order", json={"version": v, "action": action, "front": front, "back": back}
        )
        assert r.status_code == 200, r.text
        v += 1
        return r.json()["doc"]["order"]

    o = order("add", 2, 1)
    assert o["edges"] == [[2, 1]] and o["cycles"] == []
    assert o["depth"] == {"1": 1, "2": 0, "3": 0}
    o = order("add", 1, 3)
    assert o["depth"] == {"1": 1, "2": 0, "3": 2}
    o = order("add", 3, 2)
    assert o["cycles"] == [[1, 2, 3]]
    o = order("add", 2, 3)  # flipping a pair replaces it: the cycle is gone
    assert o["cycles"] == [] and [2, 3] in o["edges"] and [3, 2] not in o["edges"]
    o = order("remove", 3, 2)
    assert sorted(o["edges"]) == [[1, 3], [2, 1]]
    assert order("clear")["edges"] == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/images/..%2Fsecret.png/image", 404),
        ("/api/images/..%2F..%2Fetc%2Fpasswd/annotation", 404),
        ("/api/images/notes.txt/image", 404),
        ("/api/images/%2Fetc%2Fpasswd/image", 404),
        ("/api/images/../secret.png/image", 404),
        ("/static/../server.py", 404),
        ("/static/..%2Fserver.py", 404),
        ("/static/%2e%2e/%2e%2e/project.json", 404),
    ],
)
def test_path_traversal_is_refused(client, path, status):
    r = client.get(path)
    assert r.status_code == status
    assert b"top secret" not in r.content and b"def create_app" not in r.content
    if r.headers.get("content-type", "").startswith("application/json"):
        assert isinstance(r.json()["detail"], str)


def test_symlink_out_of_the_folder_is_not_served(images_dir, make_client):
    link = images_dir / "link.png"
    try:
        link.symlink_to(images_dir.parent / "secret.png")
    except OSError:
        pytest.skip("symlinks unavailable")
    r = make_client().get("/api/images/link.png/image")
    assert r.status_code == 404 and "outside" in r.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("POST", "clicks", b"{not json", 422, "not valid JSON"),
        ("POST", "clicks", b"[1, 2]", 422, "invalid request"),
        ("POST", "clicks", b"", 422, "invalid request"),
        ("POST", "clicks", {"y": 1, "x": 1}, 422, "version"),
        ("POST", "clicks", {"version": 0, "y": "a", "x": 1}, 422, "y"),
        ("POST", "clicks", {"version": -1, "y": 1, "x": 1}, 422, "version"),
        ("POST", "clicks", {"version": 0, "y": 1, "x": 1, "evil": 1}, 422, "evil"),
        ("POST", "clicks", {"version": 0, "y": 60, "x": 1}, 422, "outside"),
        ("POST", "clicks", {"version": 0, "y": -1, "x": 1}, 422, "outside"),
        ("POST", "clicks", {"version": 0, "y": 10**30, "x": 1}, 422, "y"),
        ("POST", "clicks", {"version": 0, "y": 1, "x": 1, "object_id": 99}, 404, "no object"),
        ("POST", "clicks", {"version": 0, "y": 1, "x": 1, "kind": "boundary"}, 409, "boundary"),
        ("POST", "clicks", {"version": 0, "y": 1, "x": 1, "kind": "lasso"}, 422, "kind"),
        ("POST", "undo", {"version": 0}, 422, "object_id"),
        ("POST", "undo", {"version": 0, "object_id": 7}, 404, "no object"),
        ("PATCH", "objects/1", {"version": 1, "color": "red"}, 422, "#rrggbb"),
        ("PATCH", "objects/1", {"version": 1, "label": "  "}, 422, "label"),
        ("PATCH", "objects/1", {"version": 1, "label": "a\nb"}, 422, "label"),
        ("PATCH", "objects/1", {"version": 1}, 422, "nothing to change"),
        ("PATCH", "objects/x", {"version": 1, "label": "a"}, 422, "object_id"),
        ("DELETE", "objects/1", None, 422, "version"),
        ("POST", "order", {"version": 1, "action": "add", "front": 1}, 422, "back"),
        ("POST", "order", {"version": 1, "action": "add", "front": 1, "back": 1}, 422, "itself"),
        ("POST", "order", {"version": 1, "action": "add", "front": 1, "back": 9}, 404, "no object"),
        ("POST", "order", {"version": 1, "action": "remove", "front": 1, "back": 2}, 422, "order"),
        ("POST", "order", {"version": 1, "action": "jump"}, 422, "action"),
        ("POST", "order/auto", {"version": 1}, 409, "order model"),
        ("POST", "scribbles", {"version": 1, "kind": "fn", "points": [[1, 1]]}, 409, "boundary"),
        ("GET", "boundaries.png", None, 409, "boundary"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(client, method, path, body, status, words):
    if path.startswith(("objects/1", "order")) or 'version": 1' in str(body):
        assert _click(client, 0, 30, 30).status_code == 200  # object 1 exists, version 1
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    if isinstance(body, bytes):
        kwargs["headers"] = {"content-type": "application/json"}
    r = client.request(method, f"{URL}/{path}", **({} if body is None else kwargs))
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words.lower() in detail.lower()


def test_oversize_bodies_are_refused(make_client):
    client = make_client(max_body_bytes=1000)
    big = {"version": 0, "y": 1, "x": 1, "label": "x" * 2000}
    r = client.post(f"{URL}/clicks", json=big)
    assert r.status_code == 413 and "larger than 1000 bytes" in r.json()["detail"]

    def chunks():  # no Content-Length: counted while reading
        yield b'{"version": 0, "y": 1, "x": 1, "label": "'
        yield b"x" * 4000
        yield b'"}'

    r = client.post(f"{URL}/clicks", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get(f"{URL}/annotation").json()["version"] == 0


def test_foreign_host_header_is_refused(client):
    assert client.get("/api/info", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/info", headers={"host": "localhost:8765"}).status_code == 200


def test_unknown_routes_answer_json_404(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    assert client.put(f"{URL}/clicks", json={}).status_code == 405


def test_new_object_class_label(client):
    r = _click(client, 0, 30, 30, label="crate")
    assert r.json()["doc"]["objects"][0]["label"] == "crate"
    assert "crate" in client.get("/api/info").json()["classes"]
    r = _click(client, 1, 40, 65, label="bad\u0007label")
    assert r.status_code == 422 and "label" in r.json()["detail"]


def test_deleted_objects_can_be_restored(client):
    _click(client, 0, 30, 30)
    _click(client, 1, 40, 65)
    client.post(f"{URL}/order", json={"version": 2, "action": "add", "front": 2, "back": 1})
    before = client.get(f"{URL}/annotation").json()
    doc = client.delete(f"{URL}/objects/1", params={"version": 3}).json()["doc"]
    assert [o["id"] for o in doc["objects"]] == [2] and doc["trash"] == [
        {"id": 1, "label": "object"}
    ]
    r = client.post(f"{URL}/objects/1/restore", json={"version": 4})
    assert r.status_code == 200 and r.json()["object_id"] == 1
    doc = r.json()["doc"]
    assert doc["objects"] == before["objects"] and doc["order"] == before["order"]
    assert doc["trash"] == []
    r = client.post(f"{URL}/objects/1/restore", json={"version": 5})
    assert r.status_code == 404 and "trash" in r.json()["detail"]


def test_version_endpoint_lets_tabs_notice_changes(client):
    assert client.get(f"{URL}/version").json() == {"version": 0}
    _click(client, 0, 30, 30)
    assert client.get(f"{URL}/version").json() == {"version": 1}
    assert client.get("/api/images/nope.png/version").status_code == 404
