"""Readers with one sample per instance: SBD (.mat) and PASCAL VOC (palette / gray PNGs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from occseg.data import open_pascal_voc, open_sbd
from occseg.data.pascal_voc import read_voc_objects
from occseg.errors import ConfigError, DatasetError, FileFormatError

H, W = 6, 8


def _instances() -> np.ndarray:
    seg = np.zeros((H, W), np.uint8)
    seg[0:2, 0:3] = 1
    seg[3:6, 4:8] = 2
    seg[2, :] = 255  # ignored band
    return seg


# --------------------------------------------------------------------------------------------
# SBD


def _sbd(root: Path, fx, *, train=("a",), val=("b", "c")) -> None:
    for i, name in enumerate(("a", "b", "c")):
        fx.save(root / "img" / f"{name}.jpg", fx.rgb(H, W, i))
        seg = _instances() if name != "c" else np.where(_instances() == 2, 7, 0).astype(np.uint8)
        (root / "inst").mkdir(parents=True, exist_ok=True)
        # GTinst as in the SBD release: a 1×1 struct (Segmentation, Boundaries cell, Categories)
        boundaries = np.empty((2, 1), object)
        boundaries[0, 0] = boundaries[1, 0] = np.zeros((H, W), np.uint8)
        gtinst = {
            "Segmentation": seg,
            "Boundaries": boundaries,
            "Categories": np.array([[15], [3]]),
        }
        scipy.io.savemat(root / "inst" / f"{name}.mat", {"GTinst": gtinst})
    (root / "train.txt").write_text("\n".join(train) + "\n")
    (root / "val.txt").write_text("\n".join(val) + "\n\n")


def test_sbd_one_sample_per_instance(tmp_path, fx):
    _sbd(tmp_path, fx)
    ds = open_sbd(tmp_path)
    assert ds.name == "sbd-val"
    assert ds.names == ["b_1", "b_2", "c_7"]
    assert [r.instance_id for r in ds.refs] == [1, 2, 7]
    s = ds[1]
    assert s.image.shape == (H, W, 3) and s.mask.dtype == bool
    assert np.array_equal(s.mask, _instances() == 2)
    assert s.ignore is not None and np.array_equal(s.ignore, _instances() == 255)
    assert not ds[2].ignore.any()


def test_sbd_split_and_dataset_subfolder(tmp_path, fx):
    _sbd(tmp_path / "dataset", fx)
    ds = open_sbd(tmp_path, split="train")  # the release's parent folder is accepted too
    assert ds.names == ["a_1", "a_2"] and ds.name == "sbd-train"


def test_sbd_layout_errors(tmp_path, fx):
    _sbd(tmp_path, fx, val=("b", "zzz"))
    with pytest.raises(DatasetError, match=r"zzz\.jpg.*val\.txt"):
        open_sbd(tmp_path)
    with pytest.raises(DatasetError, match=r"test\.txt"):
        open_sbd(tmp_path, split="test")
    with pytest.raises(ConfigError):
        open_sbd(tmp_path, split="../x")
    (tmp_path / "inst" / "a.mat").unlink()
    with pytest.raises(DatasetError, match=r"a\.mat"):
        open_sbd(tmp_path, split="train")


def test_sbd_missing_inst_folder(tmp_path, fx):
    fx.save(tmp_path / "img" / "a.jpg", fx.rgb())
    with pytest.raises(DatasetError, match="inst"):
        open_sbd(tmp_path)


def test_sbd_malformed_mat(tmp_path, fx):
    _sbd(tmp_path, fx)
    scipy.io.savemat(tmp_path / "inst" / "b.mat", {"GTcls": {"Segmentation": _instances()}})
    with pytest.raises(FileFormatError, match="GTinst"):
        open_sbd(tmp_path)
    (tmp_path / "inst" / "b.mat").write_bytes(b"garbage")
    with pytest.raises(FileFormatError, match="MATLAB"):
        open_sbd(tmp_path)


# --------------------------------------------------------------------------------------------
# PASCAL VOC


def _voc(root: Path, fx, write_mask) -> None:
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000032\n")
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("")
    fx.save(root / "JPEGImages" / "2007_000032.jpg", fx.rgb(H, W))
    write_mask(root / "SegmentationObject" / "2007_000032.png", _instances())


def test_voc_palette_png(tmp_path, fx):
    _voc(tmp_path, fx, fx.save_palette)
    ds = open_pascal_voc(tmp_path)
    assert ds.name == "pascal_voc-val" and ds.names == ["2007_000032_1", "2007_000032_2"]
    s = ds[0]
    assert np.array_equal(s.mask, _instances() == 1)
    assert s.ignore is not None and np.array_equal(s.ignore, _instances() == 255)
    assert len(open_pascal_voc(tmp_path, split="train")) == 0


def test_voc_colour_png_is_read_as_gray_with_void_220(tmp_path, fx):
    def write_rgb(path: Path, indices: np.ndarray) -> None:
        fx.save(path, fx.voc_palette()[indices])  # a colour PNG, as if re-saved without palette

    _voc(tmp_path, fx, write_rgb)
    labels, void = read_voc_objects(tmp_path / "SegmentationObject" / "2007_000032.png")
    assert set(np.unique(labels).tolist()) == {0, 38, 75, 220}  # 601 gray of the VOC colours
    assert np.array_equal(void, labels == 220)
    ds = open_pascal_voc(tmp_path)
    assert [r.instance_id for r in ds.refs] == [38, 75]
    assert np.array_equal(ds[1].mask, _instances() == 2)
    assert np.array_equal(ds[1].ignore, _instances() == 255)


def test_voc_gray_png_void_220(tmp_path, fx):
    def write_gray(path: Path, indices: np.ndarray) -> None:
        fx.save(path, np.where(indices == 255, 220, indices).astype(np.uint8))

    _voc(tmp_path, fx, write_gray)
    ds = open_pascal_voc(tmp_path)
    assert ds.names == ["2007_000032_1", "2007_000032_2"]
    assert np.array_equal(ds[0].ignore, _instances() == 255)


def test_voc_devkit_parent_and_errors(tmp_path, fx):
    _voc(tmp_path / "VOCdevkit" / "VOC2012", fx, fx.save_palette)
    assert len(open_pascal_voc(tmp_path)) == 2
    with pytest.raises(DatasetError, match=r"ImageSets.*test\.txt"):
        open_pascal_voc(tmp_path, split="test")
    (tmp_path / "VOCdevkit" / "VOC2012" / "SegmentationObject" / "2007_000032.png").unlink()
    with pytest.raises(DatasetError, match=r"2007_000032\.png"):
        open_pascal_voc(tmp_path)
    with pytest.raises(DatasetError, match="JPEGImages"):
        open_pascal_voc(tmp_path / "VOCdevkit")
