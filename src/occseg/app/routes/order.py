"""Order mode: the manual order, undoing order changes, and automatic ordering (which adds)."""

from __future__ import annotations

from fastapi import APIRouter

from occseg.app import document as D
from occseg.app.schemas import OrderIn, VersionIn
from occseg.app.state import CapabilityMissing, State
from occseg.errors import InteractionError

router = APIRouter(prefix="/api/images/{name}/order")


@router.post("")
def order(name: str, body: OrderIn, state: State) -> dict:
    """``add``: ``front`` occludes ``back``; ``remove``: forget that pair; ``clear``: all."""

    def change(doc: dict) -> None:
        if body.action == "clear":
            D.clear_order(doc)
            return
        if body.front is None or body.back is None:
            raise InteractionError(f"'{body.action}' needs both 'front' and 'back' object ids")
        if body.action == "add":
            D.set_in_front(doc, body.front, body.back)
        else:
            D.remove_order(doc, body.front, body.back)

    return state.mutate(name, body.version, change)


@router.post("/undo")
def undo_order(name: str, body: VersionIn, state: State) -> dict:
    """Go back to the order before the last order change (manual or automatic)."""
    return state.mutate(name, body.version, D.undo_order)


@router.post("/auto")
def auto_order(name: str, body: VersionIn, state: State) -> dict:
    """Pairs proposed by the order model, added where the order is still open (the models run
    outside the project lock); returns ``added``, the number of pairs added."""
    model = state.order
    if model is None:
        raise CapabilityMissing("automatic ordering needs an occlusion-order model")
    with state.project.lock:
        doc = state.project.document(name)
        D.check_version(doc, body.version)
        objects = [o for o in doc["objects"] if o["steps"]]
        ids = [o["id"] for o in objects]
        masks = [D.object_mask(doc, o) for o in objects]
        scribbles = D.scribbles_of(doc)
        image = state.project.image(name)
        threshold = state.project.boundary_threshold
    boundaries = None
    if state.boundary is not None:  # the map as boundary mode shows it
        boundaries = state.boundary_map(name, image, scribbles, threshold).astype("float32")
    with state.order_lock:
        pairs = model.order_objects(image, masks, boundaries)
    proposed = [(ids[int(a)], ids[int(b)]) for a, b in pairs]
    return state.mutate(
        name, body.version, lambda doc: {"added": D.add_proposed_order(doc, proposed)}
    )
