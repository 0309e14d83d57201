"""Whole-image proposals: resizing, ranking, masks and files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from occseg.errors import ConfigError
from occseg.proposals.propose import feature_image, propose, write_proposals
from occseg.proposals.tree import load_tree


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A 120×160 textured background with a red disk (the object)."""
    rng = np.random.default_rng(0)
    rgb = rng.normal(110, 12, (120, 160, 3))
    rgb[..., 2] += 40
    yy, xx = np.mgrid[:120, :160]
    disk = (yy - 60) ** 2 + (xx - 100) ** 2 < 35**2
    rgb[disk] = rng.normal((210, 40, 30), 8, (disk.sum(), 3))
    return np.clip(rgb, 0, 255).astype(np.uint8), disk


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(
    ("shape", "stride", "max_side", "expected"),
    [
        ((480, 640), 8, 640, (480, 640)),
        ((321, 481), 8, 640, (320, 480)),
        ((1000, 2000), 16, 640, (320, 640)),
        ((30, 41), 8, 640, (32, 40)),
        ((3, 5), 8, 640, (8, 8)),
    ],
)
def test_feature_image_size(shape, stride, max_side, expected):
    rgb = np.zeros((*shape, 3), np.uint8)
    assert feature_image(rgb, stride, max_side).shape == (*expected, 3)


@pytest.mark.parametrize(("features", "least_iou"), [("colour", 0.8), ("efficientnet", 0.5)])
def test_the_object_is_among_the_first_proposals(features, least_iou):
    """The ImageNet features at stride 8 respond to the disk's outline, so its boundary patches
    form their own regions and the best proposal covers the disk less well than colour does."""
    rgb, disk = _scene()
    result = propose(rgb, k=5, features=features)
    assert 1 <= len(result.items) <= 5
    scores = [p.score for p in result.items]
    assert scores == sorted(scores, reverse=True)
    for p in result.items:
        assert p.mask.shape == disk.shape and p.mask.dtype == bool
        assert p.area >= 0.05
        assert abs(p.mask.mean() - p.area) < 0.02
    assert max(_iou(p.mask, disk) for p in result.items) > least_iou


def test_write_proposals(tmp_path):
    rgb, _ = _scene()
    result = propose(rgb, k=3, features="colour", stride=16)
    json_path = write_proposals(result, tmp_path / "out")
    doc = json.loads(json_path.read_text())
    assert doc["features"] == "colour" and doc["stride"] == 16
    assert [p["rank"] for p in doc["proposals"]] == list(range(1, len(result.items) + 1))
    for entry, item in zip(doc["proposals"], result.items, strict=True):
        mask = np.asarray(Image.open(tmp_path / "out" / entry["file"]))
        np.testing.assert_array_equal(mask > 0, item.mask)
        assert set(np.unique(mask)) <= {0, 255}
        ys, xs = np.nonzero(item.mask)
        assert entry["bbox"] == [xs.min(), ys.min(), xs.max(), ys.max()]
        assert entry["node"] == item.node
    tree = load_tree(tmp_path / "out" / "tree.npz")
    np.testing.assert_array_equal(tree.children, result.tree.children)


def test_bad_options():
    rgb, _ = _scene()
    with pytest.raises(ConfigError, match="unknown features"):
        propose(rgb, features="dino")
    with pytest.raises(ConfigError, match="stride"):
        propose(rgb, stride=32)
    with pytest.raises(ConfigError, match="too small"):
        propose(rgb[:4, :4], features="colour")
