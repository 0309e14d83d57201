"""The annotation app's HTTP server: a JSON API over :class:`~occseg.app.project.Project`.

Routes (all JSON unless noted; every change carries the ``version`` it was made against)::

    GET    /                                   the page (static/index.html)
    GET    /api/info                           model, capabilities, limits, settings
    PATCH  /api/settings                       {boundary_threshold}: saved for the project
    GET    /api/images                         image names and object counts
    GET    /api/images/{name}/image            the image as the model sees it (PNG; JPEG if large)
    GET    /api/images/{name}/annotation       the document as the page sees it
    GET    /api/images/{name}/version          its saved version (tabs poll it to spot others)
    POST   /api/images/{name}/clicks           {version, object_id|null, y, x, positive, kind}
                                               (kind "boundary": after a selecting click)
    POST   /api/images/{name}/undo             {version, object_id}
    POST   /api/images/{name}/redo             {version, object_id}
    PATCH  /api/images/{name}/objects/{id}     {version, label?, color?, visible?, finished?}
    DELETE /api/images/{name}/objects/{id}?version=N   (kept in the trash)
    POST   /api/images/{name}/objects/{id}/restore         {version}: undo a delete
    POST   /api/images/{name}/order            {version, action: add|remove|clear, front, back}
    POST   /api/images/{name}/order/undo       {version}: back to the order before the last change
    POST   /api/images/{name}/order/auto       {version}: adds pairs (when an order model exists)
    POST   /api/images/{name}/scribbles        {version, kind, points}  (with a boundary model)
    POST   /api/images/{name}/scribbles/undo   {version}
    GET    /api/images/{name}/boundaries.png   thinned boundary map at the project's threshold
    GET    /api/images/{name}/proposals        region proposals on the patch grid (with a layer)
    POST   /api/images/{name}/proposals/adopt  {version, rank, y, x}: proposal → new object
    POST   /api/export                         COCO export of the whole project

Errors: 404 unknown image/object, 409 version conflict or missing capability, 413 body too
large, 422 malformed body or invalid interaction; every error body is ``{"detail": message}``.

The routes live in :mod:`occseg.app.routes` (one router per mode) over the typed
:class:`~occseg.app.state.AppState`; clicks go through a :class:`~occseg.predict.session.Session`
per image, so the masks are the click protocol's (probability fed back, the predictor's own
threshold), and models run outside the project lock (see :mod:`occseg.app.state`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from occseg.app import document as D
from occseg.app.capabilities import Extensions, capabilities, resolve_extensions
from occseg.app.limits import BodySizeLimit
from occseg.app.project import ImageNotFound, Project
from occseg.app.routes import ROUTERS
from occseg.app.state import AppState, CapabilityMissing
from occseg.errors import ConfigError, InteractionError, OccsegError
from occseg.predict.session import SharedPredictor, StaleProposal
from occseg.predict.transforms import LimitLongestSide, with_transforms
from occseg.predictor import Predictor

__all__ = ["LOOPBACK_HOSTS", "STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MAX_BODY_BYTES = 256 * 1024


def _status(exc: OccsegError) -> int:
    if isinstance(exc, D.VersionConflict | CapabilityMissing | StaleProposal):
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


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes ``{"detail": one-line message}`` with a fitting status."""

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
        Any :class:`~occseg.predictor.Predictor`; its ``threshold`` makes the masks.
    extensions
        Optional boundary / order models and proposals layer (see
        :mod:`occseg.app.capabilities`).
    allowed_hosts
        Accepted ``Host`` headers (defence against DNS rebinding); default: loopback names.
    max_body_bytes
        Larger request bodies are refused with 413.
    max_side
        The click model wears :class:`~occseg.predict.transforms.LimitLongestSide`: it sees
        images at most this many pixels long (masks stay at full size); None: full resolution.
        Not applied when the predictor also serves as the boundary or order model. The
        network adapters of :mod:`occseg.app.models` take their own ``max_side`` (``occseg
        annotate`` gives them the same).
    """
    ext = resolve_extensions(predictor, extensions)
    caps = capabilities(predictor, ext)
    click_model: Predictor = predictor
    if max_side and predictor is not ext.boundary and predictor is not ext.order:
        click_model = with_transforms(predictor, [LimitLongestSide(max_side)])
    shared = SharedPredictor(click_model)
    boundary = None
    if ext.boundary is not None:
        boundary = shared if ext.boundary is click_model else SharedPredictor(ext.boundary)
    app = FastAPI(title="occseg annotate", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.occseg = AppState(
        project=project,
        predictor=shared,
        boundary=boundary,
        order=ext.order,
        capabilities=caps,
        model_name=model_name,
        max_body_bytes=max_body_bytes,
        proposals=ext.proposals,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or list(LOOPBACK_HOSTS))
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    _add_error_handlers(app)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
