"""Writing synthetic samples and data sets to disk (one folder per sample).

Layout of a data set folder::

    index.json            list of samples (folder, size, object count, occlusion count)
    instances.json        COCO-style instances (RLE masks) + COCOA-style occlusion order
    000000/rgb.png        H×W×3 uint8
    000000/depth.npy      H×W float32 metres along the optical axis, inf = nothing hit
    000000/instances.png  H×W uint16, 0 = room / background
    000000/ob.png         H×W uint8 0/255 occlusion-boundary pixels (occluder side)
    000000/ob_occludes.npy  H×W×4 bool: occludes left, right, top, bottom neighbour
    000000/ob_angle.npy   H×W float32 radians (PIOD, occluder on the left), NaN off-boundary
    000000/ob_contact.png H×W uint8 0/255 contact pixels: boundary pixels of ob.png whose every
                          event is two objects touching (standing on the floor or on each other),
                          no separated occlusion; ob.png minus this map is the separated OB
    000000/meta.json      camera K and pose, objects, lights, "occlusions": [[front, back], ...]

``occlusions`` (and COCOA's ``depth_constraint``) list only separated occlusions, each pair of
objects at most once (:mod:`occseg.synth.boundaries`); ``ob.png`` and ``ob_occludes.npy`` are the
full Mesh2OB map, contacts included. Format version 2 added ``ob_contact.png`` and this order;
version 1 listed every pair with an event, contacts included, often in both directions.

A shard ``K/N`` of a data set writes its samples (named by their index in the whole data set) and,
instead of the two index files, ``shard-K-of-N.json``: its records, from which the index files of
the whole data set are written once all shards are done.

Every file is written atomically and deterministically: the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from occseg.errors import FileFormatError, OccsegError
from occseg.io import atomic_write_bytes, atomic_write_json, write_png
from occseg.parallel import Shard
from occseg.synth.render import SceneRender

#: Category ids of the COCO file, by object kind.
CATEGORIES = ["box", "cylinder", "sphere", "torus", "lathe", "table", "chair", "mesh"]
FORMAT_VERSION = 2


def npy_bytes(array: np.ndarray) -> bytes:
    """Serialise an array in ``.npy`` format (deterministic bytes)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def write_sample(folder: str | os.PathLike, render: SceneRender, meta: dict) -> None:
    """Write one rendered sample (see the module docstring for the files).

    ``meta`` is stored in ``meta.json`` with ``occlusions`` and the image size added.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / "rgb.png", render.rgb)
    atomic_write_bytes(folder / "depth.npy", npy_bytes(render.depth.astype(np.float32)))
    write_png(folder / "instances.png", render.instances.astype(np.uint16))
    write_png(folder / "ob.png", render.ob.astype(np.uint8) * 255)
    atomic_write_bytes(folder / "ob_occludes.npy", npy_bytes(render.ob_occludes.astype(bool)))
    atomic_write_bytes(folder / "ob_angle.npy", npy_bytes(render.ob_angle.astype(np.float32)))
    write_png(folder / "ob_contact.png", render.ob_contact.astype(np.uint8) * 255)
    full = dict(meta)
    full["height"], full["width"] = (int(s) for s in render.rgb.shape[:2])
    full["occlusions"] = [[int(a), int(b)] for a, b in render.occlusions]
    full["format_version"] = FORMAT_VERSION
    atomic_write_json(folder / "meta.json", full)


def coco_records(render: SceneRender, objects: Sequence[dict]) -> tuple[list[dict], str]:
    """COCO annotations (without ids) for the visible objects, and the COCOA depth constraint.

    Annotations are ordered by instance id; the depth constraint is COCOA's string form
    ``"1-2,3-2"``: region ``i`` (1-based position in that order) occludes region ``j``. Only
    object-object occlusions are listed (the room is not an annotated region).
    """
    anns: list[dict] = []
    position: dict[int, int] = {}
    for obj in objects:
        inst = int(obj["id"])
        mask = render.visible.get(inst)
        if mask is None:
            continue
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        kind = obj.get("kind", "mesh")
        anns.append(
            {
                "instance_id": inst,
                "category_id": CATEGORIES.index(kind) + 1
                if kind in CATEGORIES
                else len(CATEGORIES),
                "name": obj.get("name", f"object_{inst}"),
                "segmentation": {
                    "size": list(rle["size"]),
                    "counts": rle["counts"].decode("ascii"),
                },
                "area": int(mask.sum()),
                "bbox": [round(float(v), 2) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
            }
        )
        position[inst] = len(anns)
    pairs = [
        f"{position[a]}-{position[b]}"
        for a, b in render.occlusions
        if a in position and b in position
    ]
    return anns, ",".join(pairs)


def assemble_coco(records: Sequence[dict]) -> dict:
    """Merge per-sample records into one COCO dict with COCOA ``depth_constraint`` per image."""
    images, annotations = [], []
    ann_id = 1
    for image_id, rec in enumerate(records, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": f"{rec['folder']}/rgb.png",
                "width": rec["width"],
                "height": rec["height"],
                "depth_constraint": rec["depth_constraint"],
                "annotation_ids": list(range(ann_id, ann_id + len(rec["annotations"]))),
            }
        )
        for ann in rec["annotations"]:
            annotations.append({"id": ann_id, "image_id": image_id, **ann})
            ann_id += 1
    return {
        "info": {
            "description": "occseg synthetic occlusion scenes",
            "depth_constraint": "COCOA form per image: 'i-j' means annotation i occludes "
            "annotation j (1-based positions in the image's annotation_ids)",
        },
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(CATEGORIES)],
    }


def finish_dataset(out: str | os.PathLike, records: Sequence[dict], info: dict) -> None:
    """Write ``index.json`` and ``instances.json`` for the written samples."""
    out = Path(out)
    index = {
        "format": "occseg-synth",
        "format_version": FORMAT_VERSION,
        **info,
        "samples": [
            {
                "folder": r["folder"],
                "width": r["width"],
                "height": r["height"],
                "n_objects": r["n_objects"],
                "n_occlusions": r["n_occlusions"],
            }
            for r in records
        ],
    }
    atomic_write_json(out / "index.json", index)
    atomic_write_json(out / "instances.json", assemble_coco(records), indent=None)


def sample_record(folder: str, render: SceneRender, objects: Sequence[dict]) -> dict:
    """Everything ``index.json`` and ``instances.json`` need from one written sample."""
    anns, constraint = coco_records(render, objects)
    h, w = render.rgb.shape[:2]
    return {
        "folder": folder,
        "width": int(w),
        "height": int(h),
        "n_objects": len(objects),
        "n_occlusions": len(render.occlusions),
        "annotations": anns,
        "depth_constraint": constraint,
    }


def shard_file_name(shard: Shard) -> str:
    """The name of the file a shard writes instead of the index files: ``shard-K-of-N.json``."""
    return f"shard-{shard.index}-of-{shard.count}.json"


def write_shard_records(
    out: str | os.PathLike, shard: Shard, records: Sequence[dict], info: dict
) -> None:
    """Write a shard's records and the data set's ``info`` (see :func:`finish_dataset`)."""
    doc = {
        "format": "occseg-synth-shard",
        "format_version": FORMAT_VERSION,
        "shard": str(shard),
        "info": info,
        "records": list(records),
    }
    atomic_write_json(Path(out) / shard_file_name(shard), doc, indent=None)


def read_shard_records(folder: str | os.PathLike) -> list[tuple[Shard, dict, list[dict]]]:
    """Every ``shard-K-of-N.json`` in ``folder`` as ``(shard, info, records)``.

    Raises
    ------
    FileFormatError
        If such a file is unreadable or malformed.
    """
    found = []
    for path in sorted(Path(folder).glob("shard-*-of-*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            found.append((Shard.parse(doc["shard"]), dict(doc["info"]), list(doc["records"])))
        except (OSError, KeyError, TypeError, ValueError, OccsegError) as exc:
            raise FileFormatError(f"{path} is not a readable synth shard file ({exc})") from None
    return found
