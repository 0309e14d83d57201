"""KINS reader (Qi et al., CVPR 2019): COCO-style amodal instances of KITTI (paper 001, Sec. 5).

Annotations carry the amodal shape (``segmentation``, or ``a_segm`` in the first release) and
the visible one (``inmodal_seg``, or ``i_segm``), each a COCO polygon list or RLE, with
``category_id``. KINS has no explicit order: as the paper does, it is inferred from amodal
overlap: when two amodal masks overlap, the instance whose visible mask covers more of the
overlap is in front.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from occseg.data.cocoa import OcclusionSample, _load_json, polygon_mask
from occseg.errors import FileFormatError

__all__ = ["infer_order", "read_kins"]


def infer_order(
    amodal: dict[int, np.ndarray], visible: dict[int, np.ndarray]
) -> list[tuple[int, int]]:
    """``(front, back)`` pairs of overlapping amodal masks (more visible overlap = in front)."""
    ids = sorted(amodal)
    pairs = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            overlap = amodal[a] & amodal[b]
            if not overlap.any():
                continue
            va = int(np.count_nonzero(overlap & visible[a]))
            vb = int(np.count_nonzero(overlap & visible[b]))
            if va > vb:
                pairs.append((a, b))
            elif vb > va:
                pairs.append((b, a))
    return sorted(pairs)


def read_kins(
    json_path: str | os.PathLike, image_root: str | os.PathLike | None = None, *, limit: int = 0
) -> list[OcclusionSample]:
    """Read a KINS annotation file into :class:`~occseg.data.cocoa.OcclusionSample` s.

    Visible instance ids are annotation positions within the image (1-based, in file order);
    classes are ``category_id - 1``. ``limit`` reads only the first images.
    """
    data = _load_json(Path(json_path))
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise FileFormatError(f"{json_path}: expected a COCO-style JSON with images/annotations")
    by_image: dict = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    root = Path(image_root) if image_root is not None else None
    images = data["images"][:limit] if limit else data["images"]
    out = []
    for im in images:
        try:
            h, w, iid = int(im["height"]), int(im["width"]), im["id"]
        except (KeyError, TypeError, ValueError):
            raise FileFormatError(f"{json_path}: images need id, height and width") from None
        amodal, visible, classes = {}, {}, {}
        for k, ann in enumerate(by_image.get(iid, []), start=1):
            seg_a = ann.get("segmentation", ann.get("a_segm"))
            seg_v = ann.get("inmodal_seg", ann.get("i_segm"))
            if seg_a is None or seg_v is None:
                raise FileFormatError(
                    f"{json_path}: annotation {ann.get('id')} needs amodal 'segmentation' and "
                    "visible 'inmodal_seg'"
                )
            amodal[k] = polygon_mask(seg_a, h, w)
            visible[k] = polygon_mask(seg_v, h, w)
            classes[k] = int(ann.get("category_id", 1)) - 1
        pairs = infer_order(amodal, visible)
        inst = np.zeros((h, w), np.int32)
        # paint back to front along the inferred order (topological by number of occluders)
        n_front = {k: sum(1 for a, b in pairs if b == k) for k in visible}
        for k in sorted(visible, key=lambda i: -n_front[i]):
            inst[visible[k]] = k
        fname = str(im.get("file_name", iid))
        out.append(
            OcclusionSample(
                name=Path(fname).stem,
                image_path=root / fname if root is not None else None,
                instances=inst,
                classes=classes,
                pairs=pairs,
                amodal=amodal,
            )
        )
    return out
