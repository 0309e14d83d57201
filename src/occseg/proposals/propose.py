"""Whole-image region proposals: patch features → Ward merge tree → ranked regions → masks.

The library side of ``occseg proposals IMAGE --out DIR``: :func:`propose` on an RGB array,
:func:`write_proposals` for the files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from occseg.errors import ConfigError
from occseg.io import atomic_write_json, write_png
from occseg.proposals.colour import colour_features
from occseg.proposals.features import STRIDE_LEVELS, efficientnet_features
from occseg.proposals.ranking import MAX_IOU, select_proposals
from occseg.proposals.sampling import MIN_AREA
from occseg.proposals.tree import MergeTree, merge_tree, save_tree

#: ``--features`` choices: ImageNet EfficientNet-Lite0 (:mod:`.features`) or colour + texture
#: (:mod:`.colour`).
FEATURE_KINDS = ("efficientnet", "colour")
#: Longest image side the features are computed at (a 480×640 image at stride 8: 4800 patches).
MAX_SIDE = 640


@dataclass(frozen=True)
class Proposal:
    """One ranked region: its tree node, stability score, share of the image and mask."""

    node: int
    score: float
    area: float
    mask: np.ndarray


@dataclass(frozen=True)
class Proposals:
    """The ranked proposals of one image and the merge tree they come from."""

    items: list[Proposal]
    tree: MergeTree
    features: str
    stride: int


def feature_image(rgb: np.ndarray, stride: int, max_side: int = MAX_SIDE) -> np.ndarray:
    """``rgb`` resized so that its longer side is at most ``max_side`` and both sides are
    multiples of ``stride`` (MIS resizes to multiples of the patch size, Sec. 4)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(h * scale / stride)) * stride, max(1, round(w * scale / stride)) * stride)
    if size == (h, w):
        return rgb
    shrink = size[0] * size[1] < h * w
    method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(rgb, (size[1], size[0]), interpolation=method)


def check_options(features: str, stride: int) -> None:
    """Raise :class:`~occseg.errors.ConfigError` unless ``features`` is one of
    :data:`FEATURE_KINDS` and ``stride`` one of 8, 16."""
    if features not in FEATURE_KINDS:
        raise ConfigError(
            f"unknown features {features!r}; choose one of: {', '.join(FEATURE_KINDS)}"
        )
    if stride not in STRIDE_LEVELS:
        raise ConfigError(f"stride must be one of {sorted(STRIDE_LEVELS)}, got {stride}")


def patch_features(rgb: np.ndarray, kind: str = "efficientnet", stride: int = 8) -> np.ndarray:
    """``rows × cols × c`` features of the ``stride``-pixel patches of an image whose sides are
    multiples of ``stride`` (:func:`feature_image`); ``kind`` is one of :data:`FEATURE_KINDS`.

    Raises
    ------
    ConfigError
        For an unknown kind or stride (:func:`check_options`).
    """
    check_options(kind, stride)
    if kind == "colour":
        return colour_features(rgb, stride)
    return efficientnet_features(rgb, stride)


def image_tree(
    rgb: np.ndarray, *, features: str = "efficientnet", stride: int = 8, max_side: int = MAX_SIDE
) -> MergeTree:
    """The Ward merge tree (Alg. 1) of the patch features of an image shrunk to ``max_side``
    (:func:`feature_image`, :func:`patch_features`); options as for :func:`propose`.

    Raises
    ------
    ConfigError
        For an unknown feature kind or stride, or an image too small to hold two patches.
    """
    small = feature_image(rgb, stride, max_side)
    grid = patch_features(small, features, stride)
    if grid.shape[0] * grid.shape[1] < 2:
        raise ConfigError(
            f"the image is too small for proposals at stride {stride}; use a larger image"
        )
    return merge_tree(grid)


def propose(
    rgb: np.ndarray,
    *,
    k: int = 20,
    features: str = "efficientnet",
    stride: int = 8,
    max_side: int = MAX_SIDE,
    min_area: float = MIN_AREA,
    max_iou: float = MAX_IOU,
) -> Proposals:
    """The ``k`` most stable regions of an image's Ward merge tree (MIS, paper ``004``, Alg. 1;
    ranking: :mod:`occseg.proposals.ranking`).

    Parameters
    ----------
    rgb
        ``H×W×3`` uint8 RGB.
    k
        Number of proposals (fewer when the tree has fewer eligible regions).
    features
        ``"efficientnet"`` (ImageNet-supervised network features, not self-supervised as in
        the paper) or ``"colour"`` (L*a*b* colour + texture).
    stride
        Patch side in pixels of the resized image: 8 or 16.
    max_side
        The image is shrunk to this longest side before computing features.
    min_area, max_iou
        See :func:`~occseg.proposals.ranking.select_proposals`.

    Returns
    -------
    Proposals
        Masks at the input's ``H×W``, best first.

    Raises
    ------
    ConfigError
        For an unknown feature kind or stride, or an image too small to hold two patches.
    """
    tree = image_tree(rgb, features=features, stride=stride, max_side=max_side)
    n, shape = tree.n_leaves, rgb.shape[:2]
    items = [
        Proposal(node, score, float(tree.sizes[node] / n), tree.pixel_mask(node, shape))
        for node, score in select_proposals(tree, k, min_area=min_area, max_iou=max_iou)
    ]
    return Proposals(items, tree, features, stride)


def write_proposals(result: Proposals, out: str | os.PathLike) -> Path:
    """Write ``proposal_01.png`` ... (0/255 masks, best first), the merge tree ``tree.npz``
    (:func:`~occseg.proposals.tree.save_tree`) and ``proposals.json`` (a list of ``rank``,
    ``file``, ``score``, ``area``, ``node``, ``bbox`` = ``[x0, y0, x1, y1]`` inclusive) into
    ``out``; returns the JSON's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    listing = []
    for rank, item in enumerate(result.items, 1):
        name = f"proposal_{rank:02d}.png"
        write_png(out / name, item.mask)
        ys, xs = np.nonzero(item.mask)
        listing.append(
            {
                "rank": rank,
                "file": name,
                "score": round(item.score, 6),
                "area": round(item.area, 6),
                "node": item.node,
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())],
            }
        )
    save_tree(out / "tree.npz", result.tree)
    path = out / "proposals.json"
    atomic_write_json(
        path,
        {"features": result.features, "stride": result.stride, "proposals": listing},
    )
    return path
