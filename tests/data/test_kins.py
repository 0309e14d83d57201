"""KINS reader on a tiny COCO-style fixture: visible masks, classes, order from amodal overlap."""

from __future__ import annotations

import json

import numpy as np
import pytest

from occseg.data.kins import infer_order, read_kins
from occseg.errors import FileFormatError
from occseg.io.coco import mask_to_rle


def test_read_kins_infers_order_from_amodal_overlap(tmp_path):
    h, w = 10, 16
    car_a = [0, 0, 9, 0, 9, 8, 0, 8]  # amodal of the back car (x 0-9)
    car_b = [6, 2, 15, 2, 15, 9, 6, 9]  # amodal of the front car (x 6-15)
    vis_a = np.zeros((h, w), bool)
    vis_a[0:8, 0:6] = True  # the part of A not hidden by B (roughly)
    vis_a[0:2, 6:9] = True
    vis_b = np.zeros((h, w), bool)
    vis_b[2:9, 6:15] = True
    data = {
        "images": [{"id": 1, "file_name": "000001.png", "height": h, "width": w}],
        "annotations": [
            {"id": 11, "image_id": 1, "category_id": 4, "segmentation": [car_a],
             "inmodal_seg": mask_to_rle(vis_a)},
            {"id": 12, "image_id": 1, "category_id": 2, "segmentation": [car_b],
             "inmodal_seg": mask_to_rle(vis_b)},
        ],
    }  # fmt: skip
    path = tmp_path / "kins.json"
    path.write_text(json.dumps(data))
    (s,) = read_kins(path, tmp_path)
    assert s.pairs == [(2, 1)]
    assert s.classes == {1: 3, 2: 1}
    assert s.instances[4, 10] == 2 and s.instances[4, 2] == 1 and s.instances[9, 0] == 0
    assert s.image_path == tmp_path / "000001.png"
    assert read_kins(path, limit=1)[0].name == "000001"


def test_infer_order_ignores_disjoint_and_ties():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    b = np.zeros((4, 4), bool)
    b[2:] = True
    assert infer_order({1: a, 2: b}, {1: a, 2: b}) == []
    assert infer_order({1: a, 2: a}, {1: a & False, 2: a & False}) == []


def test_malformed_kins(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"images": [{"id": 1, "height": 2, "width": 2}],
                                "annotations": [{"image_id": 1, "segmentation": []}]}))  # fmt: skip
    with pytest.raises(FileFormatError):
        read_kins(path)
