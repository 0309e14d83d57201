"""One image: the picture, its annotation document, and the document's version."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import Response

from occseg.app import document as D
from occseg.app.state import State

router = APIRouter(prefix="/api/images/{name}")


@router.get("/image")
def image(name: str, state: State) -> Response:
    """The image as the page shows it (PNG; JPEG if large)."""
    data, media_type = state.display_image(name)
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/annotation")
def annotation(name: str, state: State, background: BackgroundTasks) -> dict:
    """The document as the page sees it; the model's per-image work starts in the background."""
    with state.project.lock:
        doc = state.project.document(name)
        view = D.public_view(doc)
        session = state.session(name, doc)
    background.add_task(session.prepare)  # outside the lock, before the first click
    return view


@router.get("/version")
def version(name: str, state: State) -> dict:
    """The saved version (tabs poll it to notice changes made elsewhere)."""
    with state.project.lock:
        return {"version": state.project.document(name)["version"]}
