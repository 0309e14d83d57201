"""PIOD and BSDS-ownership occlusion boundaries (edge + orientation ``.mat`` files).

Two MATLAB layouts are read, the ones the DOC / DOOBNet / P2ORM evaluation scripts
(``EvaluateOcc``) load:

* **BSDS ownership** (and the converted PIOD ground truth): a struct ``gtStruct`` whose field
  ``gt_theta`` is a cell with one ``H×W×2`` array per annotator: channel 0 the boundary map
  (non-zero on the boundary), channel 1 the occlusion orientation in radians.
* **PIOD original**: a struct ``bndinfo_pascal`` with ``imsize`` (``[H W]``), ``ne`` (number of
  boundary fragments), ``edges.indices`` (a cell of MATLAB linear, 1-based, column-major pixel
  indices, one vector per fragment) and ``OrientMap`` (``H×W`` radians).

Orientations follow the PIOD left-hand rule (the occluder is on the left when walking along the
boundary in the direction of the angle); see :mod:`occseg.data.boundary_sample`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from occseg.data._matlab import cell_items, load_mat, struct_field, unwrap
from occseg.data.base import first_existing_dir, index_by_stem, list_images, resolve_root
from occseg.data.boundary_sample import (
    BoundaryDataset,
    BoundaryRef,
    BoundarySample,
    make_boundary_sample,
)
from occseg.errors import DatasetError, FileFormatError
from occseg.io import read_image

#: Image folders tried, in order.
IMAGE_DIRS = ("JPEGImages", "images", "Images")
#: Annotation folders tried, in order.
GT_DIRS = ("Data", "groundTruth", "gt", "testfg")
LAYOUT = (
    f"an image folder ({' or '.join(IMAGE_DIRS)}) and a folder of .mat files "
    f"({' or '.join(GT_DIRS)}) with the same file stems; each .mat holds gtStruct.gt_theta "
    "(BSDS ownership) or bndinfo_pascal (PIOD)"
)


def _variables(path: Path) -> set[str]:
    try:
        return {name for name, _, _ in scipy.io.whosmat(str(path))}
    except Exception:  # unreadable: load_mat below reports it with a helpful message
        return set()


def _as_int(value: Any, what: str, path: Path) -> int:
    arr = np.asarray(unwrap(value), dtype=np.float64).ravel()
    if arr.size != 1:
        raise FileFormatError(f"{path}: {what} should be a number")
    return int(arr[0])


def _from_gt_theta(gt: Any, path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    edges, angles = [], []
    for k, item in enumerate(cell_items(struct_field(gt, "gt_theta", path))):
        arr = np.asarray(item)
        if arr.ndim != 3 or arr.shape[2] != 2 or not np.issubdtype(arr.dtype, np.number):
            raise FileFormatError(
                f"{path}: gt_theta entry {k} should be an H×W×2 numeric array "
                f"(edge, orientation), got shape {arr.shape}"
            )
        edges.append(arr[:, :, 0])
        angles.append(arr[:, :, 1])
    return edges, angles


def _from_bndinfo(info: Any, path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    size = np.asarray(unwrap(struct_field(info, "imsize", path)), dtype=np.float64).ravel()
    if size.size < 2:
        raise FileFormatError(f"{path}: bndinfo_pascal.imsize should be [H W]")
    h, w = int(size[0]), int(size[1])
    edge = np.zeros(h * w, dtype=bool)
    angle = np.zeros((h, w), dtype=np.float32)
    if _as_int(struct_field(info, "ne", path), "bndinfo_pascal.ne", path) > 0:
        indices = struct_field(struct_field(info, "edges", path), "indices", path)
        for fragment in cell_items(indices):
            idx = np.asarray(fragment, dtype=np.int64).ravel() - 1  # MATLAB 1-based
            if idx.size and (idx.min() < 0 or idx.max() >= h * w):
                raise FileFormatError(f"{path}: an edge index lies outside the {w}×{h} image")
            edge[idx] = True
        angle = np.asarray(struct_field(info, "OrientMap", path), dtype=np.float32)
        if angle.shape != (h, w):
            raise FileFormatError(f"{path}: OrientMap is not {h}×{w} like imsize")
    # MATLAB linear indices run down the columns first
    return [edge.reshape((w, h)).T], [angle]


def read_occlusion_mat(path: str | os.PathLike) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Read the boundary and orientation maps of a PIOD or BSDS-ownership ``.mat`` file.

    Parameters
    ----------
    path
        A ``.mat`` file holding ``gtStruct`` (``gt_theta`` cell of ``H×W×2`` arrays) or
        ``bndinfo_pascal`` (see the module docstring).

    Returns
    -------
    edges, angles : lists of (H, W) arrays
        One boundary map (bool) and one orientation map (float32 radians, unmasked) per
        annotator.

    Raises
    ------
    FileFormatError
        If the file is unreadable or has neither layout.

    Examples
    --------
    >>> edges, angles = read_occlusion_mat("testfg/100007.mat")  # doctest: +SKIP
    >>> len(edges), edges[0].shape  # doctest: +SKIP
    (2, (321, 481))
    """
    path = Path(path)
    names = _variables(path)
    if "bndinfo_pascal" in names and "gtStruct" not in names:
        edges, angles = _from_bndinfo(load_mat(path, "bndinfo_pascal"), path)
    else:
        edges, angles = _from_gt_theta(load_mat(path, "gtStruct"), path)
    if not edges:
        raise FileFormatError(f"{path}: gtStruct.gt_theta is empty")
    return [e != 0 for e in edges], [np.asarray(a, dtype=np.float32) for a in angles]


def load_piod_sample(ref: BoundaryRef) -> BoundarySample:
    """Decode one PIOD / BSDS-ownership sample."""
    edges, angles = read_occlusion_mat(ref.gt_path)
    return make_boundary_sample(ref.name, read_image(ref.image_path), edges, angles, ref.gt_path)


def open_piod(root: str | os.PathLike) -> BoundaryDataset:
    """Open a PIOD or BSDS-ownership folder, one sample per ``.mat`` annotation file.

    Layout
    ------
    ::

        root/{JPEGImages|images|Images}/<name>.jpg
        root/{Data|groundTruth|gt|testfg}/<name>.mat   see read_occlusion_mat

    Images without a ``.mat`` file are ignored (PIOD annotates a subset of PASCAL VOC).

    Raises
    ------
    DatasetError
        If a folder is missing, it has no ``.mat`` file, or a ``.mat`` file has no image.
    """
    kind = "piod"
    root = resolve_root(root, kind)
    img_dir = first_existing_dir(root, IMAGE_DIRS)
    gt_dir = first_existing_dir(root, GT_DIRS)
    if img_dir is None or gt_dir is None:
        missing = "an image folder" if img_dir is None else "an annotation folder"
        raise DatasetError(f"{kind} dataset: {root} has no {missing}; the layout is {LAYOUT}")
    mats = sorted(p for p in gt_dir.glob("*.mat") if not p.name.startswith("."))
    if not mats:
        raise DatasetError(f"{kind} dataset: no .mat files in {gt_dir}; the layout is {LAYOUT}")
    images = index_by_stem(list_images(img_dir), kind)
    refs = []
    for mat in mats:
        image = images.get(mat.stem)
        if image is None:
            raise DatasetError(
                f"{kind} dataset: no image {mat.stem}.* in {img_dir} for {mat.name}; "
                f"the layout is {LAYOUT}"
            )
        refs.append(BoundaryRef(mat.stem, image, mat))
    return BoundaryDataset(kind, refs, load_piod_sample, root)
