"""A generic folder of images and masks, for one's own data."""

from __future__ import annotations

import os
import re

from occseg.data.base import (
    Dataset,
    SampleRef,
    index_by_stem,
    list_images,
    mask_sample,
    require_dir,
    resolve_root,
)
from occseg.errors import DatasetError
from occseg.io import read_mask
from occseg.types import Sample

LAYOUT = (
    "images/ + masks/, where the mask of image <stem>.jpg is masks/<stem>.png, or "
    "masks/<stem>_<k>.png (k = 0, 1, ...) for several objects of one image"
)

_NUMBERED = re.compile(r"^(?P<stem>.+)_(?P<k>\d+)$")


def load_folder_sample(ref: SampleRef) -> Sample:
    """Load one folder sample: 128 is ignored, other values above 0 are the object."""
    mask, ignore = read_mask(ref.mask_path, ignore_value=128, threshold=0)
    return mask_sample(ref, mask, ignore)


def open_folder(root: str | os.PathLike) -> Dataset:
    """Open a generic folder of images and object masks.

    Layout
    ------
    ::

        root/images/<stem>.jpg         images (any common format)
        root/masks/<stem>.png          the object mask of <stem>, or
        root/masks/<stem>_<k>.png      several objects of <stem> (k = 0, 1, 2, ...)

    Mask values follow the 0/128/255 convention: 0 background, 128 ignore (``Sample.ignore``),
    any other value above 0 the object. A mask whose stem equals an image stem belongs to that
    image even if it also reads as ``<stem>_<k>``.

    Parameters
    ----------
    root
        The dataset folder.

    Returns
    -------
    Dataset
        One sample per mask, named by the mask's stem, ordered by image then by ``k``.

    Raises
    ------
    DatasetError
        If a folder is missing, an image has no mask, or a mask matches no image.
    """
    kind = "folder"
    root = resolve_root(root, kind)
    image_dir = require_dir(root, "images", kind, LAYOUT)
    mask_dir = require_dir(root, "masks", kind, LAYOUT)
    images = index_by_stem(list_images(image_dir), kind)
    if not images:
        raise DatasetError(f"folder dataset: no images in {image_dir}; the layout is {LAYOUT}")
    per_image: dict[str, list[tuple[int, str, SampleRef]]] = {stem: [] for stem in images}
    for mask in index_by_stem(list_images(mask_dir), kind).values():
        m = _NUMBERED.match(mask.stem)
        if mask.stem in images:
            stem, k = mask.stem, -1
        elif m is not None and m["stem"] in images:
            stem, k = m["stem"], int(m["k"])
        else:
            raise DatasetError(
                f"folder dataset: mask {mask} matches no image in {image_dir}; "
                "name it <image stem>.png or <image stem>_<k>.png"
            )
        per_image[stem].append((k, mask.name, SampleRef(mask.stem, images[stem], mask)))
    refs: list[SampleRef] = []
    for stem in sorted(per_image):
        if not per_image[stem]:
            raise DatasetError(
                f"folder dataset: image {images[stem]} has no mask; add {mask_dir / stem}.png "
                f"(or {stem}_0.png, {stem}_1.png, ...)"
            )
        refs.extend(ref for _, _, ref in sorted(per_image[stem], key=lambda t: t[:2]))
    return Dataset(kind, refs, load_folder_sample, root)
