"""BSDS500: cell-of-structs .mat ground truth, one sample per (annotator, region)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from occseg.data import (
    list_bsds500,
    open_bsds500,
    open_bsds500_objects,
    open_dataset,
    read_bsds_ground_truth,
)
from occseg.errors import ConfigError, DatasetError, FileFormatError

H, W = 10, 20


def _segmentations() -> list[np.ndarray]:
    a = np.ones((H, W), np.uint16)  # annotator 0: regions 1 (120 px), 2 (79 px), 3 (1 px)
    a[6:, :] = 2
    a[9, 9] = 3
    b = np.ones((H, W), np.uint16)  # annotator 1: one region (whole image)
    return [a, b]


def _boundaries(seg: np.ndarray) -> np.ndarray:
    edge = np.zeros(seg.shape, np.uint8)
    edge[:-1] |= seg[:-1] != seg[1:]
    edge[:, :-1] |= seg[:, :-1] != seg[:, 1:]
    return edge


def _write_gt(path: Path, segs: list[np.ndarray]) -> None:
    # As in the BSDS500 release: groundTruth is a 1×K cell whose entries are 1×1 structs.
    cell = np.empty((1, len(segs)), object)
    for k, seg in enumerate(segs):
        cell[0, k] = {"Segmentation": seg, "Boundaries": _boundaries(seg)}
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"groundTruth": cell})


def _bsds(root: Path, fx, split: str = "test", names=("2018", "3096")) -> None:
    for i, name in enumerate(names):
        fx.save(root / "images" / split / f"{name}.jpg", fx.rgb(H, W, i))
        _write_gt(root / "groundTruth" / split / f"{name}.mat", _segmentations())
    (root / "images" / split / "Thumbs.db").write_bytes(b"x")


def test_fixture_nesting_matches_the_release(tmp_path):
    # The real files load as a (1, K) object array of (1, 1) structured arrays whose fields
    # are (1, 1) object arrays holding the maps; check the fixture matches that nesting.
    _write_gt(tmp_path / "x.mat", _segmentations())
    gt = scipy.io.loadmat(tmp_path / "x.mat")["groundTruth"]
    assert gt.shape == (1, 2) and gt.dtype == object
    assert gt[0, 0].shape == (1, 1) and gt[0, 0].dtype.names == ("Segmentation", "Boundaries")
    assert gt[0, 0]["Segmentation"][0, 0].dtype == np.uint16


def test_read_ground_truth(tmp_path):
    _write_gt(tmp_path / "x.mat", _segmentations())
    segs, bnds = read_bsds_ground_truth(tmp_path / "x.mat")
    assert len(segs) == len(bnds) == 2
    assert all(s.shape == (H, W) and s.dtype == np.int32 for s in segs)
    assert all(b.dtype == bool for b in bnds)
    assert np.array_equal(segs[0], _segmentations()[0])
    assert bnds[0][5].all() and not bnds[1].any()


def test_open_bsds500_regions(tmp_path, fx):
    _bsds(tmp_path, fx)
    ds = open_bsds500(tmp_path)
    assert ds.name == "bsds500-test"
    # per image: annotator 0 keeps regions 1, 2 (region 3: 1 px < 1 % = 2 px); annotator 1 keeps 1
    assert ds.names == [f"{n}_{r}" for n in ("2018", "3096") for r in ("a0_r1", "a0_r2", "a1_r1")]
    s = ds[1]
    assert s.image.shape == (H, W, 3) and s.ignore is None
    assert np.array_equal(s.mask, _segmentations()[0] == 2)
    assert ds.refs[1].annotator == 0 and ds.refs[1].instance_id == 2
    assert ds[2].mask.all()
    assert len(open_bsds500(tmp_path, min_area_fraction=0.0)) == 8
    assert len(open_bsds500(tmp_path, min_area_fraction=0.5)) == 4


def test_one_annotator_largest_regions(tmp_path, fx):
    _bsds(tmp_path, fx)
    one = open_bsds500(tmp_path, annotator=0, largest=1, min_area_fraction=0.0)
    assert one.names == ["2018_a0_r1", "3096_a0_r1"]  # region 1 (120 px) beats 2 (79 px)
    two = open_bsds500(tmp_path, annotator=0, largest=2, min_area_fraction=0.0)
    assert two.names == [f"{n}_a0_r{r}" for n in ("2018", "3096") for r in (1, 2)]
    assert open_bsds500(tmp_path, annotator=7).names[0] == "2018_a1_r1"  # last annotator
    with pytest.raises(ConfigError):
        open_bsds500(tmp_path, largest=0)


def test_bsds500_objects_is_the_second_development_set(tmp_path, fx):
    _bsds(tmp_path, fx)
    ds = open_dataset(f"bsds500_objects:{tmp_path}")
    assert ds.name == "bsds500-objects-test"
    assert ds.names == [f"{n}_a0_r{r}" for n in ("2018", "3096") for r in (1, 2)]
    assert np.array_equal(ds[1].mask, _segmentations()[0] == 2)
    assert open_bsds500_objects(tmp_path, largest=1).names == ["2018_a0_r1", "3096_a0_r1"]


def test_list_bsds500(tmp_path, fx):
    _bsds(tmp_path, fx, split="val", names=("1",))
    pairs = list_bsds500(tmp_path, "val")
    assert [(i.name, m.name) for i, m in pairs] == [("1.jpg", "1.mat")]


def test_bsds500_errors(tmp_path, fx):
    _bsds(tmp_path, fx)
    with pytest.raises(DatasetError, match=r"images/train"):
        open_bsds500(tmp_path, split="train")
    with pytest.raises(ConfigError, match="min_area_fraction"):
        open_bsds500(tmp_path, min_area_fraction=1.5)
    (tmp_path / "groundTruth" / "test" / "3096.mat").unlink()
    with pytest.raises(DatasetError, match=r"3096\.mat"):
        open_bsds500(tmp_path)
    scipy.io.savemat(tmp_path / "groundTruth" / "test" / "3096.mat", {"other": np.zeros(2)})
    with pytest.raises(FileFormatError, match="groundTruth"):
        open_bsds500(tmp_path)
    cell = np.empty((1, 1), object)
    cell[0, 0] = {"Segmentation": np.ones((H, W), np.uint16)}
    scipy.io.savemat(tmp_path / "groundTruth" / "test" / "3096.mat", {"groundTruth": cell})
    with pytest.raises(FileFormatError, match="Boundaries"):
        open_bsds500(tmp_path)


def test_bsds500_size_mismatch(tmp_path, fx):
    _bsds(tmp_path, fx, names=("1",))
    fx.save(tmp_path / "images" / "test" / "1.jpg", fx.rgb(H + 2, W))
    from occseg.errors import MaskError

    with pytest.raises(MaskError):
        open_bsds500(tmp_path)[0]


def test_real_bsds500_file_when_present():
    path = Path(__file__).resolve().parents[3] / "shared/data/bsds500/groundTruth/test/100007.mat"
    if not path.is_file():
        pytest.skip("shared BSDS500 data not present")
    segs, bnds = read_bsds_ground_truth(path)
    assert len(segs) == 5 and segs[0].shape == (321, 481) and bnds[0].any()
