"""Boundary readers: BSDS500 (all annotators), synthetic scenes, PIOD / BSDS ownership, P2ORM."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from occseg.data import BoundarySample, open_boundary_dataset
from occseg.data.p2orm import decode_p2orm_orientation
from occseg.data.piod import read_occlusion_mat
from occseg.errors import ConfigError, DatasetError, FileFormatError, MaskError

H, W = 6, 8


def _rgb(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _edge(col: int) -> np.ndarray:
    e = np.zeros((H, W), bool)
    e[:, col] = True
    return e


# ---------------------------------------------------------------------------------------------
# BSDS500


def _write_bsds(root: Path, name: str = "12003") -> None:
    _save(root / "images" / "test" / f"{name}.jpg", _rgb())
    cell = np.empty((1, 2), object)
    for k, col in enumerate((2, 5)):
        seg = np.ones((H, W), np.uint16)
        seg[:, col + 1 :] = 2
        cell[0, k] = {"Segmentation": seg, "Boundaries": _edge(col).astype(np.uint8)}
    (root / "groundTruth" / "test").mkdir(parents=True)
    scipy.io.savemat(root / "groundTruth" / "test" / f"{name}.mat", {"groundTruth": cell})


def test_bsds500_gives_every_annotator(tmp_path: Path) -> None:
    _write_bsds(tmp_path)
    ds = open_boundary_dataset(f"bsds500:{tmp_path}")
    assert ds.names == ["12003"]
    s = ds[0]
    assert isinstance(s, BoundarySample)
    assert s.image.shape == (H, W, 3)
    assert len(s.boundaries) == 2
    assert np.array_equal(s.boundaries[0], _edge(2))
    assert np.array_equal(s.boundaries[1], _edge(5))
    assert s.orientations is None and s.orientation is None
    assert np.array_equal(s.boundary_union, _edge(2) | _edge(5))
    assert pickle.loads(pickle.dumps(ds)).names == ["12003"]


def test_bsds500_split_option(tmp_path: Path) -> None:
    _write_bsds(tmp_path)
    with pytest.raises(DatasetError, match="val"):
        open_boundary_dataset(f"bsds500:{tmp_path}", split="val")


# ---------------------------------------------------------------------------------------------
# synthetic scenes


def _write_synth(root: Path) -> np.ndarray:
    folder = root / "000000"
    folder.mkdir(parents=True)
    _save(folder / "rgb.png", _rgb(1))
    _save(folder / "instances.png", np.zeros((H, W), np.uint8))
    np.save(folder / "depth.npy", np.ones((H, W), np.float32))
    occ = np.zeros((H, W, 4), bool)
    occ[:, 3, 1] = True  # occludes its right neighbour
    np.save(folder / "ob_occludes.npy", occ)
    angle = np.full((H, W), np.nan, np.float32)
    angle[:, 3] = np.pi / 2
    np.save(folder / "ob_angle.npy", angle)
    (folder / "meta.json").write_text("{}", encoding="utf-8")
    (root / "index.json").write_text(json.dumps({"samples": [{"folder": "000000"}]}), "utf-8")
    return angle


def test_synth_boundaries_and_orientation(tmp_path: Path) -> None:
    angle = _write_synth(tmp_path)
    s = open_boundary_dataset(f"synth:{tmp_path}")[0]
    assert s.name == "000000"
    assert np.array_equal(s.boundaries[0], _edge(3))
    assert s.orientation is not None and s.orientation.dtype == np.float32
    np.testing.assert_array_equal(s.orientation, angle)  # NaN off the boundary


# ---------------------------------------------------------------------------------------------
# PIOD / BSDS ownership


def _theta(col: int, angle: float) -> np.ndarray:
    arr = np.zeros((H, W, 2), np.float32)
    arr[:, col, 0] = 1
    arr[:, :, 1] = angle  # orientation values off the boundary must be ignored
    return arr


def _write_gtstruct(path: Path, thetas: list[np.ndarray]) -> None:
    cell = np.empty((1, len(thetas)), object)
    for k, t in enumerate(thetas):
        cell[0, k] = t
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"gtStruct": {"gt_theta": cell}})


def test_bsds_ownership_gt_theta_two_annotators(tmp_path: Path) -> None:
    _save(tmp_path / "images" / "100007.jpg", _rgb())
    _write_gtstruct(tmp_path / "testfg" / "100007.mat", [_theta(1, 0.5), _theta(6, -2.0)])
    s = open_boundary_dataset(f"piod:{tmp_path}")[0]
    assert [b.sum() for b in s.boundaries] == [H, H]
    assert np.array_equal(s.boundaries[1], _edge(6))
    assert s.orientations is not None and len(s.orientations) == 2
    assert np.allclose(s.orientations[1][:, 6], -2.0)
    assert np.isnan(s.orientations[1][:, :6]).all()


def test_gt_theta_single_annotator_cell(tmp_path: Path) -> None:
    path = tmp_path / "a.mat"
    _write_gtstruct(path, [_theta(0, 1.0)])
    edges, angles = read_occlusion_mat(path)
    assert len(edges) == 1 and np.array_equal(edges[0], _edge(0))
    assert angles[0].dtype == np.float32


def test_piod_bndinfo_pascal_linear_indices(tmp_path: Path) -> None:
    # fragment 1: pixel (row 2, col 3); fragment 2: column 5 (MATLAB 1-based, column-major)
    frag1 = np.array([[3 * H + 2 + 1]], np.float64)
    frag2 = (5 * H + np.arange(H) + 1.0)[None, :]
    indices = np.empty((1, 2), object)
    indices[0, 0], indices[0, 1] = frag1, frag2
    orient = np.full((H, W), 0.25)
    info = {
        "imsize": np.array([[H, W]], np.float64),
        "ne": np.array([[2.0]]),
        "edges": {"indices": indices},
        "OrientMap": orient,
    }
    _save(tmp_path / "JPEGImages" / "2008_000002.jpg", _rgb())
    _save(tmp_path / "JPEGImages" / "2008_000003.jpg", _rgb())  # no annotation: ignored
    (tmp_path / "Data").mkdir()
    scipy.io.savemat(tmp_path / "Data" / "2008_000002.mat", {"bndinfo_pascal": info})
    ds = open_boundary_dataset(f"PIOD:{tmp_path}")
    assert ds.names == ["2008_000002"]
    s = ds[0]
    want = _edge(5)
    want[2, 3] = True
    assert np.array_equal(s.boundaries[0], want)
    assert s.orientation is not None
    assert np.allclose(s.orientation[want], 0.25) and np.isnan(s.orientation[~want]).all()


def test_piod_errors(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with pytest.raises(DatasetError, match="annotation folder"):
        open_boundary_dataset(f"piod:{tmp_path}")
    _write_gtstruct(tmp_path / "gt" / "x.mat", [_theta(0, 0.0)])
    with pytest.raises(DatasetError, match=r"no image x\.\*"):
        open_boundary_dataset(f"piod:{tmp_path}")
    _save(tmp_path / "images" / "x.png", _rgb(h=H + 1))
    with pytest.raises(MaskError):
        open_boundary_dataset(f"piod:{tmp_path}")[0]
    bad = tmp_path / "bad.mat"
    scipy.io.savemat(bad, {"gtStruct": {"gt_theta": np.zeros((H, W))}})
    with pytest.raises(FileFormatError, match=r"H×W×2"):
        read_occlusion_mat(bad)
    scipy.io.savemat(bad, {"other": np.zeros(2)})
    with pytest.raises(FileFormatError, match="gtStruct"):
        read_occlusion_mat(bad)


# ---------------------------------------------------------------------------------------------
# P2ORM


def test_p2orm_orientation_decoding() -> None:
    got = decode_p2orm_orientation(np.array([0, 255, 191], np.uint8))
    np.testing.assert_allclose(got, [-np.pi, np.pi, (2 * 191 / 255 - 1) * np.pi], rtol=1e-6)


def test_p2orm_png_layout(tmp_path: Path) -> None:
    scene = tmp_path / "data" / "scene_a"
    _save(scene / "0000-rgb.png", _rgb())
    _save(scene / "0000-edge.png", (_edge(1) * 255).astype(np.uint8))
    _save(scene / "0000-edge_fg.png", (_edge(2) * 255).astype(np.uint8))  # preferred label
    ori = np.full((H, W), 127, np.uint8)
    ori[:, 2] = 191  # +π/2 (approximately)
    _save(scene / "0000-ori.png", ori)
    _save(scene / "0001-rgb.png", _rgb(2))
    _save(scene / "0001-edge.png", (_edge(4) * 255).astype(np.uint8))  # no orientation
    ds = open_boundary_dataset(f"p2orm:{tmp_path}")
    assert ds.names == ["data/scene_a/0000", "data/scene_a/0001"]
    a, b = ds[0], ds[1]
    assert np.array_equal(a.boundaries[0], _edge(2))
    assert a.orientation is not None
    assert np.allclose(a.orientation[:, 2], (2 * 191 / 255 - 1) * np.pi)
    assert np.isnan(a.orientation[:, 3]).all()
    assert np.array_equal(b.boundaries[0], _edge(4)) and b.orientations is None


def test_p2orm_missing_edge(tmp_path: Path) -> None:
    _save(tmp_path / "0000-rgb.png", _rgb())
    with pytest.raises(DatasetError, match=r"0000-edge_fg\.png is missing"):
        open_boundary_dataset(f"p2orm:{tmp_path}")


# ---------------------------------------------------------------------------------------------
# specs


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("piod", "KIND:PATH"),
        ("nyu:/data", "unknown boundary dataset kind 'nyu'"),
        ("piod:/does/not/exist", "does not exist"),
    ],
)
def test_bad_specs(spec: str, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        open_boundary_dataset(spec)


def test_spec_path_is_file_and_split_for_kind_without_splits(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(DatasetError, match="is a file"):
        open_boundary_dataset(f"p2orm:{f}")
    with pytest.raises(ConfigError, match="no splits"):
        open_boundary_dataset(f"p2orm:{tmp_path}", split="train")
