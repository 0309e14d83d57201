"""The annotation app's HTTP server: a JSON API over :class:`~occseg.app.project.Project`.

Routes (all JSON unless noted; every change carries the ``version`` it was made against)::

    GET    /                                   the page (static/index.html)
    GET    /api/info                           model, capabilities, limits
    GET    /api/images                         image names and object counts
    GET    /api/images/{name}/image            the image as the model sees it (PNG; JPEG if large)
    GET    /api/images/{name}/annotation       the document as the page sees it
    GET    /api/images/{name}/version          its saved version (tabs poll it to spot others)
    POST   /api/images/{name}/clicks           {version, object_id|null, y, x, positive, kind}
    POST   /api/images/{name}/undo             {version, object_id}
    POST   /api/images/{name}/redo             {version, object_id}
    PATCH  /api/images/{name}/objects/{id}     {version, label?, color?, visible?, finished?}
    DELETE /api/images/{name}/objects/{id}?version=N   (kept in the trash)
    POST   /api/images/{name}/objects/{id}/restore         {version}: undo a delete
    POST   /api/images/{name}/order            {version, action: add|remove|clear, front, back}
    POST   /api/images/{name}/order/auto       {version}            (when an order model exists)
    POST   /api/images/{name}/scribbles        {version, kind, points}  (with a boundary model)
    POST   /api/images/{name}/scribbles/undo   {version}
    GET    /api/images/{name}/boundaries.png   thinned boundary map (boundary mode)
    POST   /api/export                         COCO export of the whole project

Errors: 404 unknown image/object, 409 version conflict or missing capability, 413 body too
large, 422 malformed body or invalid interaction; every error body is ``{"detail": message}``.
"""

from __future__ import annotations

import copy
import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import BackgroundTasks, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from occseg.app import document as D
from occseg.app.capabilities import Extensions, capabilities, resolve_extensions
from occseg.app.limits import BodySizeLimit
from occseg.app.project import ImageNotFound, Project
from occseg.app.scaling import ScaledPredictor
from occseg.app.schemas import ClickIn, ObjectIn, ObjectPatch, OrderIn, ScribbleIn, VersionIn
from occseg.errors import ConfigError, InteractionError, OccsegError
from occseg.predict import Predictor
from occseg.types import BoundaryClick, Click, Scribble

__all__ = ["LOOPBACK_HOSTS", "STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_BODY_BYTES = 256 * 1024
JPEG_ABOVE_PIXELS = 2_000_000


class CapabilityMissing(OccsegError):
    """The requested feature needs a model that this server does not have."""


def _status(exc: OccsegError) -> int:
    if isinstance(exc, D.VersionConflict | CapabilityMissing):
        return 409
    if isinstance(exc, ImageNotFound | D.ObjectNotFound):
        return 404
    if isinstance(exc, InteractionError | ConfigError):
        return 422
    return 409  # e.g. a damaged annotation file: the stored state conflicts with the request


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err.get("type") == "json_invalid":
            return "invalid request: the body is not valid JSON; send a JSON object"
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _display_image(image: np.ndarray) -> tuple[bytes, str]:
    """The image for the page: lossless PNG, or JPEG (q=92) above 2 megapixels to load fast."""
    if image.shape[0] * image.shape[1] <= JPEG_ABOVE_PIXELS:
        return _png(image), "image/png"
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=92)
    return buf.getvalue(), "image/jpeg"


def create_app(
    project: Project,
    predictor: Predictor,
    *,
    model_name: str = "",
    extensions: Extensions | None = None,
    allowed_hosts: list[str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_side: int | None = None,
) -> FastAPI:
    """Build the FastAPI application.

    Parameters
    ----------
    project
        Image folder and annotation store.
    predictor
        Any :class:`~occseg.predict.Predictor` (used under a lock, one image at a time).
    extensions
        Optional boundary / order models (see :mod:`occseg.app.capabilities`).
    allowed_hosts
        Accepted ``Host`` headers (defence against DNS rebinding); default: loopback names.
    max_body_bytes
        Larger request bodies are refused with 413.
    max_side
        Run the click model on images downscaled to at most this many pixels on their longer
        side (:class:`~occseg.app.scaling.ScaledPredictor`); None: full resolution. Not applied
        when the predictor also serves as the boundary or order model.
    """
    ext = resolve_extensions(predictor, extensions)
    caps = capabilities(predictor, ext)
    if max_side and predictor is not ext.boundary and predictor is not ext.order:
        predictor = ScaledPredictor(predictor, max_side)
    state: dict[str, Any] = {"image": None, "boundary_image": None, "png": {}, "ob": {}}
    app = FastAPI(title="occseg annotate", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or list(LOOPBACK_HOSTS))
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)

    @app.exception_handler(OccsegError)
    async def _occseg_error(_: Request, exc: OccsegError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _bad_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "not found: no such page or API route"
        return JSONResponse({"detail": detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}: {exc}); see the server's log"},
            status_code=500,
        )

    # -- helpers --------------------------------------------------------------------------------
    def set_image(name: str) -> np.ndarray:
        image = project.image(name)
        if state["image"] != name:
            state["image"] = None  # until set_image has succeeded
            predictor.set_image(image)
            state["image"] = name
        return image

    def mutate(name: str, version: int, change: Callable[[dict], dict | None]) -> dict:
        """Apply ``change`` to the document under the lock; bump, save atomically, or roll back."""
        with project.lock:
            doc = project.document(name)
            D.check_version(doc, version)
            backup = copy.deepcopy(doc)
            try:
                extra = change(doc) or {}
                D.bump(doc)
                project.save(doc)
            except BaseException:
                doc.clear()
                doc.update(backup)
                raise
            return {"doc": D.public_view(doc), **extra}

    def predict_object(name: str, doc: dict, obj: dict, step: dict) -> dict:
        set_image(name)
        steps = [*D.interactions_of(obj), (step["y"], step["x"], step["positive"], step["kind"])]
        clicks = [Click(y, x, p) if k == "click" else BoundaryClick(y, x) for y, x, p, k in steps]
        prev = D.object_mask(doc, obj).astype(np.float32) if obj["steps"] else None
        t0 = time.perf_counter()
        prob = np.asarray(predictor.predict(clicks, prev_prob=prev))
        ms = round((time.perf_counter() - t0) * 1000.0, 1)
        if prob.shape != (doc["height"], doc["width"]):
            raise OccsegError(f"the model returned a {prob.shape} map for a {doc['height']}×"
                              f"{doc['width']} image; the model is broken")  # fmt: skip
        D.push_step(doc, obj, dict(step, ms=ms), prob >= 0.5)
        return {"object_id": obj["id"], "ms": ms}

    def boundary_map(name: str, doc: dict) -> np.ndarray:
        from skimage.morphology import thin

        model = ext.boundary
        if model is None:
            raise CapabilityMissing("boundary mode needs an occlusion-boundary model")
        if state["boundary_image"] != name:
            state["boundary_image"] = None
            model.set_image(project.image(name))
            state["boundary_image"] = name
        scribbles = [
            Scribble(tuple((int(y), int(x)) for y, x in s["points"]), s["kind"])
            for s in doc.get("scribbles", [])
        ]
        prob = np.asarray(model.predict_boundaries(scribbles))
        return thin(prob >= 0.5)

    # -- pages ----------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # -- read -----------------------------------------------------------------------------------
    @app.get("/api/info")
    def info() -> dict:
        return {
            "model": model_name,
            "capabilities": caps,
            "images": len(project.names),
            "images_dir": str(project.images_dir),
            "out_dir": str(project.out_dir),
            "classes": project.meta.get("classes", []),
            "max_body_bytes": max_body_bytes,
        }

    @app.get("/api/images")
    def images() -> dict:
        with project.lock:
            return {"images": project.summary()}

    @app.get("/api/images/{name}/image")
    def image(name: str) -> Response:
        with project.lock:
            cached = state["png"].get(name)
            if cached is None:
                cached = _display_image(project.image(name))
                if len(state["png"]) >= 4:
                    state["png"].pop(next(iter(state["png"])))
                state["png"][name] = cached
        data, media_type = cached
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-cache"})

    @app.get("/api/images/{name}/version")
    def doc_version(name: str) -> dict:
        with project.lock:
            return {"version": project.document(name)["version"]}

    def prepare(name: str) -> None:
        with project.lock:
            set_image(name)

    @app.get("/api/images/{name}/annotation")
    def annotation(name: str, background: BackgroundTasks) -> dict:
        with project.lock:
            view = D.public_view(project.document(name))
        background.add_task(prepare, name)  # the model's per-image work, before the first click
        return view

    # -- object mode ----------------------------------------------------------------------------
    @app.post("/api/images/{name}/clicks")
    def click(name: str, body: ClickIn) -> dict:
        if body.kind == "boundary" and not caps["boundary_clicks"]:
            raise CapabilityMissing("boundary clicks need a model that supports them")

        def change(doc: dict) -> dict:
            D.check_point(doc, body.y, body.x)
            if body.object_id is None:
                obj = D.add_object(doc)
                if body.label and body.label.strip() != obj["label"]:
                    D.update_object(doc, obj, {"label": body.label})
                    project.add_class(obj["label"])
            else:
                obj = D.get_object(doc, body.object_id)
            step = {"y": body.y, "x": body.x, "positive": body.positive, "kind": body.kind}
            if body.kind == "boundary":
                step["positive"] = True
            return predict_object(name, doc, obj, step)

        return mutate(name, body.version, change)

    @app.post("/api/images/{name}/undo")
    def undo(name: str, body: ObjectIn) -> dict:
        return mutate(name, body.version, lambda d: D.undo(d, D.get_object(d, body.object_id)))

    @app.post("/api/images/{name}/redo")
    def redo(name: str, body: ObjectIn) -> dict:
        return mutate(name, body.version, lambda d: D.redo(d, D.get_object(d, body.object_id)))

    @app.patch("/api/images/{name}/objects/{object_id}")
    def patch_object(name: str, object_id: int, body: ObjectPatch) -> dict:
        changes = body.model_dump(exclude={"version"}, exclude_none=True)
        if not changes:
            raise InteractionError("nothing to change: give label, color, visible or finished")

        def change(doc: dict) -> None:
            D.update_object(doc, D.get_object(doc, object_id), changes)
            if changes.get("label"):
                project.add_class(D.get_object(doc, object_id)["label"])

        return mutate(name, body.version, change)

    @app.delete("/api/images/{name}/objects/{object_id}")
    def delete_object(name: str, object_id: int, version: int = Query(ge=0)) -> dict:
        return mutate(name, version, lambda d: D.delete_object(d, D.get_object(d, object_id)))

    @app.post("/api/images/{name}/objects/{object_id}/restore")
    def restore_object(name: str, object_id: int, body: VersionIn) -> dict:
        return mutate(
            name, body.version, lambda d: {"object_id": D.restore_object(d, object_id)["id"]}
        )

    # -- order mode -----------------------------------------------------------------------------
    @app.post("/api/images/{name}/order")
    def order(name: str, body: OrderIn) -> dict:
        def change(doc: dict) -> None:
            if body.action == "clear":
                doc["order"] = []
                return
            if body.front is None or body.back is None:
                raise InteractionError(f"'{body.action}' needs both 'front' and 'back' object ids")
            if body.action == "add":
                D.set_in_front(doc, body.front, body.back)
            else:
                D.remove_order(doc, body.front, body.back)

        return mutate(name, body.version, change)

    @app.post("/api/images/{name}/order/auto")
    def auto_order(name: str, body: VersionIn) -> dict:
        model = ext.order
        if model is None:
            raise CapabilityMissing("automatic ordering needs an occlusion-order model")

        def change(doc: dict) -> None:
            objs = [o for o in doc["objects"] if o["steps"]]
            masks = [D.object_mask(doc, o) for o in objs]
            ob = boundary_map(name, doc).astype(np.float32) if ext.boundary else None
            pairs = model.order_objects(project.image(name), masks, ob)
            doc["order"] = []
            for a, b in pairs:
                D.set_in_front(doc, objs[int(a)]["id"], objs[int(b)]["id"])

        return mutate(name, body.version, change)

    # -- boundary mode --------------------------------------------------------------------------
    @app.post("/api/images/{name}/scribbles")
    def scribble(name: str, body: ScribbleIn) -> dict:
        if ext.boundary is None:
            raise CapabilityMissing("boundary mode needs an occlusion-boundary model")

        def change(doc: dict) -> None:
            for y, x in body.points:
                D.check_point(doc, y, x)
            doc["scribbles"].append({"kind": body.kind, "points": [list(p) for p in body.points]})
            state["ob"].pop(name, None)

        return mutate(name, body.version, change)

    @app.post("/api/images/{name}/scribbles/undo")
    def undo_scribble(name: str, body: VersionIn) -> dict:
        def change(doc: dict) -> None:
            if not doc["scribbles"]:
                raise InteractionError("there is no scribble to undo")
            doc["scribbles"].pop()
            state["ob"].pop(name, None)

        return mutate(name, body.version, change)

    @app.get("/api/images/{name}/boundaries.png")
    def boundaries(name: str) -> Response:
        with project.lock:
            data = state["ob"].get(name)
            if data is None:
                ob = boundary_map(name, project.document(name))
                rgba = np.zeros((*ob.shape, 4), np.uint8)
                rgba[ob] = (255, 255, 0, 255)
                data = state["ob"][name] = _png(rgba)
        return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})

    # -- export ---------------------------------------------------------------------------------
    @app.post("/api/export")
    def export() -> dict:
        from occseg.app.export import export_coco

        with project.lock:
            result = export_coco(project.out_dir)
        return {
            "coco_json": str(result.coco_json),
            "images": result.n_images,
            "annotations": result.n_annotations,
            "categories": result.n_categories,
        }

    return app
