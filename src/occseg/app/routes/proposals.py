"""The proposals layer: an image's region proposals, and adopting one as a new object."""

from __future__ import annotations

from fastapi import APIRouter

from occseg.app import document as D
from occseg.app.proposals import ImageProposals
from occseg.app.routes.objects import new_object
from occseg.app.schemas import AdoptIn
from occseg.app.state import AppState, CapabilityMissing, State
from occseg.errors import InteractionError

router = APIRouter(prefix="/api/images/{name}/proposals")


def _proposals(state: AppState, name: str) -> ImageProposals:
    """The proposals of image ``name`` (computed outside the project lock, then cached)."""
    if state.proposals is None:
        raise CapabilityMissing(
            "this server has no proposals layer; restart `occseg annotate` without --proposals none"
        )
    with state.project.lock:
        image = state.project.image(name)
    return state.proposals.of(name, image)


@router.get("")
def proposals(name: str, state: State) -> dict:
    """The image's top-K region proposals, best first, as regions of the patch grid (see
    :mod:`occseg.app.proposals`)."""
    result = _proposals(state, name)
    height, width = result.shape
    return {"image": name, "width": width, "height": height, **result.public_view()}


@router.post("/adopt")
def adopt(name: str, body: AdoptIn, state: State) -> dict:
    """Proposal ``rank``, clicked at ``(y, x)``, becomes a new object's mask (one undoable
    step; later clicks refine it with the mask as the click model's previous mask)."""
    with state.project.lock:
        doc = state.project.document(name)
        D.check_version(doc, body.version)
        D.check_point(doc, body.y, body.x)
    mask = _proposals(state, name).mask(body.rank)
    if not mask[body.y, body.x]:
        raise InteractionError(
            f"the click at (y={body.y}, x={body.x}) is not inside proposal {body.rank}; click "
            "inside the highlighted proposal"
        )

    def change(doc: dict) -> dict:
        obj = new_object(state, doc, body.label)
        D.adopt_mask(doc, obj, body.y, body.x, mask)
        return {"object_id": obj["id"]}

    return state.mutate(name, body.version, change)
