"""COCOA reader: amodal regions with occlusion order (Zhu et al., CVPR 2017; paper 001, Sec. 5).

Two layouts are read:

* **per-image JSON** (``N.jpg`` + ``N.json``): ``{"regions": [...]}`` where each region has an
  amodal polygon ``segmentation`` (COCO flat ``[x1, y1, x2, y2, ...]`` list or list of lists),
  ``order`` (1 = front-most), ``name``, ``isStuff`` and ``occlude_rate``; optional
  ``visible_mask`` (COCO RLE) and ``depth_constraint``;
* **data-set JSON** (``{"annotations": [{"image_id", "regions", "depth_constraint", ...}],
  "images": [...]}``) with ``depth_constraint`` strings ``"1-2,1-3"`` of 1-based region indices,
  front first (parsed by :func:`occseg.io.coco.parse_depth_constraint`).

Visible masks are the ``visible_mask`` when given, else the amodal polygon minus the amodal
polygons of regions in front (smaller ``order``). Without ``depth_constraint`` the occlusion
pairs are the overlapping amodal regions, the smaller ``order`` in front.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from occseg.errors import DatasetError, FileFormatError
from occseg.io.coco import parse_depth_constraint, rle_to_mask
from occseg.types import Segmentation

__all__ = [
    "OcclusionSample",
    "list_cocoa_folder",
    "polygon_mask",
    "read_cocoa_dataset",
    "read_cocoa_image",
]


@dataclass(frozen=True, eq=False)
class OcclusionSample:
    """Visible instances of one image with their occlusion order.

    Attributes
    ----------
    name
        Image name.
    image_path
        The image file (may not exist for annotation-only use).
    instances
        ``H×W int32`` visible instance ids (1-based annotation index, 0 = none).
    classes
        Class index of each id.
    pairs
        ``(front, back)`` id pairs.
    amodal
        Amodal masks by id (when the format has them).
    names
        Category / region name by id.
    """

    name: str
    image_path: Path | None
    instances: np.ndarray
    classes: dict[int, int]
    pairs: list[tuple[int, int]]
    amodal: dict[int, np.ndarray] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def to_segmentation(self) -> Segmentation:
        """The ground truth as an :class:`occseg.types.Segmentation`."""
        return Segmentation(self.instances, dict(self.classes), list(self.pairs))


def polygon_mask(segmentation, height: int, width: int) -> np.ndarray:
    """``H×W bool`` mask of a COCO polygon (flat list or list of lists) or RLE segmentation."""
    if isinstance(segmentation, dict):
        return rle_to_mask(segmentation)
    polys = segmentation
    if polys and not isinstance(polys[0], list | tuple):
        polys = [polys]
    polys = [list(map(float, p)) for p in polys if len(p) >= 6]
    if not polys:
        return np.zeros((height, width), bool)
    rles = mask_utils.frPyObjects(polys, height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _image_size(entry: dict, image_path: Path | None) -> tuple[int, int]:
    for hk, wk in (("height", "width"), ("image_height", "image_width")):
        if hk in entry and wk in entry:
            return int(entry[hk]), int(entry[wk])
    size = entry.get("size")  # COCOA's own "size" is the number of regions, an int
    if isinstance(size, list | tuple) and len(size) == 2:
        return int(size[0]), int(size[1])
    if image_path is not None and image_path.is_file():
        from PIL import Image

        with Image.open(image_path) as im:
            return im.height, im.width
    raise DatasetError(
        f"cannot tell the image size of {image_path or entry.get('image_id')}: no height/width "
        "in the annotation and no image file"
    )


def _sample(entry: dict, name: str, image_path: Path | None, h: int, w: int) -> OcclusionSample:
    regions = entry.get("regions")
    if not isinstance(regions, list):
        raise FileFormatError(f"{name}: COCOA annotations need a 'regions' list")
    amodal, order, names, stuff = {}, {}, {}, {}
    for k, reg in enumerate(regions, start=1):
        try:
            amodal[k] = polygon_mask(reg["segmentation"], h, w)
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(
                f"{name}: region {k} has no usable 'segmentation' ({exc})"
            ) from None
        order[k] = float(reg.get("order", k))
        names[k] = str(reg.get("name", ""))
        stuff[k] = bool(reg.get("isStuff", False))
    inst = np.zeros((h, w), np.int32)
    for k in sorted(amodal, key=lambda i: -order[i]):  # back to front: front paints last
        vis = regions[k - 1].get("visible_mask")
        m = rle_to_mask(vis) if isinstance(vis, dict) else amodal[k]
        inst[m] = k
    if isinstance(entry.get("depth_constraint"), str):
        pairs = [(a, b) for a, b in parse_depth_constraint(entry["depth_constraint"])]
        bad = [p for p in pairs if p[0] not in amodal or p[1] not in amodal]
        if bad:
            raise FileFormatError(f"{name}: depth_constraint names unknown regions {bad}")
    else:
        pairs = [
            (a, b) if order[a] < order[b] else (b, a)
            for a in amodal
            for b in amodal
            if a < b and order[a] != order[b] and (amodal[a] & amodal[b]).any()
        ]
    return OcclusionSample(
        name=name,
        image_path=image_path,
        instances=inst,
        classes={k: int(stuff[k]) for k in amodal},  # 0 = thing, 1 = stuff
        pairs=sorted(pairs),
        amodal=amodal,
        names=names,
    )


def _load_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"cannot read {path} ({exc})") from None
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"{path} is malformed JSON ({exc})") from None


def read_cocoa_image(json_path: str | os.PathLike, image_path: str | os.PathLike | None = None):
    """Read one per-image COCOA JSON (``N.json`` next to ``N.jpg``) as an OcclusionSample."""
    json_path = Path(json_path)
    if image_path is None:
        cands = [json_path.with_suffix(s) for s in (".jpg", ".jpeg", ".png")]
        image_path = next((c for c in cands if c.is_file()), cands[0])
    image_path = Path(image_path)
    entry = _load_json(json_path)
    if not isinstance(entry, dict):
        raise FileFormatError(f"{json_path}: expected a JSON object with 'regions'")
    h, w = _image_size(entry, image_path)
    return _sample(entry, json_path.stem, image_path, h, w)


def list_cocoa_folder(root: str | os.PathLike) -> list[Path]:
    """Per-image JSON files of a COCOA sample folder (sorted)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder of COCOA N.jpg + N.json files")
    return sorted(p for p in root.glob("*.json") if not p.name.startswith("."))


def read_cocoa_dataset(
    json_path: str | os.PathLike, image_root: str | os.PathLike | None = None
) -> list[OcclusionSample]:
    """Read a COCOA data-set JSON (``annotations`` with ``regions`` and ``depth_constraint``)."""
    data = _load_json(Path(json_path))
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise FileFormatError(f"{json_path}: a COCOA data set JSON has an 'annotations' list")
    images = {im.get("id"): im for im in data.get("images", []) if isinstance(im, dict)}
    root = Path(image_root) if image_root is not None else None
    out = []
    for ann in data["annotations"]:
        info = {**images.get(ann.get("image_id"), {}), **ann}
        fname = info.get("file_name") or str(info.get("url", "")).split("/")[-1] or None
        img = root / fname if root is not None and fname else None
        h, w = _image_size(info, img)
        name = Path(fname).stem if fname else str(ann.get("image_id"))
        out.append(_sample(ann, name, img, h, w))
    return out
