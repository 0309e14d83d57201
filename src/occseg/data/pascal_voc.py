"""PASCAL VOC 2012 instance masks (Everingham et al. 2010), one sample per object instance."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from occseg.data.base import (
    Dataset,
    SampleRef,
    check_split_name,
    layout_error,
    mask_sample,
    read_split_list,
    require_dir,
    resolve_root,
)
from occseg.io import read_label_map
from occseg.types import Sample

LAYOUT = (
    "JPEGImages/<name>.jpg + SegmentationObject/<name>.png + "
    "ImageSets/Segmentation/<split>.txt (train.txt, val.txt)"
)

#: Void label of the palette PNGs of the VOC release (palette index 255, colour (224, 224, 192)).
VOID_INDEX = 255
#: Void label once a VOC PNG is converted from colour to gray with ITU-R 601 weights:
#: 0.299*224 + 0.587*224 + 0.114*192 = 220.35 → 220 (how RITM reads these files with OpenCV).
VOID_GRAY = 220


def read_voc_objects(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a VOC ``SegmentationObject`` PNG as ``(labels, void)``.

    ``labels`` is the ``H×W`` integer map and ``void`` the ``H×W bool`` ignore region.

    :func:`~occseg.io.read_label_map` returns palette indices for palette PNGs (the VOC release:
    instance ``k`` has index ``k``, void index 255) and gray levels for colour PNGs (601 weights,
    as OpenCV's ``COLOR_BGR2GRAY``: instances become distinct gray levels, void becomes 220).
    So void is 255 for palette PNGs and 220 for colour/gray-converted ones; 255 is void in those
    too, since no VOC palette colour converts to 255 and raw-index grayscale PNGs use 255.
    """
    try:
        with Image.open(path) as im:  # header only
            palette = im.mode in ("P", "PA")
    except (OSError, ValueError, SyntaxError):
        palette = False  # read_label_map reports the problem
    labels = read_label_map(path)
    void = labels == VOID_INDEX
    if not palette:
        void |= labels == VOID_GRAY
    return labels, void


def load_pascal_voc_sample(ref: SampleRef) -> Sample:
    """Load one VOC instance sample (the object is ``instance_id``; void is ignored)."""
    labels, void = read_voc_objects(ref.mask_path)
    return mask_sample(ref, (labels == ref.instance_id) & ~void, void)


def _voc_root(root: Path) -> Path:
    """Accept the VOC2012 folder or a parent holding VOC2012/ or VOCdevkit/VOC2012/."""
    if (root / "JPEGImages").is_dir():
        return root
    for sub in ("VOC2012", "VOCdevkit/VOC2012"):
        if (root / sub / "JPEGImages").is_dir():
            return root / sub
    return root


def open_pascal_voc(root: str | os.PathLike, split: str = "val") -> Dataset:
    """Open PASCAL VOC 2012 instance segmentation with one sample per object instance.

    Layout
    ------
    ::

        root/JPEGImages/<name>.jpg
        root/SegmentationObject/<name>.png            instance masks (0 background, void ignored)
        root/ImageSets/Segmentation/<split>.txt       split lists (train.txt, val.txt)

    ``root`` may also be a parent holding ``VOC2012/`` or ``VOCdevkit/VOC2012/``. The void label
    (palette index 255 or, in PNGs converted to gray, 220; see :func:`read_voc_objects`) is
    returned as ``Sample.ignore`` of every instance of the image.

    Parameters
    ----------
    root
        The dataset folder.
    split
        The split list to read (default ``"val"``).

    Returns
    -------
    Dataset
        One sample per (image, instance label), named ``<name>_<label>``, in list order then
        label order. Opening reads every listed mask (to enumerate instances) but no image.

    Raises
    ------
    DatasetError
        If a folder, the split list, or a listed image/mask is missing.
    """
    kind = "pascal_voc"
    check_split_name(split)
    root = _voc_root(resolve_root(root, kind))
    img_dir = require_dir(root, "JPEGImages", kind, LAYOUT)
    obj_dir = require_dir(root, "SegmentationObject", kind, LAYOUT)
    names = read_split_list(root / "ImageSets" / "Segmentation" / f"{split}.txt", kind, LAYOUT)
    refs = []
    for name in names:
        image, mask = img_dir / f"{name}.jpg", obj_dir / f"{name}.png"
        for path in (image, mask):
            if not path.is_file():
                raise layout_error(kind, f"file {path} (listed in {split}.txt)", LAYOUT)
        labels, void = read_voc_objects(mask)
        for i in np.unique(labels[~void]):
            if i != 0:
                refs.append(SampleRef(f"{name}_{int(i)}", image, mask, instance_id=int(i)))
    return Dataset(f"{kind}-{split}", refs, load_pascal_voc_sample, root)
