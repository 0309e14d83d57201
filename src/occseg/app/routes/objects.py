"""Object mode: clicks (the model runs outside the project lock), undo/redo, edits, delete."""

from __future__ import annotations

from fastapi import APIRouter, Query

from occseg.app import document as D
from occseg.app.schemas import ClickIn, ObjectIn, ObjectPatch, VersionIn
from occseg.app.state import CapabilityMissing, State
from occseg.errors import InteractionError
from occseg.predict.session import Interaction, Session
from occseg.types import BoundaryClick, Click

router = APIRouter(prefix="/api/images/{name}")


@router.post("/clicks")
def click(name: str, body: ClickIn, state: State) -> dict:
    """A click on object ``object_id`` (None: a new object); its mask is ``prob > threshold``.

    A boundary click (``kind="boundary"``, Two-in-One refinement) refines an object that a first
    (positive) click has selected. The object's session is read under the project lock, the
    model runs outside it, and the result is applied under the lock if the document is still at
    ``version``.
    """
    if body.kind == "boundary" and not state.capabilities["boundary_clicks"]:
        raise CapabilityMissing("boundary clicks need a model that supports them")
    interaction: Interaction = (
        BoundaryClick(body.y, body.x)
        if body.kind == "boundary"
        else Click(body.y, body.x, body.positive)
    )
    with state.project.lock:
        doc = state.project.document(name)
        D.check_version(doc, body.version)
        D.check_point(doc, body.y, body.x)
        obj = None if body.object_id is None else D.get_object(doc, body.object_id)
        boundary_clicks = state.capabilities["boundary_clicks"]
        _check_kinds(obj, body, boundary_clicks)
        object_id = int(doc["next_id"]) if obj is None else obj["id"]
        session = state.session(name, doc, object_id)
    try:
        proposal = session.propose(object_id, interaction)
    except InteractionError:
        if body.kind == "click" and obj is not None and D.point_steps(obj) and boundary_clicks:
            # a Two-in-One model refines with boundary clicks only; say so in the page's terms
            raise InteractionError(
                "this model refines a selected object with boundary clicks only: press b "
                "(Boundary clicks) and click where the object's boundary should be"
            ) from None
        raise
    ms = round(proposal.seconds * 1000.0, 1)
    mask = proposal.prob > session.threshold

    def change(doc: dict) -> dict:
        if body.object_id is None:
            obj = new_object(state, doc, body.label)
            assert obj["id"] == object_id  # the version check guarantees it
        else:
            obj = D.get_object(doc, object_id)
        step = {"y": body.y, "x": body.x, "positive": body.kind == "boundary" or body.positive}
        D.push_step(doc, obj, {**step, "kind": body.kind, "ms": ms}, mask)
        session.commit(proposal)
        return {"object_id": object_id, "ms": ms}

    return state.mutate(name, body.version, change)


def new_object(state: State, doc: dict, label: str | None) -> dict:
    """Add a new object to ``doc`` with the class ``label`` (None: the default), which joins
    the project's classes."""
    obj = D.add_object(doc)
    if label and label.strip() != obj["label"]:
        D.update_object(doc, obj, {"label": label})
        state.project.add_class(obj["label"])
    return obj


def _check_kinds(obj: dict | None, body: ClickIn, boundary_clicks: bool) -> None:
    """Refuse a boundary click that selects nothing yet (no click since the object was made or
    adopted), and any click on an object made with boundary clicks when the model does not take
    them (its clicks could not be replayed)."""
    if body.kind == "boundary" and (obj is None or not D.point_steps(obj)):
        raise InteractionError(
            "a boundary click refines a selected object: first click inside the object to "
            "select it, then click on its boundary"
        )
    replayed = [] if obj is None else obj["steps"]
    if not boundary_clicks and any(s.get("kind") == "boundary" for s in replayed):
        raise CapabilityMissing(
            f"object {body.object_id} was made with boundary clicks, which this click model does "
            "not take; restart `occseg annotate` with a model that does (a Two-in-One "
            "checkpoint) or start a new object"
        )


def _history_change(name: str, body: ObjectIn, state: State, edit: str) -> dict:
    def change(doc: dict) -> None:
        obj = D.get_object(doc, body.object_id)
        before = D.interactions_of(doc, obj)
        (D.undo if edit == "undo" else D.redo)(doc, obj)
        state.follow(name, obj["id"], before, Session.undo if edit == "undo" else Session.redo)

    return state.mutate(name, body.version, change)


@router.post("/undo")
def undo(name: str, body: ObjectIn, state: State) -> dict:
    """Take back the last click of an object (no model call)."""
    return _history_change(name, body, state, "undo")


@router.post("/redo")
def redo(name: str, body: ObjectIn, state: State) -> dict:
    """Re-apply the last undone click of an object (no model call)."""
    return _history_change(name, body, state, "redo")


@router.patch("/objects/{object_id}")
def patch_object(name: str, object_id: int, body: ObjectPatch, state: State) -> dict:
    """Change an object's label, colour, visibility or finished state."""
    changes = body.model_dump(exclude={"version"}, exclude_none=True)
    if not changes:
        raise InteractionError("nothing to change: give label, color, visible or finished")

    def change(doc: dict) -> None:
        obj = D.get_object(doc, object_id)
        D.update_object(doc, obj, changes)
        if changes.get("label"):
            state.project.add_class(obj["label"])

    return state.mutate(name, body.version, change)


@router.delete("/objects/{object_id}")
def delete_object(name: str, object_id: int, state: State, version: int = Query(ge=0)) -> dict:
    """Delete an object (kept in the trash, with its order edges)."""
    return state.mutate(name, version, lambda d: D.delete_object(d, D.get_object(d, object_id)))


@router.post("/objects/{object_id}/restore")
def restore_object(name: str, object_id: int, body: VersionIn, state: State) -> dict:
    """Undo a delete."""
    return state.mutate(
        name, body.version, lambda d: {"object_id": D.restore_object(d, object_id)["id"]}
    )
