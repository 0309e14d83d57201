"""Berkeley (McGuinness & O'Connor 2010): 100 object masks on BSDS images, for click evaluation."""

from __future__ import annotations

import os

from occseg.data.base import Dataset, load_nonzero_sample, open_paired


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
    return open_paired(root, "berkeley", "images", "masks", load_nonzero_sample)
