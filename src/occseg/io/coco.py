"""COCO run-length encoding and COCOA occlusion-order strings.

Masks are stored as COCO's *compressed* RLE (``{"size": [h, w], "counts": str}``, column-major,
as written by :mod:`pycocotools.mask`). Occlusion order follows COCOA (Zhu et al., "Semantic amodal
segmentation", CVPR 2017): a per-image string ``depth_constraint`` of comma-separated
``"front-back"`` pairs of **1-based** region indices, e.g. ``"1-2,1-3"`` (region 1 occludes
regions 2 and 3); the empty string means no constraint.

Example
-------
>>> import numpy as np
>>> m = np.zeros((4, 5), bool); m[1:3, 2:4] = True
>>> rle = mask_to_rle(m)
>>> bool((rle_to_mask(rle) == m).all()), rle_area(rle), rle_bbox(rle)
(True, 4, [2.0, 1.0, 2.0, 2.0])
>>> format_depth_constraint([(1, 2), (1, 3)]), parse_depth_constraint("1-2,1-3")
('1-2,1-3', [(1, 2), (1, 3)])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pycocotools import mask as mask_utils

from occseg.errors import FileFormatError

__all__ = [
    "format_depth_constraint",
    "mask_to_rle",
    "parse_depth_constraint",
    "rle_area",
    "rle_bbox",
    "rle_to_mask",
]


def mask_to_rle(mask: np.ndarray) -> dict:
    """Encode an ``H×W`` bool mask as COCO compressed RLE with a JSON-ready ``counts`` string."""
    if mask.ndim != 2:
        raise ValueError(f"expected an H×W mask, got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def _native(rle: dict) -> dict:
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise FileFormatError(
            "an RLE mask needs 'size' [height, width] and 'counts'; re-save the annotation"
        ) from None
    if isinstance(counts, list):  # uncompressed RLE
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode()
    return {"size": [h, w], "counts": counts}


def rle_to_mask(rle: dict) -> np.ndarray:
    """Decode compressed (or uncompressed) COCO RLE to an ``H×W`` bool mask."""
    return mask_utils.decode(_native(rle)).astype(bool)


def rle_area(rle: dict) -> int:
    """Number of foreground pixels of an RLE mask."""
    return int(mask_utils.area(_native(rle)))


def rle_bbox(rle: dict) -> list[float]:
    """COCO bounding box ``[x, y, width, height]`` of an RLE mask (zeros if empty)."""
    return [float(v) for v in mask_utils.toBbox(_native(rle))]


def format_depth_constraint(pairs: Iterable[tuple[int, int]]) -> str:
    """COCOA ``depth_constraint`` string from 1-based ``(front, back)`` region index pairs."""
    out = []
    for front, back in pairs:
        if front < 1 or back < 1 or front == back:
            raise ValueError(
                f"invalid occlusion pair {front}-{back}: indices are 1-based, distinct"
            )
        out.append(f"{int(front)}-{int(back)}")
    return ",".join(out)


def parse_depth_constraint(text: str) -> list[tuple[int, int]]:
    """Parse a COCOA ``depth_constraint`` string into 1-based ``(front, back)`` pairs."""
    pairs = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        try:
            front, back = (int(v) for v in item.split("-"))
        except ValueError:
            raise FileFormatError(
                f"bad depth_constraint entry {item!r}; expected 'front-back' such as '1-2'"
            ) from None
        pairs.append((front, back))
    return pairs
