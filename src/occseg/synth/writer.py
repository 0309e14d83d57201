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
    000000/meta.json      camera K and pose, objects, lights, "occlusions": [[front, back], ...]

Every file is written atomically and deterministically: the same seed gives the same bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from occseg.io import atomic_write_bytes, atomic_write_json, write_png
from occseg.synth.render import SceneRender

#: Category ids of the COCO file, by object kind.
CATEGORIES = ["box", "cylinder", "sphere", "torus", "lathe", "table", "chair", "mesh"]
FORMAT_VERSION = 1


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


def run_jobs(
    task: Callable[[int], dict],
    indices: Sequence[int],
    jobs: int,
    progress: bool = True,
    label: str = "synth",
) -> list[dict]:
    """Run ``task(i)`` for every index (in ``jobs`` processes) with a progress bar; keep order."""
    from occseg.progress import progress_bar

    results: list[dict] = []
    with progress_bar(disable=not progress) as bar:
        handle = bar.add_task(label, total=len(indices))
        if jobs <= 1:
            for i in indices:
                results.append(task(i))
                bar.advance(handle)
        else:
            with _single_threaded_children():
                ctx = get_context("forkserver")
                # Workers fork from a clean server that has imported the renderer but never
                # started Embree's thread pool (forking after that is unsafe).
                ctx.set_forkserver_preload(["occseg.synth.dataset"])
                pool = ctx.Pool(jobs)
            with pool:
                for res in pool.imap(task, indices, chunksize=1):
                    results.append(res)
                    bar.advance(handle)
    return results


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _single_threaded_children():
    """Start worker processes with one BLAS/OpenMP thread each (processes already fill cores)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: "1" for k in _THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
