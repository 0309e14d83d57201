"""Project-wide routes: ``GET /api/info``, ``PATCH /api/settings``, ``GET /api/images``,
``POST /api/export``."""

from __future__ import annotations

from fastapi import APIRouter

from occseg.app.export import export_coco
from occseg.app.schemas import SettingsIn
from occseg.app.state import State

router = APIRouter()


@router.get("/api/info")
def info(state: State) -> dict:
    """Model, capabilities and limits of this server."""
    project = state.project
    return {
        "model": state.model_name,
        "capabilities": state.capabilities,
        "images": len(project.names),
        "images_dir": str(project.images_dir),
        "out_dir": str(project.out_dir),
        "classes": project.meta.get("classes", []),
        "max_body_bytes": state.max_body_bytes,
        "settings": _settings(state),
    }


def _settings(state: State) -> dict:
    return {"boundary_threshold": state.project.boundary_threshold}


@router.patch("/api/settings")
def settings(body: SettingsIn, state: State) -> dict:
    """Change project-wide settings (saved in ``project.json``): the display threshold of the
    boundary map (boundary mode; automatic ordering gets the map as shown)."""
    state.project.set_boundary_threshold(body.boundary_threshold)
    return {"settings": _settings(state)}


@router.get("/api/images")
def images(state: State) -> dict:
    """Image names and object counts."""
    with state.project.lock:
        return {"images": state.project.summary()}


@router.post("/api/export")
def export(state: State) -> dict:
    """COCO export of the whole project (refused if an annotated image is missing or changed)."""
    with state.project.lock:
        result = export_coco(state.project.out_dir)
    return {
        "coco_json": str(result.coco_json),
        "images": result.n_images,
        "annotations": result.n_annotations,
        "categories": result.n_categories,
    }
