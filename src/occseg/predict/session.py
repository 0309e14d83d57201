"""A :class:`Session`: one image, several objects, each with its clicks, probability and undo/redo.

The click protocol (:func:`occseg.eval.clicks.evaluate_sample`) and the annotation app both drive
a session, so the app gives exactly the masks that the evaluation measures: every click is
predicted from all the object's clicks so far with the object's previous *probability* fed back,
and the mask is ``prob > predictor.threshold``.

Each step keeps the probability it produced and, for a predictor with per-object state (a
:class:`Stateful` one, e.g. one wearing :class:`~occseg.predict.transforms.ZoomIn`, whose crop
depends on the object's history), that state; undo and redo therefore need no model call. With a
memory budget (``max_bytes``) the least recently used probabilities are dropped and recomputed
by replay when needed, so the results stay the same.

**Serialisation replays clicks.** :meth:`Session.to_dict` holds the clicks only, not the
probabilities: a probability is an ``H×W float32`` map (megabytes per step), and storing it
rounded would change what the model is fed back. Predictors are deterministic, so
:meth:`Session.from_dict` restores the clicks and the first model call on an object replays its
earlier clicks once, giving back the very probabilities (and zoom-in crops) of the original
session — one model call per earlier click, once per object after a restart, which is cheap next
to the cost of a wrong mask.

**Adopted masks.** An :class:`AdoptedMask` in an object's history (e.g. a region proposal the
annotator accepted) sets the object's probability to that mask (1 inside, 0 outside) without a
model call; the clicks after it are predicted with it fed back as the previous probability, as
if the model had produced it, and the interactions before it are not passed on.

**Threads.** :meth:`Session.propose` runs the model without changing the session; the app runs
it outside its project lock and applies the result with :meth:`Session.commit` under the lock,
which refuses a proposal made from an object that has changed since. Several sessions may share
one predictor through a :class:`SharedPredictor`, which serialises model calls and gives the
predictor the right image.

>>> from occseg.classical import GraphCutPredictor
>>> from occseg.types import Click
>>> image = np.zeros((40, 60, 3), np.uint8); image[10:30, 10:30] = 200
>>> session = Session(GraphCutPredictor(), image)
>>> cat = session.add_object()
>>> prob = session.add_click(cat, Click(20, 20, True))
>>> int(session.mask(cat).sum())
400
>>> session.undo(cat); session.clicks(cat)
()
>>> session.redo(cat); session.to_dict()["objects"][0]["clicks"]
[{'y': 20, 'x': 20, 'positive': True, 'kind': 'click'}]
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from occseg.errors import FileFormatError, InteractionError, OccsegError
from occseg.io.coco import rle_to_mask
from occseg.predictor import Predictor
from occseg.types import BoundaryClick, Click

__all__ = [
    "AdoptedMask",
    "Entry",
    "Interaction",
    "PredictorOutputError",
    "Proposal",
    "Session",
    "SharedPredictor",
    "StaleProposal",
    "Stateful",
    "Step",
    "interaction_from_dict",
    "interaction_to_dict",
]

#: The point interactions a session records.
Interaction = Click | BoundaryClick


@dataclass(frozen=True)
class AdoptedMask:
    """A whole mask adopted as an object's state (e.g. an accepted region proposal), clicked
    at ``(y, x)``; ``counts`` is its COCO compressed RLE for an ``H×W`` image (``size``)."""

    y: int
    x: int
    counts: str
    size: tuple[int, int]

    def probability(self) -> np.ndarray:
        """``H×W float32``: 1 inside the mask, 0 outside."""
        return rle_to_mask({"size": list(self.size), "counts": self.counts}).astype(np.float32)


#: What an object's history holds: point interactions and adopted masks.
Entry = Interaction | AdoptedMask


class StaleProposal(OccsegError):
    """A proposal was made from an object that has changed since (another change came first)."""


class PredictorOutputError(OccsegError):
    """The predictor returned a probability map that does not fit the image."""


@runtime_checkable
class Stateful(Protocol):
    """A predictor whose prediction depends on per-object state beyond the clicks and
    ``prev_prob`` (e.g. a kept zoom-in crop); a :class:`Session` saves and restores it."""

    def get_state(self) -> Any:
        """The state after the last prediction."""

    def set_state(self, state: Any) -> None:
        """Restore a state returned by :meth:`get_state`."""


def interaction_to_dict(click: Entry) -> dict[str, Any]:
    """``{"y", "x", "positive", "kind"}`` of a click (``kind``: ``"click"`` or ``"boundary"``);
    an adopted mask has ``kind`` ``"mask"`` and its COCO RLE as ``"rle"``."""
    if isinstance(click, AdoptedMask):
        rle = {"size": list(click.size), "counts": click.counts}
        return {"y": int(click.y), "x": int(click.x), "positive": True, "kind": "mask", "rle": rle}
    if isinstance(click, BoundaryClick):
        return {"y": int(click.y), "x": int(click.x), "positive": True, "kind": "boundary"}
    return {"y": int(click.y), "x": int(click.x), "positive": bool(click.positive), "kind": "click"}


def interaction_from_dict(data: Any) -> Entry:
    """The inverse of :func:`interaction_to_dict`; :class:`FileFormatError` if malformed."""
    try:
        y, x, kind = int(data["y"]), int(data["x"]), data.get("kind", "click")
        positive = bool(data.get("positive", True))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise FileFormatError(
            f"an interaction needs integer 'y' and 'x' fields, got {data!r}"
        ) from None
    if kind == "boundary":
        return BoundaryClick(y, x)
    if kind == "mask":
        try:
            h, w = (int(v) for v in data["rle"]["size"])
            counts = data["rle"]["counts"]
        except (KeyError, TypeError, ValueError):
            raise FileFormatError(
                f"an adopted mask needs an 'rle' with 'size' and 'counts', got {data!r}"
            ) from None
        if not isinstance(counts, str):
            raise FileFormatError("an adopted mask needs compressed RLE 'counts' (a string)")
        return AdoptedMask(y, x, counts, (h, w))
    if kind != "click":
        raise FileFormatError(
            f"interaction kind must be 'click', 'boundary' or 'mask', got {kind!r}"
        )
    return Click(y, x, positive)


def _state_of(predictor: Any) -> Any:
    return predictor.get_state() if isinstance(predictor, Stateful) else None


class SharedPredictor:
    """One predictor used in turn by several sessions (and threads).

    :meth:`use` holds a lock while the predictor works and calls ``set_image`` only when the
    predictor holds another image. Any model with ``set_image`` can be shared this way (the
    app shares its boundary model too).
    """

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None
        #: The predictor's state right after ``set_image`` (the state of a new object).
        self.initial_state: Any = None

    @contextmanager
    def use(self, image: np.ndarray) -> Iterator[Any]:
        """The predictor, prepared for ``image`` and reserved for the caller."""
        with self._lock:
            if self._image is not image:
                self._image = None  # until set_image has succeeded
                self.predictor.set_image(image)
                self._image = image
                self.initial_state = _state_of(self.predictor)
            yield self.predictor


@dataclass(frozen=True)
class Step:
    """One interaction and what it produced.

    ``key`` names its probability in the session's cache (None until computed, e.g. after
    :meth:`Session.from_dict`); ``state`` is the predictor's state after the step (None for a
    predictor that is not :class:`Stateful`).
    """

    click: Entry
    key: int | None = None
    state: Any = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _Track:
    """One object's history; immutable, so that a snapshot is a reference."""

    steps: tuple[Step, ...] = ()
    redo: tuple[Step, ...] = ()

    @property
    def clicks(self) -> tuple[Entry, ...]:
        return tuple(s.click for s in self.steps)


_EMPTY = _Track()


@dataclass(frozen=True)
class Proposal:
    """The result of a click on ``obj``, computed from the object as it was (``base``).

    ``probs`` holds the probabilities it computed (the click's and any replayed ones) by key.
    """

    obj: int
    base: _Track
    track: _Track
    probs: dict[int, np.ndarray]

    @property
    def prob(self) -> np.ndarray:
        """The probability after the click."""
        key = self.track.steps[-1].key
        assert key is not None
        return self.probs[key]

    @property
    def seconds(self) -> float:
        """Model time of the click (earlier clicks replayed not counted)."""
        return self.track.steps[-1].seconds


class _ProbabilityCache:
    """Probabilities by key, least recently used dropped beyond ``max_bytes`` (None: never).

    The newest entry is always kept; a dropped probability is recomputed by replay.
    """

    def __init__(self, max_bytes: int | None) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: int | None) -> np.ndarray | None:
        if key is None:
            return None
        with self._lock:
            prob = self._items.get(key)
            if prob is not None:
                self._items.move_to_end(key)
            return prob

    def put(self, probs: dict[int, np.ndarray]) -> None:
        with self._lock:
            for key, prob in probs.items():
                self._bytes += prob.nbytes - (self._items[key].nbytes if key in self._items else 0)
                self._items[key] = prob
                self._items.move_to_end(key)
            while (
                self.max_bytes is not None and self._bytes > self.max_bytes and len(self._items) > 1
            ):
                self._bytes -= self._items.popitem(last=False)[1].nbytes


class Session:
    """Interactive segmentation of one image: objects, their clicks, probabilities, undo/redo.

    Parameters
    ----------
    predictor
        Any :class:`~occseg.predictor.Predictor`, or a :class:`SharedPredictor` shared with
        other sessions. Its ``threshold`` turns probabilities into masks.
    image
        The ``H×W×3 uint8`` RGB image; the predictor gets it on the first model call (or on
        :meth:`prepare`).
    max_bytes
        Memory for probabilities (None: keep every step's). Beyond it the least recently used
        ones are dropped and recomputed by replay when needed: results stay exact.
    """

    def __init__(
        self,
        predictor: Predictor | SharedPredictor,
        image: np.ndarray,
        *,
        max_bytes: int | None = None,
    ) -> None:
        self.shared = (
            predictor if isinstance(predictor, SharedPredictor) else SharedPredictor(predictor)
        )
        self.image = image
        self._tracks: dict[int, _Track] = {}
        self._next_id = 1
        self._probs = _ProbabilityCache(max_bytes)
        self._keys = itertools.count()

    # -- reading ----------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """The predictor's threshold: the mask is ``prob > threshold``."""
        return float(self.shared.predictor.threshold)

    @property
    def objects(self) -> list[int]:
        """Ids of the objects, in the order they were added."""
        return list(self._tracks)

    def _track(self, obj: int) -> _Track:
        track = self._tracks.get(obj)
        if track is None:
            raise InteractionError(f"the session has no object {obj}; add it with add_object()")
        return track

    def clicks(self, obj: int) -> tuple[Entry, ...]:
        """The interactions of ``obj`` in effect (undone ones left out)."""
        return self._track(obj).clicks

    def redo_clicks(self, obj: int) -> tuple[Entry, ...]:
        """The undone interactions of ``obj`` that :meth:`redo` brings back (next one last)."""
        return tuple(s.click for s in self._track(obj).redo)

    def prob(self, obj: int) -> np.ndarray | None:
        """The probability after the last click of ``obj`` (None before its first click);
        replays clicks if it is not in memory (after :meth:`from_dict`)."""
        track = self._track(obj)
        if not track.steps:
            return None
        prob = self._probs.get(track.steps[-1].key)
        if prob is None:
            fresh: dict[int, np.ndarray] = {}
            with self.shared.use(self.image) as predictor:
                done = self._complete(track, predictor, fresh)
            self._probs.put(fresh)
            if self._tracks.get(obj) is track:
                self._tracks[obj] = done
            key = done.steps[-1].key
            assert key is not None
            prob = fresh[key]
        return prob

    def mask(self, obj: int) -> np.ndarray:
        """``H×W bool`` mask of ``obj``: ``prob > threshold`` (empty before its first click)."""
        prob = self.prob(obj)
        if prob is None:
            return np.zeros(self.image.shape[:2], bool)
        return prob > self.threshold

    # -- the model ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Run the predictor's per-image work now rather than on the first click."""
        with self.shared.use(self.image):
            pass

    def _restore(self, predictor: Any, previous: Step | None) -> None:
        if isinstance(predictor, Stateful):
            predictor.set_state(previous.state if previous else self.shared.initial_state)

    def _lookup(self, step: Step, fresh: dict[int, np.ndarray]) -> np.ndarray | None:
        if step.key is not None and step.key in fresh:
            return fresh[step.key]
        return self._probs.get(step.key)

    def _step(
        self,
        predictor: Any,
        done: Sequence[Step],
        click: Entry,
        fresh: dict[int, np.ndarray],
    ) -> Step:
        """Predict ``click`` after the steps ``done`` (the last one's probability known); the
        probability goes into ``fresh``. An adopted mask is its own probability (no model
        call, the state of a new object); the model sees only the clicks after the last one."""
        h, w = self.image.shape[:2]
        if isinstance(click, AdoptedMask):
            if click.size != (h, w):
                raise InteractionError(
                    f"the adopted mask is {click.size[1]}×{click.size[0]} but the image is "
                    f"{w}×{h}; adopt a mask of this image"
                )
            key = next(self._keys)
            fresh[key] = click.probability()
            return Step(click, key, self.shared.initial_state)
        previous = done[-1] if done else None
        self._restore(predictor, previous)
        prev_prob = self._lookup(previous, fresh) if previous else None
        entries = [*(s.click for s in done), click]
        last = max((i for i, e in enumerate(entries) if isinstance(e, AdoptedMask)), default=-1)
        clicks = [e for e in entries[last + 1 :] if not isinstance(e, AdoptedMask)]
        start = time.perf_counter()
        prob = predictor.predict(clicks, prev_prob=prev_prob)
        seconds = time.perf_counter() - start
        prob = np.asarray(prob)
        if prob.shape != (h, w):
            raise PredictorOutputError(
                f"the model returned a {prob.shape} map for a {h}×{w} image; the model is broken"
            )
        key = next(self._keys)
        fresh[key] = prob
        return Step(click, key, _state_of(predictor), seconds)

    def _complete(self, track: _Track, predictor: Any, fresh: dict[int, np.ndarray]) -> _Track:
        """``track`` with its last probability known: the clicks after the last step whose
        probability is in memory are replayed in order (new probabilities go into ``fresh``)."""
        steps = list(track.steps)
        start = len(steps)
        while start > 0 and self._lookup(steps[start - 1], fresh) is None:
            start -= 1
        for i in range(start, len(steps)):
            steps[i] = self._step(predictor, steps[:i], steps[i].click, fresh)
        return replace(track, steps=tuple(steps))

    def propose(self, obj: int, click: Entry) -> Proposal:
        """Predict ``click`` on ``obj`` without changing the session (see :meth:`commit`).

        An ``obj`` the session does not hold yet starts a new object with that id.

        Raises
        ------
        InteractionError
            If the predictor refuses the click (e.g. outside the image).
        """
        base = self._tracks.get(obj, _EMPTY)
        fresh: dict[int, np.ndarray] = {}
        with self.shared.use(self.image) as predictor:
            done = self._complete(base, predictor, fresh)
            step = self._step(predictor, done.steps, click, fresh)
        return Proposal(obj, base, _Track((*done.steps, step), ()), fresh)

    def commit(self, proposal: Proposal) -> np.ndarray:
        """Apply a proposal; returns its probability.

        Raises
        ------
        StaleProposal
            If the object changed since the proposal was made.
        """
        if self._tracks.get(proposal.obj, _EMPTY) is not proposal.base:
            raise StaleProposal(
                f"object {proposal.obj} changed while the click was being predicted; click again"
            )
        self._tracks[proposal.obj] = proposal.track
        self._probs.put(proposal.probs)
        self._next_id = max(self._next_id, proposal.obj + 1)
        return proposal.prob

    def add_click(self, obj: int, click: Entry) -> np.ndarray:
        """Add ``click`` to ``obj`` (forgetting its redo list); returns the new probability."""
        self._track(obj)
        return self.commit(self.propose(obj, click))

    # -- editing -----------------------------------------------------------------------------
    def add_object(self) -> int:
        """Start a new object; returns its id."""
        obj = self._next_id
        self._tracks[obj] = _EMPTY
        self._next_id = obj + 1
        return obj

    def remove_object(self, obj: int) -> None:
        """Forget ``obj``."""
        self._track(obj)
        del self._tracks[obj]

    def undo(self, obj: int) -> None:
        """Take back the last click of ``obj`` (no model call)."""
        track = self._track(obj)
        if not track.steps:
            raise InteractionError(f"object {obj} has nothing to undo")
        self._tracks[obj] = _Track(track.steps[:-1], (*track.redo, track.steps[-1]))

    def redo(self, obj: int) -> None:
        """Re-apply the last undone click of ``obj`` (no model call)."""
        track = self._track(obj)
        if not track.redo:
            raise InteractionError(f"object {obj} has nothing to redo")
        self._tracks[obj] = _Track((*track.steps, track.redo[-1]), track.redo[:-1])

    def load_object(self, obj: int, clicks: Sequence[Entry], redo: Sequence[Entry] = ()) -> None:
        """Set ``obj``'s clicks and redo list; probabilities are recomputed when needed."""
        self._tracks[obj] = _Track(tuple(Step(c) for c in clicks), tuple(Step(c) for c in redo))
        self._next_id = max(self._next_id, obj + 1)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the objects' clicks and redo lists (see the module doc)."""
        return {
            "objects": [
                {
                    "id": obj,
                    "clicks": [interaction_to_dict(s.click) for s in track.steps],
                    "redo": [interaction_to_dict(s.click) for s in track.redo],
                }
                for obj, track in self._tracks.items()
            ]
        }

    @classmethod
    def from_dict(
        cls,
        predictor: Predictor | SharedPredictor,
        image: np.ndarray,
        data: Any,
        *,
        max_bytes: int | None = None,
    ) -> Session:
        """A session over ``image`` with the objects of ``data`` (from :meth:`to_dict`).

        Raises
        ------
        FileFormatError
            If ``data`` is not such a dict.
        """
        session = cls(predictor, image, max_bytes=max_bytes)
        try:
            objects = [(int(o["id"]), o["clicks"], o.get("redo", [])) for o in data["objects"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise FileFormatError(
                "a session dict needs 'objects': [{'id': int, 'clicks': [...], 'redo': [...]}]"
            ) from None
        for obj, clicks, redo in objects:
            session.load_object(
                obj,
                [interaction_from_dict(c) for c in clicks],
                [interaction_from_dict(c) for c in redo],
            )
        return session
