"""DAVIS (Perazzi et al. 2016) frames as used for click evaluation (345 frames in RITM's split)."""

from __future__ import annotations

import os

from occseg.data.base import Dataset, load_nonzero_sample, open_paired


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
    return open_paired(root, "davis", "img", "gt", load_nonzero_sample)
