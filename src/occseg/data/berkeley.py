"""Berkeley (McGuinness & O'Connor 2010): 100 object masks on BSDS images, for click evaluation."""

from __future__ import annotations

import os

from occseg.data.base import (
    Dataset,
    SampleRef,
    mask_sample,
    paired_refs,
    read_max_channel,
    require_dir,
    resolve_root,
)
from occseg.types import Sample

LAYOUT = "images/ (images) + masks/ (one mask per image, same file stem)"


def load_berkeley_sample(ref: SampleRef) -> Sample:
    """Load one Berkeley sample: any nonzero mask value (in any channel) is the object."""
    return mask_sample(ref, read_max_channel(ref.mask_path) > 0, None)


def open_berkeley(root: str | os.PathLike) -> Dataset:
    """Open the Berkeley interactive-segmentation dataset.

    Layout
    ------
    ::

        root/images/*.jpg     images
        root/masks/*.png      masks with the image's file stem

    A mask pixel is the object when its value (the maximum over channels for colour masks) is
    above 0. There is no ignore region.

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
    kind = "berkeley"
    root = resolve_root(root, kind)
    images = require_dir(root, "images", kind, LAYOUT)
    masks = require_dir(root, "masks", kind, LAYOUT)
    return Dataset(kind, paired_refs(kind, images, masks, LAYOUT), load_berkeley_sample, root)
