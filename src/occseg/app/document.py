"""The per-image annotation document: objects built from clicks, and their occlusion order.

A document is a plain JSON-ready dict, so what is saved is exactly what is served::

    {"format": "occseg-annotation", "format_version": 1, "image": "cat.png",
     "width": W, "height": H, "image_file": {"bytes": 81234, "sha256": "<hex>"},
     "version": 12, "next_id": 3,
     "objects": [{"id": 1, "label": "cat", "color": "#e6194b", "visible": true,
                  "finished": true,
                  "steps": [{"y": 10, "x": 20, "positive": true, "kind": "click",
                             "rle": "<COCO compressed counts>", "ms": 31.5}, ...],
                  "redo": [...]}],
     "order": [[front_id, back_id], ...],
     "order_history": [[[front_id, back_id], ...], ...],
     "scribbles": [{"kind": "fn", "points": [[y, x], ...]}, ...],
     "trash": [{"object": {...}, "order": [[front_id, back_id], ...]}, ...]}

The objects' clicks are the serialised form of a :class:`~occseg.predict.session.Session`
(:func:`session_dict`; ``kind`` ``"click"``, ``"boundary"``, a boundary click of Two-in-One
refinement, or ``"mask"``, a region proposal adopted as the object's mask at the clicked point,
whose ``rle`` is that mask exactly; ``positive`` is always true for the last two): the server
replays them through the predictor to get the probabilities back after a restart, so the app
gives the masks of the click protocol. Each step also keeps the mask *after* it, so the page,
undo/redo and the export need no model. ``order_history`` holds the orders before the last
changes (:func:`undo_order`). ``image_file`` is the size and SHA-256 of the image file when the
document was made; the export refuses an image that no longer matches. The ``version`` grows
by one on every change; a change made against an older version is refused
(:class:`VersionConflict`), so two tabs cannot silently overwrite each other.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from occseg.app.ordering import find_cycles, relative_depth
from occseg.errors import FileFormatError, InteractionError, OccsegError
from occseg.io.coco import mask_to_rle, rle_area, rle_to_mask
from occseg.predict.session import Entry, interaction_from_dict
from occseg.types import Scribble

FORMAT = "occseg-annotation"
FORMAT_VERSION = 1

#: Distinct colours given to new objects in turn (Sasha Trubetskoy's list of 20).
PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#808080",
)  # fmt: skip
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_LABEL = 100
MAX_TRASH = 20  # deleted objects kept for "undo delete"
MAX_ORDER_HISTORY = 50  # order changes that can be undone
#: Kinds of the steps: a positive/negative click, a boundary click (Two-in-One refinement), or an
#: adopted mask (a region proposal; later clicks refine it).
KINDS = ("click", "boundary", "mask")


class VersionConflict(OccsegError):
    """A change was made against an outdated version of the document."""


class ObjectNotFound(OccsegError):
    """The request names an object that the document does not hold."""


def new_document(
    image: str, height: int, width: int, image_file: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An empty document for ``image`` of the given size (version 0); ``image_file`` is the
    fingerprint of the image file (see :func:`occseg.app.project.file_fingerprint`)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "image": image,
        "width": int(width),
        "height": int(height),
        "image_file": image_file,
        "version": 0,
        "next_id": 1,
        "objects": [],
        "order": [],
        "order_history": [],
        "scribbles": [],
        "trash": [],
    }


def validate_document(
    doc: Any, *, image: str, height: int | None, width: int | None
) -> dict[str, Any]:
    """Check a loaded document's structure and image size; raise :class:`FileFormatError`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FileFormatError(f"annotation of {image} is not an occseg annotation file")
    if (doc.get("height"), doc.get("width")) != (height, width):
        raise FileFormatError(
            f"annotation of {image} is for a {doc.get('width')}×{doc.get('height')} image but the "
            f"image is {width}×{height}; move the annotation file away to start over"
        )
    try:
        int(doc["version"])
        int(doc["next_id"])
        for obj in doc["objects"]:
            int(obj["id"])
            for step in obj["steps"] + obj["redo"]:
                int(step["y"]), int(step["x"]), str(step["rle"])
                if step.get("kind", "click") not in KINDS:
                    raise FileFormatError(
                        f"annotation of {image} has a click of unknown kind "
                        f"{step.get('kind')!r} (expected one of {', '.join(KINDS)}); restore it "
                        "from a backup or move it away"
                    )
        for front, back in doc["order"]:
            int(front), int(back)
        for order in doc.get("order_history", []):
            for front, back in order:
                int(front), int(back)
    except (KeyError, TypeError, ValueError):
        raise FileFormatError(
            f"annotation of {image} lacks required fields; restore it from a backup or move it away"
        ) from None
    doc.setdefault("scribbles", [])
    doc.setdefault("trash", [])
    doc.setdefault("order_history", [])
    doc.setdefault("image_file", None)
    return doc


def check_version(doc: dict, version: int) -> None:
    """Refuse a change made by a client that last saw ``version``."""
    if int(version) != int(doc["version"]):
        raise VersionConflict(
            f"{doc['image']} was changed elsewhere (another tab or window) since you loaded it "
            f"(your version {version}, saved version {doc['version']}); reload the image to "
            "continue from the saved state"
        )


def bump(doc: dict) -> None:
    """Mark one change (call after every successful mutation, before saving)."""
    doc["version"] = int(doc["version"]) + 1


def get_object(doc: dict, object_id: int) -> dict:
    """The object with ``object_id``, or :class:`ObjectNotFound`."""
    for obj in doc["objects"]:
        if obj["id"] == object_id:
            return obj
    raise ObjectNotFound(f"{doc['image']} has no object {object_id}; reload the image")


def add_object(doc: dict, label: str = "object") -> dict:
    """Append a new empty object with the next colour of the palette."""
    oid = int(doc["next_id"])
    doc["next_id"] = oid + 1
    obj = {
        "id": oid,
        "label": label,
        "color": PALETTE[(oid - 1) % len(PALETTE)],
        "visible": True,
        "finished": False,
        "steps": [],
        "redo": [],
    }
    doc["objects"].append(obj)
    return obj


def object_mask(doc: dict, obj: dict) -> np.ndarray:
    """The current ``H×W bool`` mask of ``obj`` (empty before its first click)."""
    if not obj["steps"]:
        return np.zeros((doc["height"], doc["width"]), bool)
    return rle_to_mask(_rle(doc, obj["steps"][-1]["rle"]))


def _interaction(doc: dict, step: dict) -> dict[str, Any]:
    """A step as :func:`~occseg.predict.session.interaction_from_dict` reads it (an adopted
    mask with its RLE: the mask after the step is the mask adopted)."""
    data = {k: step[k] for k in ("y", "x", "positive", "kind") if k in step}
    if step.get("kind") == "mask":
        data["rle"] = _rle(doc, step["rle"])
    return data


def interactions_of(doc: dict, obj: dict) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """The interactions of ``obj`` in effect and its undone ones (next to redo last)."""
    return (
        tuple(interaction_from_dict(_interaction(doc, s)) for s in obj["steps"]),
        tuple(interaction_from_dict(_interaction(doc, s)) for s in obj["redo"]),
    )


def session_dict(doc: dict) -> dict[str, Any]:
    """The document's objects as a :meth:`~occseg.predict.session.Session.from_dict` dict."""
    return {
        "objects": [
            {
                "id": obj["id"],
                "clicks": [_interaction(doc, s) for s in obj["steps"]],
                "redo": [_interaction(doc, s) for s in obj["redo"]],
            }
            for obj in doc["objects"]
        ]
    }


def point_steps(obj: dict) -> list[dict]:
    """The clicks of ``obj`` after its last adopted mask (all of them if it has none): the
    clicks the click model sees next to the previous mask."""
    steps = obj["steps"]
    last = max((i for i, s in enumerate(steps) if s.get("kind") == "mask"), default=-1)
    return steps[last + 1 :]


def scribbles_of(doc: dict) -> list[Scribble]:
    """The document's boundary scribbles."""
    return [
        Scribble(tuple((int(y), int(x)) for y, x in s["points"]), s["kind"])
        for s in doc.get("scribbles", [])
    ]


def check_point(doc: dict, y: int, x: int) -> None:
    """Raise :class:`InteractionError` unless ``(y, x)`` lies inside the image."""
    if not (0 <= y < doc["height"] and 0 <= x < doc["width"]):
        raise InteractionError(
            f"click at (y={y}, x={x}) is outside the {doc['width']}×{doc['height']} image"
        )


def push_step(doc: dict, obj: dict, step: dict, mask: np.ndarray) -> None:
    """Record an interaction and the mask it produced; clears the redo list."""
    step = dict(step, rle=mask_to_rle(mask)["counts"])
    obj["steps"].append(step)
    obj["redo"] = []
    obj["finished"] = False


def adopt_mask(doc: dict, obj: dict, y: int, x: int, mask: np.ndarray) -> None:
    """Make ``mask`` (``H×W bool``, e.g. a region proposal clicked at ``(y, x)``) the mask of
    ``obj`` as one undoable step; later clicks refine it."""
    check_point(doc, y, x)
    if mask.shape != (doc["height"], doc["width"]):
        raise InteractionError(
            f"a {mask.shape[1]}×{mask.shape[0]} mask cannot be adopted on the "
            f"{doc['width']}×{doc['height']} image {doc['image']}"
        )
    push_step(doc, obj, {"y": y, "x": x, "positive": True, "kind": "mask"}, mask)


def undo(doc: dict, obj: dict) -> None:
    """Take back the last interaction of ``obj``."""
    if not obj["steps"]:
        raise InteractionError(f"object {obj['id']} has nothing to undo")
    obj["redo"].append(obj["steps"].pop())


def redo(doc: dict, obj: dict) -> None:
    """Re-apply the last undone interaction of ``obj``."""
    if not obj["redo"]:
        raise InteractionError(f"object {obj['id']} has nothing to redo")
    obj["steps"].append(obj["redo"].pop())


def update_object(doc: dict, obj: dict, changes: dict[str, Any]) -> None:
    """Apply label / colour / visibility / finished changes after validating them."""
    if "label" in changes and changes["label"] is not None:
        label = str(changes["label"]).strip()
        if not label or len(label) > MAX_LABEL or any(ord(c) < 32 for c in label):
            raise InteractionError(
                f"a class label must be 1 to {MAX_LABEL} printable characters, got {label!r}"
            )
        obj["label"] = label
    if changes.get("color") is not None:
        if not _COLOUR.match(str(changes["color"])):
            raise InteractionError(f"colour must look like #rrggbb, got {changes['color']!r}")
        obj["color"] = str(changes["color"]).lower()
    if changes.get("visible") is not None:
        obj["visible"] = bool(changes["visible"])
    if changes.get("finished") is not None:
        obj["finished"] = bool(changes["finished"])


def delete_object(doc: dict, obj: dict) -> None:
    """Remove ``obj`` and every order edge that mentions it, keeping both in the trash."""
    edges = [e for e in doc["order"] if obj["id"] in e]
    doc["objects"] = [o for o in doc["objects"] if o["id"] != obj["id"]]
    doc["order"] = [e for e in doc["order"] if obj["id"] not in e]
    doc["trash"] = [*doc.get("trash", []), {"object": obj, "order": edges}][-MAX_TRASH:]


def restore_object(doc: dict, object_id: int) -> dict:
    """Bring a deleted object back from the trash, with its order edges to remaining objects."""
    found = [t for t in doc.get("trash", []) if t["object"]["id"] == object_id]
    if not found:
        raise ObjectNotFound(f"object {object_id} is not in the trash of {doc['image']}")
    item = found[-1]
    doc["trash"].remove(item)
    obj = item["object"]
    doc["objects"] = sorted([*doc["objects"], obj], key=lambda o: o["id"])
    alive = {o["id"] for o in doc["objects"]}
    doc["order"] += [e for e in item["order"] if set(e) <= alive and e not in doc["order"]]
    return obj


def _remember_order(doc: dict) -> None:
    """Keep the current order for :func:`undo_order` (call before changing it)."""
    history = [*doc.get("order_history", []), [list(e) for e in doc["order"]]]
    doc["order_history"] = history[-MAX_ORDER_HISTORY:]


def set_in_front(doc: dict, front: int, back: int) -> None:
    """Record that object ``front`` occludes object ``back`` (replacing the reverse edge)."""
    if front == back:
        raise InteractionError("an object cannot be in front of itself; pick two objects")
    get_object(doc, front), get_object(doc, back)
    _remember_order(doc)
    doc["order"] = [e for e in doc["order"] if sorted(e) != sorted([front, back])]
    doc["order"].append([front, back])


def remove_order(doc: dict, front: int, back: int) -> None:
    """Forget the order between ``front`` and ``back`` (either direction)."""
    kept = [e for e in doc["order"] if sorted(e) != sorted([front, back])]
    if len(kept) == len(doc["order"]):
        raise InteractionError(f"no order is set between objects {front} and {back}")
    _remember_order(doc)
    doc["order"] = kept


def clear_order(doc: dict) -> None:
    """Forget the whole order (undoable)."""
    _remember_order(doc)
    doc["order"] = []


def add_proposed_order(doc: dict, pairs: list[tuple[int, int]]) -> int:
    """Add ``(front, back)`` object-id pairs of an automatic ordering to the order.

    The order set so far wins: a pair is added only if neither direction is set yet, so
    automatic ordering never removes or flips what the annotator decided. Returns the number of
    pairs added (undoable as one change).
    """
    known = {frozenset(e) for e in doc["order"]}
    new = []
    for front, back in pairs:
        get_object(doc, front), get_object(doc, back)
        if front != back and frozenset((front, back)) not in known:
            known.add(frozenset((front, back)))
            new.append([int(front), int(back)])
    if new:
        _remember_order(doc)
        doc["order"] = [*doc["order"], *new]
    return len(new)


def undo_order(doc: dict) -> None:
    """Go back to the order before the last order change (edges of deleted objects left out)."""
    if not doc.get("order_history"):
        raise InteractionError("there is no order change to undo")
    alive = {o["id"] for o in doc["objects"]}
    previous = doc["order_history"].pop()
    doc["order"] = [list(e) for e in previous if set(e) <= alive]


def order_summary(doc: dict) -> dict[str, Any]:
    """Order edges, cycles (flagged contradictions) and relative depth of every object."""
    ids = [o["id"] for o in doc["objects"]]
    edges = [(int(a), int(b)) for a, b in doc["order"]]
    depth = relative_depth(ids, edges)
    return {
        "edges": [list(e) for e in edges],
        "cycles": find_cycles(ids, edges),
        "depth": {str(k): v for k, v in depth.items()},
        "can_undo": bool(doc.get("order_history")),
    }


def public_view(doc: dict) -> dict[str, Any]:
    """What the page needs: objects with their clicks and current mask, plus the order summary."""
    objects = []
    for obj in doc["objects"]:
        last = obj["steps"][-1] if obj["steps"] else None
        rle = _rle(doc, last["rle"]) if last else None
        objects.append(
            {
                "id": obj["id"],
                "label": obj["label"],
                "color": obj["color"],
                "visible": obj["visible"],
                "finished": obj["finished"],
                "clicks": [
                    {
                        "y": s["y"],
                        "x": s["x"],
                        "positive": s["positive"],
                        "kind": s.get("kind", "click"),
                    }
                    for s in obj["steps"]
                ],
                "can_undo": bool(obj["steps"]),
                "can_redo": bool(obj["redo"]),
                "mask": rle,
                "area": rle_area(rle) if rle else 0,
                "ms": last.get("ms") if last else None,
            }
        )
    return {
        "image": doc["image"],
        "width": doc["width"],
        "height": doc["height"],
        "version": doc["version"],
        "objects": objects,
        "order": order_summary(doc),
        "scribbles": doc.get("scribbles", []),
        "trash": [
            {"id": t["object"]["id"], "label": t["object"]["label"]} for t in doc.get("trash", [])
        ],
    }


def _rle(doc: dict, counts: str) -> dict:
    return {"size": [doc["height"], doc["width"]], "counts": counts}
