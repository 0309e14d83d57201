"""Boundary mode: FN/FP scribbles and the boundary map they correct (model outside the lock)."""

from __future__ import annotations

import json

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response

from occseg.app import document as D
from occseg.app.schemas import ScribbleIn, VersionIn
from occseg.app.state import CapabilityMissing, State, png
from occseg.errors import InteractionError

router = APIRouter(prefix="/api/images/{name}")


@router.post("/scribbles")
def scribble(name: str, body: ScribbleIn, state: State) -> dict:
    """Add an FN (missed boundary) or FP (false boundary) scribble."""
    if state.boundary is None:
        raise CapabilityMissing("boundary mode needs an occlusion-boundary model")

    def change(doc: dict) -> None:
        for y, x in body.points:
            D.check_point(doc, y, x)
        doc["scribbles"].append({"kind": body.kind, "points": [list(p) for p in body.points]})

    return state.mutate(name, body.version, change)


@router.post("/scribbles/undo")
def undo_scribble(name: str, body: VersionIn, state: State) -> dict:
    """Take back the last scribble."""

    def change(doc: dict) -> None:
        if not doc["scribbles"]:
            raise InteractionError("there is no scribble to undo")
        doc["scribbles"].pop()

    return state.mutate(name, body.version, change)


@router.get("/boundaries.png")
def boundaries(name: str, state: State) -> Response:
    """The thinned boundary map (yellow on transparent) for the current scribbles, at the
    project's display threshold."""
    if state.boundary is None:
        raise CapabilityMissing("boundary mode needs an occlusion-boundary model")
    with state.project.lock:
        scribbles = D.scribbles_of(state.project.document(name))
        image = state.project.image(name)
        threshold = state.project.boundary_threshold
    key = json.dumps([threshold, [[s.kind, s.points] for s in scribbles]])
    cached = state.boundary_png.get(name)
    if cached is None or cached[0] != key:
        ob = state.boundary_map(name, image, scribbles, threshold)
        rgba = np.zeros((*ob.shape, 4), np.uint8)
        rgba[ob] = (255, 255, 0, 255)
        cached = state.boundary_png[name] = (key, png(rgba))
    return Response(cached[1], media_type="image/png", headers={"Cache-Control": "no-store"})
