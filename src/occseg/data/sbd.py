"""SBD, the Semantic Boundaries Dataset (Hariharan et al. 2011), one sample per instance."""

from __future__ import annotations

import os

import numpy as np

from occseg.data._matlab import label_array, load_mat, struct_field
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
from occseg.types import Sample

LAYOUT = (
    "img/<name>.jpg + inst/<name>.mat (struct GTinst with field Segmentation) + "
    "<split>.txt lists (train.txt, val.txt)"
)

#: Label of pixels excluded from evaluation (object boundaries, when present).
SBD_IGNORE = 255


def read_sbd_instances(path: str | os.PathLike) -> np.ndarray:
    """Read the ``H×W`` instance-id map (``GTinst.Segmentation``) of an SBD ``inst/*.mat`` file.

    0 is background, 255 (when present) is ignored, other values are instance ids.

    Raises
    ------
    FileFormatError
        If the file is unreadable or lacks ``GTinst.Segmentation``.
    """
    seg = struct_field(load_mat(path, "GTinst"), "Segmentation", path)
    return label_array(seg, "GTinst.Segmentation", path)


def load_sbd_sample(ref: SampleRef) -> Sample:
    """Load one SBD instance sample (the object is ``instance_id``; 255 is ignored)."""
    labels = read_sbd_instances(ref.mask_path)
    return mask_sample(ref, labels == ref.instance_id, labels == SBD_IGNORE)


def open_sbd(root: str | os.PathLike, split: str = "val") -> Dataset:
    """Open SBD with one sample per object instance.

    Layout
    ------
    ::

        root/img/<name>.jpg        images
        root/inst/<name>.mat       MATLAB struct GTinst; GTinst.Segmentation is an H×W map of
                                   instance ids (0 background, 255 ignored when present)
        root/train.txt, val.txt    split lists, one image name per line

    The folder ``dataset/`` of the original release (holding these) may be given, or its
    parent.

    Parameters
    ----------
    root
        The dataset folder.
    split
        The split list to read, ``root/<split>.txt`` (default ``"val"``).

    Returns
    -------
    Dataset
        One sample per (image, instance id), named ``<name>_<id>``, in list order then id order.
        Opening reads every listed ``.mat`` file (to enumerate instances) but no image.

    Raises
    ------
    DatasetError
        If a folder, the split list, or a listed image/annotation is missing.
    FileFormatError
        If an annotation file is malformed.
    """
    kind = "sbd"
    check_split_name(split)
    root = resolve_root(root, kind)
    if not (root / "img").is_dir() and (root / "dataset" / "img").is_dir():
        root = root / "dataset"
    img_dir = require_dir(root, "img", kind, LAYOUT)
    inst_dir = require_dir(root, "inst", kind, LAYOUT)
    names = read_split_list(root / f"{split}.txt", kind, LAYOUT)
    refs = []
    for name in names:
        image, inst = img_dir / f"{name}.jpg", inst_dir / f"{name}.mat"
        for path in (image, inst):
            if not path.is_file():
                raise layout_error(kind, f"file {path} (listed in {split}.txt)", LAYOUT)
        ids = np.unique(read_sbd_instances(inst))
        for i in ids[(ids != 0) & (ids != SBD_IGNORE)]:
            refs.append(SampleRef(f"{name}_{int(i)}", image, inst, instance_id=int(i)))
    return Dataset(f"{kind}-{split}", refs, load_sbd_sample, root)
