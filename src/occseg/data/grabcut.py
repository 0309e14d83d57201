"""GrabCut (Rother et al. 2004) as used for interactive-segmentation click evaluation."""

from __future__ import annotations

import os

from occseg.data.base import (
    Dataset,
    SampleRef,
    first_existing_dir,
    layout_error,
    mask_sample,
    paired_refs,
    resolve_root,
)
from occseg.io import read_mask
from occseg.types import Sample

LAYOUT = (
    "data_GT/ (images) + boundary_GT/ (masks, same file stem), as in the GrabCut release, "
    "or images/ + masks/"
)


def load_grabcut_sample(ref: SampleRef) -> Sample:
    """Load one GrabCut sample: value 128 is ignored, values above 128 are the object."""
    mask, ignore = read_mask(ref.mask_path, ignore_value=128, threshold=128)
    return mask_sample(ref, mask, ignore)


def open_grabcut(root: str | os.PathLike) -> Dataset:
    """Open the GrabCut dataset (50 images, one object each).

    Layout
    ------
    ::

        root/data_GT/*.jpg|bmp      images (or root/images/)
        root/boundary_GT/*.bmp      masks with the image's file stem (or root/masks/)

    Mask values: 0 background, 128 the uncertain band around the boundary (returned as
    ``Sample.ignore``), 255 (any value above 128) the object; values 1..127 are background.

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
    kind = "grabcut"
    root = resolve_root(root, kind)
    images = first_existing_dir(root, ("data_GT", "images"))
    if images is None:
        raise layout_error(kind, f"folder {root / 'data_GT'} (or {root / 'images'})", LAYOUT)
    pair = "boundary_GT" if images.name == "data_GT" else "masks"
    masks = first_existing_dir(root, (pair,))
    if masks is None:
        raise layout_error(kind, f"folder {root / pair}", LAYOUT)
    return Dataset(kind, paired_refs(kind, images, masks, LAYOUT), load_grabcut_sample, root)
