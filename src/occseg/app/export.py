"""Export an annotation project as COCO JSON (RLE masks, COCOA occlusion order) plus PNG maps.

Output (under ``OUT``, by default ``PROJECT/export``)::

    coco.json                 COCO instances: images, annotations (compressed RLE), categories
    masks/IMAGE/ID.png        one binary mask per annotation (0/255)
    masks/IMAGE.png           16-bit instance map: pixel = annotation "order" (0 = none)
    boundaries/IMAGE.png      occlusion boundaries: 255 on the front object's pixels that touch
                              an object it occludes

Occlusion order follows COCOA: within an image the annotations are sorted front to back by
relative depth and numbered by ``"order"`` (1-based); the image entry carries
``"depth_constraint"``, comma-separated ``"front-back"`` pairs of those numbers (``"1-2,1-3"``),
and ``"annotation_ids"`` in that order (as ``occseg synth`` writes them).
Every annotation also keeps ``"relative_depth"`` (0 = front-most) and its app object id.

A project whose image folder lost or changed an annotated image is refused
(:func:`check_images`): its masks would no longer describe the images beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from occseg.app.document import object_mask, order_summary, validate_document
from occseg.app.project import PROJECT_FILE, file_fingerprint
from occseg.errors import DatasetError, FileFormatError
from occseg.io import atomic_write_json, write_png
from occseg.io.coco import format_depth_constraint, mask_to_rle, rle_area, rle_bbox
from occseg.io.polygons import mask_to_polygons

__all__ = ["ExportResult", "check_images", "export_coco", "occlusion_boundaries"]


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and how much it holds."""

    coco_json: Path
    n_images: int
    n_annotations: int
    n_categories: int


def occlusion_boundaries(front: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Pixels of ``front`` that are 4-adjacent to a pixel of ``back`` outside ``front``."""
    touching = ndimage.binary_dilation(
        back & ~front, structure=ndimage.generate_binary_structure(2, 1)
    )
    return front & touching


def _load_documents(project: Path) -> tuple[dict, list[dict]]:
    meta_path = project / PROJECT_FILE
    if not meta_path.is_file():
        raise DatasetError(
            f"{project} is not an annotation project (no {PROJECT_FILE}); "
            "give the --out folder of `occseg annotate`"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise FileFormatError(f"{meta_path} is not valid JSON ({exc})") from None
    docs = []
    for path in sorted((project / "annotations").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FileFormatError(
                f"{path} is not valid JSON ({exc}); fix or move it away"
            ) from None
        if not isinstance(doc, dict):
            raise FileFormatError(f"{path} is not an occseg annotation file")
        docs.append(
            validate_document(
                doc, image=str(doc.get("image")), height=doc.get("height"), width=doc.get("width")
            )
        )
    return meta, docs


def check_images(images_dir: Path, docs: list[dict]) -> None:
    """Refuse to export annotations whose image file is missing or changed since it was
    annotated (size and SHA-256 of the file, recorded in each document's ``image_file``).

    Raises
    ------
    DatasetError
        Naming the first such image.
    """
    for doc in docs:
        path = images_dir / str(doc["image"])
        if not path.is_file():
            raise DatasetError(
                f"image {doc['image']} is missing from {images_dir}; restore the image folder "
                "the project was annotated on before exporting"
            )
        expected = doc.get("image_file")
        if expected and file_fingerprint(path) != expected:
            raise DatasetError(
                f"image {path} changed since it was annotated (other size or content); restore "
                "the original image before exporting"
            )


#: ``segmentation`` encodings of :func:`export_coco`.
MASK_FORMATS = ("rle", "polygons")


def export_coco(
    project: str | Path,
    out: str | Path | None = None,
    *,
    finished_only: bool = False,
    mask_format: str = "rle",
) -> ExportResult:
    """Export every annotated image of ``project`` (the app's ``--out`` folder).

    Parameters
    ----------
    project
        Folder holding ``project.json`` and ``annotations/``.
    out
        Output folder (default ``project/export``).
    finished_only
        Leave out objects that were not finished (Enter) yet.
    mask_format
        ``"rle"`` (compressed RLE, exact) or ``"polygons"`` (COCO polygons with holes joined
        in, :func:`occseg.io.polygons.mask_to_polygons`; also exact when decoded).
    """
    if mask_format not in MASK_FORMATS:
        raise ValueError(f"mask_format must be one of {MASK_FORMATS}, got {mask_format!r}")
    project = Path(project)
    out = Path(out) if out is not None else project / "export"
    meta, docs = _load_documents(project)
    check_images(Path(str(meta.get("images_dir", ""))), docs)
    labels = list(dict.fromkeys(meta.get("classes", [])))
    for doc in docs:
        labels += [o["label"] for o in doc["objects"] if o["steps"] and o["label"] not in labels]
    cat_id = {name: k + 1 for k, name in enumerate(labels)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for img_id, doc in enumerate(docs, start=1):
        name, h, w = doc["image"], doc["height"], doc["width"]
        depth = {int(k): v for k, v in order_summary(doc)["depth"].items()}
        objs = [(o, object_mask(doc, o)) for o in doc["objects"]]
        objs = [(o, m) for o, m in objs if m.any() and (o["finished"] or not finished_only)]
        objs.sort(key=lambda om: (depth.get(om[0]["id"], 0), om[0]["id"]))
        number = {o["id"]: k + 1 for k, (o, _) in enumerate(objs)}
        pairs = [(number[a], number[b]) for a, b in doc["order"] if a in number and b in number]
        first_ann = len(annotations) + 1
        images.append(
            {
                "id": img_id,
                "file_name": name,
                "width": w,
                "height": h,
                "depth_constraint": format_depth_constraint(pairs),
                "annotation_ids": list(range(first_ann, first_ann + len(objs))),
            }
        )
        instance_map = np.zeros((h, w), np.uint16)
        for o, m in reversed(objs):  # paint back to front: the front object wins
            instance_map[m] = number[o["id"]]
        boundaries = np.zeros((h, w), bool)
        masks = dict((o["id"], m) for o, m in objs)
        for a, b in doc["order"]:
            if a in masks and b in masks:
                boundaries |= occlusion_boundaries(masks[a], masks[b])
        for o, m in objs:
            rle = mask_to_rle(m)
            ann_id = len(annotations) + 1
            annotations.append(
                {
                    "id": ann_id,
                    "image_id": img_id,
                    "category_id": cat_id[o["label"]],
                    "segmentation": rle if mask_format == "rle" else mask_to_polygons(m),
                    "area": rle_area(rle),
                    "bbox": rle_bbox(rle),
                    "iscrowd": 0,
                    "order": number[o["id"]],
                    "relative_depth": depth.get(o["id"], 0),
                    "occseg_object_id": o["id"],
                }
            )
            write_png(out / "masks" / name / f"{ann_id}.png", m)
        write_png(out / "masks" / f"{name}.png", instance_map)
        write_png(out / "boundaries" / f"{name}.png", boundaries)
    coco = {
        "info": {
            "description": "occseg annotation export",
            "date_created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "images_dir": meta.get("images_dir", ""),
            "depth_constraint": "COCOA form per image: 'i-j' means annotation i occludes "
            "annotation j (1-based positions in the image's annotation_ids, front to back)",
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": "object"} for n, i in cat_id.items()],
    }
    path = out / "coco.json"
    atomic_write_json(path, coco, indent=None)
    return ExportResult(path, len(images), len(annotations), len(cat_id))
