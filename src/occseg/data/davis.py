"""DAVIS (Perazzi et al. 2016) frames as used for click evaluation (345 frames in RITM's split)."""

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

LAYOUT = "img/ (images) + gt/ (one mask per image, same file stem)"


def load_davis_sample(ref: SampleRef) -> Sample:
    """Load one DAVIS sample: every nonzero object id (in any channel) is merged into the mask."""
    return mask_sample(ref, read_max_channel(ref.mask_path) > 0, None)


def open_davis(root: str | os.PathLike) -> Dataset:
    """Open a DAVIS click-evaluation set.

    Layout
    ------
    ::

        root/img/*.jpg      frames
        root/gt/*.png       masks with the frame's file stem

    All nonzero values (object ids, or any nonzero channel of a colour mask) are merged into one
    object mask. There is no ignore region.

    Parameters
    ----------
    root
        The dataset folder.

    Returns
    -------
    Dataset
        One sample per frame, named by the frame's stem.

    Raises
    ------
    DatasetError
        If a folder is missing or a frame has no mask.
    """
    kind = "davis"
    root = resolve_root(root, kind)
    images = require_dir(root, "img", kind, LAYOUT)
    masks = require_dir(root, "gt", kind, LAYOUT)
    return Dataset(kind, paired_refs(kind, images, masks, LAYOUT), load_davis_sample, root)
