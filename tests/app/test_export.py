"""COCO export (RLE, categories, COCOA depth_constraint, PNG maps) and its command line."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from occseg.app.export import export_coco, occlusion_boundaries
from occseg.cli import main
from occseg.errors import DatasetError
from occseg.io.coco import (
    format_depth_constraint,
    mask_to_rle,
    parse_depth_constraint,
    rle_area,
    rle_bbox,
    rle_to_mask,
)

URL = "/api/images/scene.png"


def _annotate(client) -> dict:
    """Two objects on scene.png: red box (1) behind blue box (2); labels box / lid."""
    client.post(f"{URL}/clicks", json={"version": 0, "y": 30, "x": 30})
    client.patch(f"{URL}/objects/1", json={"version": 1, "label": "box", "finished": True})
    client.post(f"{URL}/clicks", json={"version": 2, "y": 40, "x": 65})
    client.patch(f"{URL}/objects/2", json={"version": 3, "label": "lid"})
    client.post(f"{URL}/order", json={"version": 4, "action": "add", "front": 2, "back": 1})
    client.post(f"{URL}/clicks", json={"version": 5, "y": 5, "x": 5})  # object 3 ...
    client.post(f"{URL}/undo", json={"version": 6, "object_id": 3})  # ... left empty: skipped
    return client.get(f"{URL}/annotation").json()


def test_export_is_valid_coco_with_cocoa_order(client, tmp_path):
    doc = _annotate(client)
    result = export_coco(tmp_path / "out")
    assert (result.n_images, result.n_annotations, result.n_categories) == (1, 2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco = COCO(str(result.coco_json))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"box", "lid"}
    (img,) = coco.loadImgs(coco.getImgIds())
    assert (img["file_name"], img["width"], img["height"]) == ("scene.png", 80, 60)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
    # sorted front to back: the lid (in front) is region 1, the box region 2; "1-2" = 1 hides 2
    assert [a["occseg_object_id"] for a in anns] == [2, 1]
    assert [a["order"] for a in anns] == [1, 2]
    assert img["annotation_ids"] == [a["id"] for a in anns]
    assert img["depth_constraint"] == "1-2"
    assert parse_depth_constraint(img["depth_constraint"]) == [(1, 2)]
    assert [a["relative_depth"] for a in anns] == [0, 1]
    by_id = {o["id"]: o for o in doc["objects"]}
    for a in anns:
        m = coco.annToMask(a).astype(bool)
        assert np.array_equal(m, rle_to_mask(by_id[a["occseg_object_id"]]["mask"]))
        assert a["area"] == int(m.sum()) and a["iscrowd"] == 0
        assert coco.loadCats(a["category_id"])[0]["name"] == by_id[a["occseg_object_id"]]["label"]
        png = np.asarray(
            Image.open(tmp_path / "out" / "export" / "masks" / "scene.png" / f"{a['id']}.png")
        )
        assert np.array_equal(png > 0, m)
    inst = np.asarray(Image.open(tmp_path / "out" / "export" / "masks" / "scene.png.png"))
    assert set(np.unique(inst)) <= {0, 1, 2} and (inst == 1).any()
    ob = np.asarray(Image.open(tmp_path / "out" / "export" / "boundaries" / "scene.png.png"))
    assert ob.any()


def test_export_command_line(client, tmp_path, capsys):
    _annotate(client)
    out = tmp_path / "elsewhere"
    assert main(["export", "coco", "--project", str(tmp_path / "out"), "--out", str(out)]) == 0
    assert "2 annotations" in capsys.readouterr().out
    assert json.loads((out / "coco.json").read_text())["images"][0]["depth_constraint"] == "1-2"
    assert main(["export", "coco", "--project", str(tmp_path / "out"), "--finished-only"]) == 0
    assert "1 annotation," in capsys.readouterr().out  # the lid was never finished
    assert main(["export", "coco", "--project", str(tmp_path / "nothing")]) == 2
    assert "not an annotation project" in capsys.readouterr().err


def test_export_refuses_damaged_annotation(client, tmp_path, capsys):
    _annotate(client)
    (tmp_path / "out" / "annotations" / "scene.png.json").write_text("{broken")
    assert main(["export", "coco", "--project", str(tmp_path / "out")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_rle_helpers_round_trip():
    rng = np.random.default_rng(0)
    m = rng.random((37, 23)) > 0.6
    rle = mask_to_rle(m)
    assert isinstance(rle["counts"], str) and rle["size"] == [37, 23]
    assert np.array_equal(rle_to_mask(rle), m) and rle_area(rle) == int(m.sum())
    box = np.zeros((10, 12), bool)
    box[2:5, 3:9] = True
    assert rle_bbox(mask_to_rle(box)) == [3.0, 2.0, 6.0, 3.0]
    uncompressed = {"size": [2, 2], "counts": [1, 2, 1]}
    assert rle_to_mask(uncompressed).tolist() == [[False, True], [True, False]]  # column-major


def test_depth_constraint_strings():
    assert format_depth_constraint([]) == ""
    assert format_depth_constraint([(1, 2), (3, 1)]) == "1-2,3-1"
    assert parse_depth_constraint("") == []
    assert parse_depth_constraint("1-2, 3-1") == [(1, 2), (3, 1)]
    with pytest.raises(ValueError):
        format_depth_constraint([(0, 1)])
    from occseg.errors import FileFormatError

    with pytest.raises(FileFormatError):
        parse_depth_constraint("1-x")


def test_occlusion_boundaries_lie_on_the_front_object():
    front = np.zeros((8, 8), bool)
    front[2:6, 2:6] = True
    back = np.zeros((8, 8), bool)
    back[2:6, 5:8] = True  # overlaps the front object's right column
    ob = occlusion_boundaries(front, back)
    assert ob[2:6, 5].all() and ob.sum() == 4 and not (ob & ~front).any()


def test_export_refuses_missing_or_changed_images(client, tmp_path, images_dir, capsys):
    _annotate(client)
    project = tmp_path / "out"
    saved = json.loads((project / "annotations" / "scene.png.json").read_text())
    assert saved["image_file"]["bytes"] == (images_dir / "scene.png").stat().st_size
    original = (images_dir / "scene.png").read_bytes()
    changed = bytearray(original)
    changed[-20] ^= 0xFF  # same size, other content
    (images_dir / "scene.png").write_bytes(bytes(changed))
    assert main(["export", "coco", "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert "changed since it was annotated" in err and len(err.strip().splitlines()) == 1
    (images_dir / "scene.png").unlink()
    with pytest.raises(DatasetError, match="missing"):
        export_coco(project)
    (images_dir / "scene.png").write_bytes(original)
    assert export_coco(project).n_annotations == 2


def test_documents_made_before_fingerprints_get_one_when_opened(make_client, tmp_path):
    client = make_client()
    _annotate(client)
    path = tmp_path / "out" / "annotations" / "scene.png.json"
    doc = json.loads(path.read_text())
    del doc["image_file"]
    path.write_text(json.dumps(doc))
    assert export_coco(tmp_path / "out").n_annotations == 2  # nothing to compare with yet
    restarted = make_client()
    restarted.patch(f"{URL}/objects/1", json={"version": doc["version"], "label": "crate"})
    assert json.loads(path.read_text())["image_file"]["sha256"]


def test_export_polygons_load_in_pycocotools_and_round_trip(client, tmp_path):
    doc = _annotate(client)
    out = tmp_path / "poly"
    args = ["export", "coco", "--project", str(tmp_path / "out"), "--out", str(out)]
    assert main([*args, "--format", "polygons"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coco = COCO(str(out / "coco.json"))
    by_id = {o["id"]: o for o in doc["objects"]}
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == 2
    for a in anns:
        assert isinstance(a["segmentation"], list) and a["segmentation"]
        assert all(len(ring) >= 6 and len(ring) % 2 == 0 for ring in a["segmentation"])
        truth = rle_to_mask(by_id[a["occseg_object_id"]]["mask"])
        assert np.array_equal(coco.annToMask(a).astype(bool), truth)
