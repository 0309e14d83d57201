"""The app's typed state: the project, the shared models, the sessions, and the change rule.

Every route reads an :class:`AppState` (FastAPI dependency :data:`State`). Two locks keep it
consistent without making anyone wait for a model:

* ``project.lock`` guards the documents: reading one, or applying a change (:meth:`mutate`:
  version check, change, save), takes milliseconds;
* each model sits in a :class:`~occseg.predict.session.SharedPredictor`, whose own lock
  serialises the model calls.

A change that needs a model runs in three steps: a snapshot under the project lock, the model
outside it, then the result applied under the lock with the version check, so a version poll
or a change of another image never waits behind an inference, and a change made meanwhile
makes the late result a version conflict instead of overwriting it.
"""

from __future__ import annotations

import copy
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from fastapi import Depends, Request
from PIL import Image

from occseg.app import document as D
from occseg.app.project import Project
from occseg.app.proposals import RegionProposals
from occseg.errors import OccsegError
from occseg.predict.session import Entry, PredictorOutputError, Session, SharedPredictor
from occseg.predictor import OrderModel
from occseg.types import Scribble

__all__ = ["AppState", "CapabilityMissing", "State", "app_state", "png"]

#: Images whose sessions (click histories with probabilities) stay in memory.
SESSIONS = 2
#: Memory for the probabilities of one image's session; beyond it they are replayed.
SESSION_BYTES = 256 * 2**20
#: Display images kept encoded.
DISPLAY_CACHE = 4
#: Larger images are sent to the page as JPEG (q=92) to load fast.
JPEG_ABOVE_PIXELS = 2_000_000


class CapabilityMissing(OccsegError):
    """The requested feature needs a model that this server does not have."""


def png(array: np.ndarray) -> bytes:
    """``array`` as a PNG (fast compression)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _display_image(image: np.ndarray) -> tuple[bytes, str]:
    """The image for the page: lossless PNG, or JPEG above 2 megapixels."""
    if image.shape[0] * image.shape[1] <= JPEG_ABOVE_PIXELS:
        return png(image), "image/png"
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=92)
    return buf.getvalue(), "image/jpeg"


@dataclass
class AppState:
    """Everything the routes share (one per app)."""

    project: Project
    predictor: SharedPredictor
    boundary: SharedPredictor | None
    order: OrderModel | None
    capabilities: dict[str, bool]
    model_name: str
    max_body_bytes: int
    proposals: RegionProposals | None = None
    order_lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: OrderedDict[str, Session] = field(default_factory=OrderedDict)
    display: OrderedDict[str, tuple[bytes, str]] = field(default_factory=OrderedDict)
    boundary_png: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: The last boundary probability: ``((image name, scribbles), map)``, so that a change of
    #: the display threshold needs no model call.
    boundary_prob: tuple[tuple[str, tuple[Scribble, ...]], np.ndarray] | None = None

    # -- documents ------------------------------------------------------------------------------
    def mutate(self, name: str, version: int, change: Callable[[dict], dict | None]) -> dict:
        """Apply ``change`` to the document under the lock; bump, save atomically, or roll back.

        Returns ``{"doc": public view, **what change returned}``.
        """
        with self.project.lock:
            doc = self.project.document(name)
            D.check_version(doc, version)
            backup = copy.deepcopy(doc)
            try:
                extra = change(doc) or {}
                D.bump(doc)
                self.project.save(doc)
            except BaseException:
                doc.clear()
                doc.update(backup)
                raise
            return {"doc": D.public_view(doc), **extra}

    def display_image(self, name: str) -> tuple[bytes, str]:
        """The encoded image for the page and its media type (a few are cached)."""
        with self.project.lock:
            cached = self.display.get(name)
            if cached is None:
                cached = _display_image(self.project.image(name))
                self.display[name] = cached
                while len(self.display) > DISPLAY_CACHE:
                    self.display.popitem(last=False)
            return cached

    # -- sessions -------------------------------------------------------------------------------
    def session(self, name: str, doc: dict, object_id: int | None = None) -> Session:
        """The session of image ``name`` (call under the project lock), built from the document
        when not in memory; ``object_id``'s clicks are made to match the document's."""
        session = self.sessions.get(name)
        if session is None:
            image = self.project.image(name)
            session = Session.from_dict(
                self.predictor, image, D.session_dict(doc), max_bytes=SESSION_BYTES
            )
            self.sessions[name] = session
            while len(self.sessions) > SESSIONS:
                self.sessions.popitem(last=False)
        self.sessions.move_to_end(name)
        if object_id is not None:
            obj = next((o for o in doc["objects"] if o["id"] == object_id), None)
            clicks, redo = D.interactions_of(doc, obj) if obj else ((), ())
            if not self._matches(session, object_id, (clicks, redo)):
                session.load_object(object_id, clicks, redo)  # replayed on the next click
        return session

    @staticmethod
    def _matches(
        session: Session,
        object_id: int,
        history: tuple[tuple[Entry, ...], tuple[Entry, ...]],
    ) -> bool:
        if object_id not in session.objects:
            return history == ((), ())
        return (session.clicks(object_id), session.redo_clicks(object_id)) == history

    def follow(
        self,
        name: str,
        object_id: int,
        before: tuple[tuple[Entry, ...], tuple[Entry, ...]],
        edit: Callable[[Session, int], None],
    ) -> None:
        """Apply ``edit`` (undo/redo) to the session too, if it held the object as the document
        did before the change; otherwise the next click on the object resynchronises it."""
        session = self.sessions.get(name)
        if session is not None and self._matches(session, object_id, before):
            edit(session, object_id)

    # -- boundary mode --------------------------------------------------------------------------
    def boundary_map(
        self, name: str, image: np.ndarray, scribbles: Sequence[Scribble], threshold: float
    ) -> np.ndarray:
        """The boundary map as boundary mode shows it: the model's probability for
        ``scribbles``, ``>= threshold``, thinned (bool; call outside the project lock)."""
        from occseg.occlusion.nms import thin

        if self.boundary is None:
            raise CapabilityMissing("boundary mode needs an occlusion-boundary model")
        key = (name, tuple(scribbles))
        cached = self.boundary_prob
        if cached is not None and cached[0] == key:
            prob = cached[1]
        else:
            with self.boundary.use(image) as model:
                prob = np.asarray(model.predict_boundaries(list(scribbles)))
            if prob.shape != image.shape[:2]:
                h, w = image.shape[:2]
                raise PredictorOutputError(
                    f"the boundary model returned a {prob.shape} map for a {h}×{w} image; "
                    "the model is broken"
                )
            self.boundary_prob = (key, prob)
        return thin(prob >= threshold)


def app_state(request: Request) -> AppState:
    """The :class:`AppState` of the app serving ``request``."""
    state: AppState = request.app.state.occseg
    return state


#: Route parameter type giving the app's state.
State = Annotated[AppState, Depends(app_state)]
