"""BSDS500 (Martin et al. 2001; Arbelaez et al. 2011): human segmentations and boundaries.

Each annotator's regions are objects for click evaluation (one sample per annotator and region);
:func:`read_bsds_ground_truth` gives all annotators' segmentations and boundaries of an image for
the boundary benchmark and for training.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from occseg.data._matlab import cell_items, label_array, load_mat, struct_field
from occseg.data.base import (
    Dataset,
    SampleRef,
    check_split_name,
    layout_error,
    list_images,
    mask_sample,
    require_dir,
    resolve_root,
)
from occseg.errors import ConfigError, DatasetError, FileFormatError
from occseg.types import Sample

LAYOUT = (
    "images/{train,val,test}/<name>.jpg + groundTruth/{train,val,test}/<name>.mat "
    "(MATLAB cell groundTruth of structs with Segmentation and Boundaries)"
)


class BSDSGroundTruth(NamedTuple):
    """All human annotations of one BSDS500 image.

    Attributes
    ----------
    segmentations
        One ``H×W int32`` region-label map per annotator (labels start at 1).
    boundaries
        One ``H×W bool`` boundary map per annotator.
    """

    segmentations: list[np.ndarray]
    boundaries: list[np.ndarray]


def read_bsds_ground_truth(path: str | os.PathLike) -> BSDSGroundTruth:
    """Read every annotator's segmentation and boundary map from a BSDS500 ``.mat`` file.

    The file holds a MATLAB cell ``groundTruth`` (1×K, K = 4..9 annotators); each entry is a
    struct with ``Segmentation`` (``H×W uint16`` region labels from 1) and ``Boundaries``
    (``H×W uint8``, 1 on region boundaries).

    Parameters
    ----------
    path
        A ``groundTruth/<split>/<name>.mat`` file.

    Returns
    -------
    BSDSGroundTruth
        ``(segmentations, boundaries)``: lists of ``H×W`` arrays, one per annotator.

    Raises
    ------
    FileFormatError
        If the file is unreadable, lacks the fields, or its annotations differ in size.

    Examples
    --------
    >>> segs, bnds = read_bsds_ground_truth("groundTruth/test/100007.mat")  # doctest: +SKIP
    >>> len(segs), segs[0].shape
    (5, (321, 481))
    """
    entries = cell_items(load_mat(path, "groundTruth"))
    segs, bnds = [], []
    for k, entry in enumerate(entries):
        seg = label_array(struct_field(entry, "Segmentation", path), f"annotator {k}'s map", path)
        bnd = label_array(struct_field(entry, "Boundaries", path), f"annotator {k}'s map", path)
        if seg.min(initial=0) < 0:
            raise FileFormatError(f"{path}: annotator {k}'s Segmentation has negative labels")
        segs.append(seg.astype(np.int32))
        bnds.append(bnd != 0)
    if not segs:
        raise FileFormatError(f"{path}: the groundTruth cell is empty")
    if any(a.shape != segs[0].shape for a in segs + bnds):
        raise FileFormatError(f"{path}: the annotators' maps differ in size")
    return BSDSGroundTruth(segs, bnds)


def list_bsds500(root: str | os.PathLike, split: str = "test") -> list[tuple[Path, Path]]:
    """List ``(image, ground-truth .mat)`` path pairs of a BSDS500 split, sorted by name.

    Raises
    ------
    DatasetError
        If a folder is missing or an image has no ``.mat`` file.
    """
    kind = "bsds500"
    check_split_name(split)
    root = resolve_root(root, kind)
    require_dir(root, "images", kind, LAYOUT)
    require_dir(root, "groundTruth", kind, LAYOUT)
    img_dir = require_dir(root, f"images/{split}", kind, LAYOUT)
    gt_dir = require_dir(root, f"groundTruth/{split}", kind, LAYOUT)
    images = list_images(img_dir)
    if not images:
        raise DatasetError(f"bsds500 dataset: no images in {img_dir}; the layout is {LAYOUT}")
    pairs = []
    for image in images:
        mat = gt_dir / f"{image.stem}.mat"
        if not mat.is_file():
            raise layout_error(kind, f"file {mat} (for image {image.name})", LAYOUT)
        pairs.append((image, mat))
    return pairs


def load_bsds500_sample(ref: SampleRef) -> Sample:
    """Load one BSDS500 sample: region ``instance_id`` of annotator ``annotator``."""
    segs = read_bsds_ground_truth(ref.mask_path).segmentations
    if ref.annotator is None or ref.annotator >= len(segs):
        raise FileFormatError(f"{ref.mask_path} has no annotator {ref.annotator}; was it changed?")
    return mask_sample(ref, segs[ref.annotator] == ref.instance_id, None)


def open_bsds500(
    root: str | os.PathLike,
    split: str = "test",
    min_area_fraction: float = 0.01,
    *,
    annotator: int | None = None,
    largest: int | None = None,
) -> Dataset:
    """Open BSDS500 with one sample per (image, annotator, region).

    Layout
    ------
    ::

        root/images/{train,val,test}/<name>.jpg
        root/groundTruth/{train,val,test}/<name>.mat     see read_bsds_ground_truth

    Parameters
    ----------
    root
        The dataset folder.
    split
        ``"train"``, ``"val"`` or ``"test"`` (default; the boundary benchmark's 200 images).
    min_area_fraction
        Regions smaller than this fraction of the image (default 0.01) are dropped.
    annotator
        Only this annotator's regions (0-based; images with fewer annotators use their last
        one); None = every annotator.
    largest
        Keep only the ``largest`` largest regions of each annotator's map (ties by label).

    Returns
    -------
    Dataset
        Samples named ``<name>_a<annotator>_r<region>`` (annotator from 0), ordered by image,
        annotator and region label. There is no ignore region. Opening reads every ``.mat``
        file (to enumerate regions) but no image.

    Raises
    ------
    DatasetError
        If a folder is missing or an image has no ground truth.
    ConfigError
        If ``min_area_fraction`` is not in ``[0, 1)``, or ``annotator`` / ``largest`` negative.
    """
    if not 0.0 <= min_area_fraction < 1.0:
        raise ConfigError(f"min_area_fraction must be in [0, 1), got {min_area_fraction}")
    if (annotator is not None and annotator < 0) or (largest is not None and largest < 1):
        raise ConfigError(f"annotator must be >= 0 and largest >= 1, got {annotator}, {largest}")
    refs = []
    pairs = list_bsds500(root, split)
    root = resolve_root(root, "bsds500")
    for image, mat in pairs:
        segs = read_bsds_ground_truth(mat).segmentations
        chosen = range(len(segs)) if annotator is None else [min(annotator, len(segs) - 1)]
        for k in chosen:
            counts = np.bincount(segs[k].ravel())
            counts[0] = 0  # label 0 is not a region
            keep = np.flatnonzero((counts > 0) & (counts >= min_area_fraction * segs[k].size))
            if largest is not None:
                by_size = keep[np.argsort(-counts[keep], kind="stable")]
                keep = np.sort(by_size[:largest])
            for region in keep:
                name = f"{image.stem}_a{k}_r{int(region)}"
                refs.append(SampleRef(name, image, mat, instance_id=int(region), annotator=k))
    return Dataset(f"bsds500-{split}", refs, load_bsds500_sample, root)


def open_bsds500_objects(
    root: str | os.PathLike,
    split: str = "test",
    annotator: int = 0,
    largest: int = 2,
    min_area_fraction: float = 0.02,
) -> Dataset:
    """BSDS500 as an object set for click evaluation: each image's largest regions of one annotator.

    The second development set beside COCO-MVal: ``bsds500_objects:PATH`` gives, for each of the
    200 test images, the ``largest`` (2) largest regions of annotator ``annotator`` (0) covering
    at least ``min_area_fraction`` of the image: whole objects and large surfaces, never the
    small fragments of a fine annotation. Train on train+val only when this set is used.
    See :func:`open_bsds500` for the layout and errors.
    """
    data = open_bsds500(root, split, min_area_fraction, annotator=annotator, largest=largest)
    return Dataset(f"bsds500-objects-{split}", data.refs, load_bsds500_sample, data.root)
