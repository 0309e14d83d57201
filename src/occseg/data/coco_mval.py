"""COCO-MVal (800 COCO objects, 10 per category) for click evaluation."""

from __future__ import annotations

import os

from occseg.data.base import Dataset, SampleRef, mask_sample, open_paired
from occseg.io import read_label_map
from occseg.types import Sample


def load_coco_mval_sample(ref: SampleRef) -> Sample:
    """Load one COCO-MVal sample: mask values above 128 are the object."""
    return mask_sample(ref, read_label_map(ref.mask_path) > 128, None)


def open_coco_mval(root: str | os.PathLike) -> Dataset:
    """Open a COCO-MVal click-evaluation set.

    Layout
    ------
    ::

        root/img/*.jpg     images; names may contain spaces ("baseball bat00_000000057232.jpg")
        root/gt/*.png      masks with the image's file stem

    A mask pixel is the object when its value is above 128 (colour masks are converted to gray).
    There is no ignore region.

    Parameters
    ----------
    root
        The dataset folder.

    Returns
    -------
    Dataset
        One sample per image, named by the image's stem.

    Raises
    ------
    DatasetError
        If a folder is missing or an image has no mask.
    """
    return open_paired(root, "coco_mval", "img", "gt", load_coco_mval_sample)
