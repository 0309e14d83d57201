"""COCOA reader on tiny hand-made fixtures (per-image and data-set JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from occseg.data.cocoa import list_cocoa_folder, read_cocoa_dataset, read_cocoa_image
from occseg.errors import DatasetError, FileFormatError
from occseg.io.coco import mask_to_rle


def square(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


REGIONS = [
    {"segmentation": square(4, 2, 12, 10), "order": 1, "name": "cup", "isStuff": False},
    {"segmentation": square(0, 0, 8, 8), "order": 2, "name": "book", "isStuff": False},
    {"segmentation": [square(14, 0, 19, 4)], "order": 3, "name": "wall", "isStuff": True},
]


def test_per_image_json_visible_masks_and_inferred_order(tmp_path):
    (tmp_path / "7.json").write_text(json.dumps({"height": 12, "width": 20, "regions": REGIONS}))
    (tmp_path / "junk.txt").write_text("x")
    assert list_cocoa_folder(tmp_path) == [tmp_path / "7.json"]
    s = read_cocoa_image(tmp_path / "7.json")
    assert s.name == "7" and s.image_path == tmp_path / "7.jpg"
    assert s.pairs == [(1, 2)]  # cup (order 1) overlaps and hides the book
    assert s.instances[5, 6] == 1 and s.instances[1, 1] == 2 and s.instances[2, 16] == 3
    assert s.classes == {1: 0, 2: 0, 3: 1}
    assert s.amodal[2][5, 6] and s.names[1] == "cup"
    seg = s.to_segmentation()
    assert seg.edges == [(1, 2)] and seg.ids == [1, 2, 3]


def test_dataset_json_with_depth_constraint_and_visible_mask(tmp_path):
    vis = np.zeros((12, 20), bool)
    vis[0:2, 0:2] = True  # explicit visible mask of the book
    regions = [dict(r) for r in REGIONS]
    regions[1]["visible_mask"] = mask_to_rle(vis)
    data = {
        "images": [{"id": 5, "file_name": "a.jpg", "height": 12, "width": 20}],
        "annotations": [{"image_id": 5, "regions": regions, "depth_constraint": "1-2,2-3"}],
    }
    path = tmp_path / "cocoa.json"
    path.write_text(json.dumps(data))
    (s,) = read_cocoa_dataset(path, tmp_path)
    assert s.name == "a" and s.image_path == tmp_path / "a.jpg"
    assert s.pairs == [(1, 2), (2, 3)]
    assert (s.instances == 2).sum() == 4


def test_bad_inputs(tmp_path):
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(FileFormatError):
        read_cocoa_image(tmp_path / "x.json")
    (tmp_path / "y.json").write_text(json.dumps({"regions": REGIONS}))
    with pytest.raises(DatasetError, match="size"):
        read_cocoa_image(tmp_path / "y.json")
    (tmp_path / "z.json").write_text(
        json.dumps({"height": 4, "width": 4, "regions": REGIONS, "depth_constraint": "1-9"})
    )
    with pytest.raises(FileFormatError, match="unknown regions"):
        read_cocoa_image(tmp_path / "z.json")
    with pytest.raises(DatasetError):
        list_cocoa_folder(tmp_path / "missing")


def test_cocoa_size_field_is_the_region_count_not_the_image_size(tmp_path):
    """The COCOA files say "size": <number of regions> (an int); the image gives the size."""
    from PIL import Image

    Image.new("RGB", (20, 12)).save(tmp_path / "7.jpg")
    entry = {"image_id": 7, "size": len(REGIONS), "regions": REGIONS}
    (tmp_path / "7.json").write_text(json.dumps(entry))
    s = read_cocoa_image(tmp_path / "7.json")
    assert s.instances.shape == (12, 20) and s.pairs == [(1, 2)]
