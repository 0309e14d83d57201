"""Readers with one mask per image (grabcut, berkeley, davis, coco_mval, folder) and Dataset."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from occseg.data import (
    Dataset,
    open_berkeley,
    open_coco_mval,
    open_davis,
    open_folder,
    open_grabcut,
)
from occseg.errors import DatasetError, ImageReadError, MaskError
from occseg.types import Sample

H, W = 6, 8


def _check_sample(s: Sample, name: str) -> None:
    assert s.name == name
    assert s.image.shape == (H, W, 3) and s.image.dtype == np.uint8
    assert s.mask.shape == (H, W) and s.mask.dtype == bool
    assert s.ignore is None or (s.ignore.shape == (H, W) and s.ignore.dtype == bool)


def _gray_mask(values: dict[tuple[int, int], int]) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    for (y, x), v in values.items():
        m[y, x] = v
    return m


# --------------------------------------------------------------------------------------------
# grabcut


def _grabcut(root: Path, fx, images: str = "data_GT", masks: str = "boundary_GT") -> np.ndarray:
    m = _gray_mask({(0, 0): 255, (0, 1): 128, (0, 2): 64, (0, 3): 129, (5, 7): 1})
    fx.save(root / images / "flower.jpg", fx.rgb(H, W, 1))
    fx.save(root / images / "banana1.bmp", fx.rgb(H, W, 2))
    fx.save(root / masks / "flower.bmp", m)
    fx.save(root / masks / "banana1.bmp", m)
    return m


def test_grabcut_release_layout(tmp_path, fx):
    _grabcut(tmp_path, fx)
    ds = open_grabcut(tmp_path)
    assert isinstance(ds, Dataset) and len(ds) == 2 and ds.name == "grabcut"
    assert ds.names == ["banana1", "flower"]
    s = ds[1]
    _check_sample(s, "flower")
    # > 128 object, == 128 ignore, anything else (incl. 1..127) background
    assert s.mask.sum() == 2 and s.mask[0, 0] and s.mask[0, 3]
    assert s.ignore is not None and s.ignore.sum() == 1 and s.ignore[0, 1]
    assert not s.mask[0, 2] and not s.mask[5, 7]
    assert ds[0].image.shape == (H, W, 3)  # BMP image


def test_grabcut_images_masks_layout(tmp_path, fx):
    _grabcut(tmp_path, fx, "images", "masks")
    assert open_grabcut(tmp_path).names == ["banana1", "flower"]


def test_grabcut_missing_mask_folder(tmp_path, fx):
    fx.save(tmp_path / "data_GT" / "a.jpg", fx.rgb())
    with pytest.raises(DatasetError, match="boundary_GT"):
        open_grabcut(tmp_path)


def test_grabcut_missing_image_folder(tmp_path):
    (tmp_path / "boundary_GT").mkdir()
    with pytest.raises(DatasetError, match="data_GT") as e:
        open_grabcut(tmp_path)
    assert "\n" not in str(e.value) and "layout" in str(e.value)


def test_image_without_mask_is_reported(tmp_path, fx):
    _grabcut(tmp_path, fx)
    fx.save(tmp_path / "data_GT" / "extra.jpg", fx.rgb())
    with pytest.raises(DatasetError, match="extra"):
        open_grabcut(tmp_path)


def test_duplicate_stems_are_reported(tmp_path, fx):
    _grabcut(tmp_path, fx)
    fx.save(tmp_path / "data_GT" / "flower.png", fx.rgb())
    with pytest.raises(DatasetError, match="same name"):
        open_grabcut(tmp_path)


def test_other_files_are_skipped(tmp_path, fx):
    _grabcut(tmp_path, fx)
    (tmp_path / "data_GT" / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "data_GT" / ".hidden.jpg").write_bytes(b"x")
    (tmp_path / "boundary_GT" / "orphan.bmp").write_bytes(b"x")  # masks without image: ignored
    assert len(open_grabcut(tmp_path)) == 2


def test_size_mismatch_raises_mask_error(tmp_path, fx):
    fx.save(tmp_path / "data_GT" / "a.jpg", fx.rgb(H, W))
    fx.save(tmp_path / "boundary_GT" / "a.bmp", np.zeros((H + 1, W), np.uint8))
    ds = open_grabcut(tmp_path)  # opening does not decode
    with pytest.raises(MaskError, match="size"):
        ds[0]


# --------------------------------------------------------------------------------------------
# berkeley, davis, coco_mval


def test_berkeley_any_channel_is_object(tmp_path, fx):
    fx.save(tmp_path / "images" / "a.jpg", fx.rgb())
    colour = np.zeros((H, W, 3), np.uint8)
    colour[1, 1] = (0, 0, 1)  # gray would round to 0; max over channels is 1
    colour[2, 2] = (255, 255, 255)
    fx.save(tmp_path / "masks" / "a.png", colour)
    fx.save(tmp_path / "images" / "b.jpg", fx.rgb())
    fx.save(tmp_path / "masks" / "b.png", _gray_mask({(0, 0): 1, (3, 3): 128}))
    ds = open_berkeley(tmp_path)
    a, b = ds[0], ds[1]
    _check_sample(a, "a")
    assert a.ignore is None
    assert np.argwhere(a.mask).tolist() == [[1, 1], [2, 2]]
    assert np.argwhere(b.mask).tolist() == [[0, 0], [3, 3]]  # 128 is object here: mask > 0


def test_berkeley_wrong_layout(tmp_path, fx):
    fx.save(tmp_path / "img" / "a.jpg", fx.rgb())
    with pytest.raises(DatasetError, match=r"images.*missing.*masks/"):
        open_berkeley(tmp_path)


def test_davis_merges_object_ids(tmp_path, fx):
    fx.save(tmp_path / "img" / "00000.jpg", fx.rgb())
    fx.save(tmp_path / "gt" / "00000.png", _gray_mask({(0, 0): 1, (1, 1): 2, (2, 2): 255}))
    ds = open_davis(tmp_path)
    s = ds[0]
    _check_sample(s, "00000")
    assert s.mask.sum() == 3 and s.ignore is None


def test_davis_wrong_layout(tmp_path, fx):
    fx.save(tmp_path / "img" / "a.jpg", fx.rgb())
    with pytest.raises(DatasetError, match="gt"):
        open_davis(tmp_path)


def test_coco_mval_names_with_spaces_and_threshold(tmp_path, fx):
    fx.save(tmp_path / "img" / "baseball bat00_000000057232.jpg", fx.rgb())
    fx.save(tmp_path / "img" / "tv01_1.jpg", fx.rgb())
    m = _gray_mask({(0, 0): 255, (1, 1): 129, (2, 2): 128, (3, 3): 100})
    fx.save(tmp_path / "gt" / "baseball bat00_000000057232.png", m)
    fx.save(tmp_path / "gt" / "tv01_1.png", m)
    ds = open_coco_mval(tmp_path)
    assert ds.names == ["baseball bat00_000000057232", "tv01_1"]
    s = ds[0]
    _check_sample(s, "baseball bat00_000000057232")
    assert np.argwhere(s.mask).tolist() == [[0, 0], [1, 1]] and s.ignore is None


# --------------------------------------------------------------------------------------------
# folder


def test_folder_single_and_numbered_masks(tmp_path, fx):
    for stem in ("a", "b", "b_1"):
        fx.save(tmp_path / "images" / f"{stem}.png", fx.rgb())
    fx.save(tmp_path / "masks" / "a.png", _gray_mask({(0, 0): 255, (1, 1): 128, (2, 2): 3}))
    fx.save(tmp_path / "masks" / "b_10.png", _gray_mask({(4, 4): 255}))
    fx.save(tmp_path / "masks" / "b_2.png", _gray_mask({(5, 5): 255}))
    fx.save(tmp_path / "masks" / "b_1.png", _gray_mask({(3, 3): 255}))  # image b_1, not b's #1
    ds = open_folder(tmp_path)
    assert ds.names == ["a", "b_2", "b_10", "b_1"]
    assert [r.image_path.stem for r in ds.refs] == ["a", "b", "b", "b_1"]
    a = ds[0]
    _check_sample(a, "a")
    assert np.argwhere(a.mask).tolist() == [[0, 0], [2, 2]]
    assert a.ignore is not None and np.argwhere(a.ignore).tolist() == [[1, 1]]
    assert np.argwhere(ds[1].mask).tolist() == [[5, 5]]


def test_folder_orphan_mask_and_unannotated_image(tmp_path, fx):
    fx.save(tmp_path / "images" / "a.png", fx.rgb())
    fx.save(tmp_path / "masks" / "a.png", _gray_mask({}))
    fx.save(tmp_path / "masks" / "zebra_0.png", _gray_mask({}))
    with pytest.raises(DatasetError, match="zebra_0"):
        open_folder(tmp_path)
    (tmp_path / "masks" / "zebra_0.png").unlink()
    fx.save(tmp_path / "images" / "c.png", fx.rgb())
    with pytest.raises(DatasetError, match=r"c\.png has no mask"):
        open_folder(tmp_path)


def test_folder_empty_images(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        open_folder(tmp_path)


# --------------------------------------------------------------------------------------------
# Dataset behaviour


def test_dataset_is_lazy_sliceable_and_picklable(tmp_path, fx):
    for i in range(4):
        fx.save(tmp_path / "img" / f"im{i}.jpg", fx.rgb(seed=i))
        fx.save(tmp_path / "gt" / f"im{i}.png", _gray_mask({(i, i): 255}))
    (tmp_path / "img" / "im3.jpg").write_bytes(b"not an image")
    ds = open_coco_mval(tmp_path)  # listing only: the broken image is not read yet
    assert len(ds) == 4
    with pytest.raises(ImageReadError):
        ds[3]
    head = ds[:2]
    assert isinstance(head, Dataset) and head.names == ["im0", "im1"]
    assert ds[-2].name == "im2"
    assert ds.subset([2, 0]).names == ["im2", "im0"]
    assert [s.name for s in head] == ["im0", "im1"]
    back = pickle.loads(pickle.dumps(ds))
    assert back.names == ds.names and np.array_equal(back[1].mask, ds[1].mask)
    assert np.argwhere(ds[1].mask).tolist() == [[1, 1]]
    assert "coco_mval" in repr(ds)


def test_real_coco_mval_dev_smoke():
    root = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco_mval_dev"
    if not root.is_dir():
        pytest.skip("shared coco_mval_dev data not present")
    ds = open_coco_mval(root)
    assert len(ds) == 250
    assert any(" " in n for n in ds.names)
    s = ds[0]
    assert s.image.shape[:2] == s.mask.shape and s.mask.any()
