"""Test-time transforms that any :class:`~occseg.predictor.Predictor` can wear.

As in RITM (``isegm/inference/transforms``): a transform maps the image, the interactions and the
previous probability into the frame the wrapped predictor sees, and maps the probability that
comes back into the caller's frame. :func:`with_transforms` (:class:`TransformedPredictor`)
chains them; the result is a predictor itself, so the click protocol, the app and a
:class:`~occseg.predict.session.Session` use it like any other.

* :class:`LimitLongestSide` — the predictor sees the image shrunk so that its longer side is at
  most ``max_side`` pixels (keeps clicks interactive on large photographs);
* :class:`ZoomIn` — from the second click on, the predictor sees only a crop around the current
  object, resized to ``target_size`` (f-BRS / RITM);
* :class:`Flip` — the mean of the predictions on the view and its horizontal mirror.

Order matters: transforms apply outside-in. Put :class:`ZoomIn` before :class:`Flip` (the crop is
chosen once, then mirrored), as in ``[LimitLongestSide(1280), ZoomIn(), Flip()]``.

:class:`NetworkView` applies :class:`LimitLongestSide`'s geometry to one image outside a
predictor (the boundary and order networks of the app and ``occseg boundaries``).

A stateful transform (:class:`ZoomIn` keeps its crop while the object stays put) exposes its
state through :meth:`Transform.get_state` / :meth:`Transform.set_state`, so a
:class:`~occseg.predict.session.Session` can keep one state per object and restore it on undo.

Images flow through the chain in the dtype they were given: ``uint8`` for any predictor, and
``float32`` in [0, 1] inside :class:`~occseg.predict.clicknet.ClickNetPredictor` (its network
takes floats, so a resized crop is not rounded back to integers).

>>> from occseg.classical import GraphCutPredictor
>>> p = with_transforms(GraphCutPredictor(), [LimitLongestSide(640)])
>>> p.threshold
0.49
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from occseg.errors import ConfigError, InteractionError
from occseg.predict.session import Stateful
from occseg.predictor import Predictor, check_clicks, check_image
from occseg.types import Click

__all__ = [
    "Flip",
    "LimitLongestSide",
    "NetworkView",
    "Transform",
    "TransformedPredictor",
    "View",
    "ZoomIn",
    "box_iou",
    "object_roi",
    "with_transforms",
]

#: A box ``(y0, y1, x0, x1)``, end-exclusive.
Box = tuple[int, int, int, int]

#: Maps the probabilities of a transform's views back to one probability in the caller's frame.
Inverse = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class View:
    """What a predictor is asked: an image, the interactions so far, the previous probability.

    Interactions are any point interactions with ``y`` and ``x`` fields
    (:class:`~occseg.types.Click`, :class:`~occseg.types.BoundaryClick`).
    """

    image: np.ndarray
    clicks: tuple[Any, ...]
    prev_prob: np.ndarray | None

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        return self.image.shape[0], self.image.shape[1]


class Transform:
    """Base class: maps a :class:`View` to one or more views and their results back.

    Subclasses implement :meth:`apply`; stateful ones also :meth:`reset`, :meth:`get_state` and
    :meth:`set_state`. A transform must return the *same* image object for the same input image
    while nothing changed, so the wrapped predictor's per-image work is not repeated.
    """

    def apply(self, view: View) -> tuple[list[View], Inverse]:
        """The views the wrapped predictor is asked, and how to combine its answers."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything about the previous image (called by ``set_image``)."""

    def get_state(self) -> Any:
        """The per-object interaction state (None for stateless transforms)."""
        return None

    def set_state(self, state: Any) -> None:
        """Restore a state returned by :meth:`get_state`."""


def _resize(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``array`` resized to ``size`` = (H, W) (returned as is when it already has that size)."""
    if array.shape[:2] == size:
        return array
    return cv2.resize(array, (size[1], size[0]), interpolation=interpolation)


def _scaled(h: int, w: int, side: int) -> tuple[int, int]:
    """``(h, w)`` scaled so that the longer side is ``side`` (each side at least 1)."""
    scale = side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


class LimitLongestSide(Transform):
    """The wrapped predictor sees images at most ``max_side`` pixels long (smaller: as they are).

    The image and the previous probability are shrunk by area averaging, clicks are mapped to the
    pixel that contains them, and the probability comes back bilinearly resized, so masks are
    made at full resolution.

    Parameters
    ----------
    max_side
        Longest side the wrapped predictor sees, in pixels (at least 1).
    first_clicks
        If set, shrink only while there are at most this many clicks (coarse to fine: a network
        trained on small crops sees a large object whole at first, and the later clicks refine
        at full resolution from the previous probability).
    """

    def __init__(self, max_side: int, first_clicks: int | None = None) -> None:
        if int(max_side) < 1:
            raise ConfigError(f"max_side must be at least 1 pixel, got {max_side}")
        if first_clicks is not None and int(first_clicks) < 1:
            raise ConfigError(f"first_clicks must be at least 1, got {first_clicks}")
        self.max_side = int(max_side)
        self.first_clicks = None if first_clicks is None else int(first_clicks)
        self._source: np.ndarray | None = None
        self._small: np.ndarray | None = None

    def reset(self) -> None:
        """Drop the cached small image."""
        self._source = self._small = None

    def apply(self, view: View) -> tuple[list[View], Inverse]:
        """Shrink the view (unchanged when it is small enough)."""
        h, w = view.shape
        late = self.first_clicks is not None and len(view.clicks) > self.first_clicks
        if max(h, w) <= self.max_side or late:
            return [view], lambda probs: probs[0]
        hs, ws = _scaled(h, w, self.max_side)
        if view.image is not self._source:  # resize once per image, not once per click
            self._source = view.image
            self._small = np.ascontiguousarray(_resize(view.image, (hs, ws), cv2.INTER_AREA))
        assert self._small is not None
        clicks = tuple(
            dataclasses.replace(
                c,
                y=min(hs - 1, int((c.y + 0.5) * hs / h)),
                x=min(ws - 1, int((c.x + 0.5) * ws / w)),
            )
            for c in view.clicks
        )
        prev = view.prev_prob
        if prev is not None:
            prev = _resize(np.asarray(prev, np.float32), (hs, ws), cv2.INTER_AREA)

        def inverse(probs: list[np.ndarray]) -> np.ndarray:
            return _resize(np.asarray(probs[0], np.float32), (h, w), cv2.INTER_LINEAR)

        return [View(self._small, clicks, prev)], inverse

    def __repr__(self) -> str:
        if self.first_clicks is None:
            return f"LimitLongestSide({self.max_side})"
        return f"LimitLongestSide({self.max_side}, first_clicks={self.first_clicks})"


class NetworkView:
    """One image as a network sees it: shrunk so that its longer side is at most ``max_side``.

    The transform the click model wears in the app (:class:`LimitLongestSide`: the image and
    maps area-averaged, each point moved to the network pixel that contains it, maps resized back
    bilinearly), so every model sees a photograph alike: the app's boundary and order models and
    ``occseg boundaries``.

    Parameters
    ----------
    image
        The ``H×W×3`` image.
    max_side
        Longest side the network sees, in pixels; None or 0: the image as it is.

    Examples
    --------
    >>> view = NetworkView(np.zeros((3000, 4000, 3), np.uint8), 1000)
    >>> view.image.shape, view.points([(2999, 0)])
    ((750, 1000, 3), ((749, 0),))
    >>> view.to_image(np.zeros((750, 1000), np.float32)).shape
    (3000, 4000)
    """

    def __init__(self, image: np.ndarray, max_side: int | None) -> None:
        self.original = image
        self._limit = LimitLongestSide(max_side) if max_side else None
        self._inverse: Inverse = lambda maps: maps[0]
        self.image = image
        if self._limit is not None:
            views, self._inverse = self._limit.apply(View(image, (), None))
            self.image = views[0].image

    def _view(self, clicks: tuple[Click, ...], prob: np.ndarray | None) -> View:
        """The limit's view of ``clicks`` and of the map ``prob``."""
        if self._limit is None:
            return View(self.image, clicks, prob)
        return self._limit.apply(View(self.original, clicks, prob))[0][0]

    def points(self, points: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
        """``(y, x)`` pixels of the image mapped to the network's pixels.

        Raises
        ------
        InteractionError
            For a point outside the image.
        """
        clicks = tuple(Click(int(y), int(x), True) for y, x in points)  # points carried as clicks
        check_clicks(clicks, self.original.shape[:2])
        return tuple((c.y, c.x) for c in self._view(clicks, None).clicks)

    def mask(self, mask: np.ndarray) -> np.ndarray:
        """An ``H×W bool`` mask at the network's size (pixels at least half covered)."""
        if self._limit is None:
            return np.asarray(mask, bool)
        prob = self._view((), np.asarray(mask, np.float32)).prev_prob
        assert prob is not None
        return np.asarray(prob >= 0.5)

    def to_image(self, prob: np.ndarray) -> np.ndarray:
        """A map of the network's size back at the image's size (``float32``)."""
        return np.asarray(self._inverse([np.asarray(prob, np.float32)]), np.float32)


def box_iou(a: Box, b: Box) -> float:
    """IoU of two end-exclusive boxes ``(y0, y1, x0, x1)``.

    >>> round(box_iou((0, 10, 0, 10), (0, 10, 5, 15)), 3)
    0.333
    """
    h = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    w = max(0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = h * w
    area = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / area if area > 0 else 0.0


def _expand(lo: int, hi: int, ratio: float, minimum: int, size: int) -> tuple[int, int]:
    """Expand the end-exclusive span ``[lo, hi)`` around its centre, clamped to ``[0, size)``."""
    centre = 0.5 * (lo + hi)
    length = min(size, max((hi - lo) * ratio, minimum))
    n = round(length)
    start = min(max(0, round(centre - 0.5 * length)), size - n)
    return max(0, start), min(size, start + n)


def object_roi(
    mask: np.ndarray, clicks: Sequence[Any], expansion: float = 1.4, min_crop: int = 200
) -> Box:
    """Zoom-in box around ``mask`` ∪ positive clicks, expanded and at least ``min_crop`` wide.

    >>> m = np.zeros((300, 400), bool); m[100:140, 150:250] = True
    >>> object_roi(m, [], expansion=1.4, min_crop=50)
    (92, 148, 130, 270)
    """
    h, w = mask.shape
    region = mask.copy()
    for c in clicks:
        if getattr(c, "positive", True):
            region[c.y, c.x] = True
    ys, xs = np.nonzero(region.any(1))[0], np.nonzero(region.any(0))[0]
    if ys.size == 0:
        return 0, h, 0, w
    y0, y1 = _expand(int(ys[0]), int(ys[-1]) + 1, expansion, min_crop, h)
    x0, x1 = _expand(int(xs[0]), int(xs[-1]) + 1, expansion, min_crop, w)
    return y0, y1, x0, x1


@dataclass
class ZoomIn(Transform):
    """Zoom-in of f-BRS / RITM (Sec. 5): from the second click on, a crop around the object.

    The crop is the box of the previous mask (``prev_prob > threshold``) and the positive
    clicks, expanded ``expansion`` times and at least ``min_crop`` pixels a side; it is kept while
    the new box overlaps it with IoU ≥ ``recompute_iou`` and recomputed otherwise. The crop is
    resized so that its longer side is ``target_size``; clicks outside it are left out. Outside
    the crop the probability is ``fill`` (0 in RITM).

    The parameters are the f-BRS / RITM defaults. The kept crop is the transform's state
    (:meth:`get_state`); ``dataclasses.replace(zoom)`` gives a fresh copy with no state.
    """

    target_size: int = 400
    expansion: float = 1.4
    min_crop: int = 200
    skip_clicks: int = 1
    recompute_iou: float = 0.5
    threshold: float = 0.49
    fill: float = 0.0
    _roi: Box | None = field(default=None, init=False, repr=False, compare=False)
    _crop: tuple[np.ndarray, Box, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def reset(self) -> None:
        """Forget the crop (new image)."""
        self._roi = None
        self._crop = None

    def get_state(self) -> Box | None:
        """The crop kept for the current object (None: no crop yet)."""
        return self._roi

    def set_state(self, state: Any) -> None:
        """Restore a crop returned by :meth:`get_state`."""
        self._roi = None if state is None else tuple(int(v) for v in state)  # type: ignore[assignment]

    def _choose_roi(self, view: View) -> Box | None:
        if len(view.clicks) <= self.skip_clicks or view.prev_prob is None:
            return None
        box = object_roi(
            view.prev_prob > self.threshold, view.clicks, self.expansion, self.min_crop
        )
        if self._roi is None or box_iou(box, self._roi) < self.recompute_iou:
            self._roi = box
        return self._roi

    def _cropped(self, image: np.ndarray, roi: Box, size: tuple[int, int]) -> np.ndarray:
        """The resized crop, the same object while image and crop stay the same."""
        if self._crop is None or self._crop[0] is not image or self._crop[1] != roi:
            y0, y1, x0, x1 = roi
            crop = _resize(image[y0:y1, x0:x1], size, cv2.INTER_LINEAR)
            self._crop = (image, roi, crop)
        return self._crop[2]

    def apply(self, view: View) -> tuple[list[View], Inverse]:
        """Crop and resize the view around the object (unchanged for the first click)."""
        roi = self._choose_roi(view)
        if roi is None:
            return [view], lambda probs: probs[0]
        assert view.prev_prob is not None
        h, w = view.shape
        y0, y1, x0, x1 = roi
        ch, cw = y1 - y0, x1 - x0
        th, tw = _scaled(ch, cw, self.target_size)
        image = self._cropped(view.image, roi, (th, tw))
        prev = _resize(view.prev_prob[y0:y1, x0:x1].astype(np.float32), (th, tw), cv2.INTER_LINEAR)
        sy, sx = th / ch, tw / cw
        mapped = (
            dataclasses.replace(
                c, y=math.floor((c.y - y0 + 0.5) * sy), x=math.floor((c.x - x0 + 0.5) * sx)
            )
            for c in view.clicks
        )
        clicks = tuple(c for c in mapped if 0 <= c.y < th and 0 <= c.x < tw)

        def inverse(probs: list[np.ndarray]) -> np.ndarray:
            out = np.full((h, w), self.fill, np.float32)
            out[y0:y1, x0:x1] = _resize(probs[0], (ch, cw), cv2.INTER_LINEAR)
            return out

        return [View(image, clicks, np.ascontiguousarray(prev, np.float32))], inverse


class Flip(Transform):
    """The mean of the predictions on the view and on its horizontal mirror."""

    def __init__(self) -> None:
        self._source: np.ndarray | None = None
        self._mirror: np.ndarray | None = None

    def reset(self) -> None:
        """Drop the cached mirror image."""
        self._source = self._mirror = None

    def apply(self, view: View) -> tuple[list[View], Inverse]:
        """The view and its mirror image (image, clicks and previous probability)."""
        w = view.shape[1]
        if view.image is not self._source:
            self._source = view.image
            self._mirror = np.ascontiguousarray(view.image[:, ::-1])
        assert self._mirror is not None
        clicks = tuple(dataclasses.replace(c, x=w - 1 - c.x) for c in view.clicks)
        prev = None if view.prev_prob is None else np.ascontiguousarray(view.prev_prob[:, ::-1])

        def inverse(probs: list[np.ndarray]) -> np.ndarray:
            return (0.5 * (probs[0] + probs[1][:, ::-1])).astype(np.float32)

        return [view, View(self._mirror, clicks, prev)], inverse

    def __repr__(self) -> str:
        return "Flip()"


def _check_image(image: np.ndarray) -> np.ndarray:
    """A ``H×W×3`` float image (for networks) as it is; anything else through ``check_image``."""
    floating = isinstance(image, np.ndarray) and image.dtype.kind == "f"
    if floating and image.ndim == 3 and image.shape[2] == 3:
        return image
    return check_image(image)


class TransformedPredictor:
    """A predictor wearing test-time transforms; itself a :class:`~occseg.predictor.Predictor`.

    Parameters
    ----------
    inner
        The wrapped predictor. It is given each view's image through ``set_image`` whenever the
        image changes (once per image for :class:`LimitLongestSide`, per crop for
        :class:`ZoomIn`, twice per click for :class:`Flip`), which is cheap for networks and
        repeats the per-image work of a classical predictor.
    transforms
        Applied in order, the first outermost.

    Attributes ``threshold``, ``supports_boundary_clicks`` and ``boundary_clicks_only`` are the
    wrapped predictor's.
    """

    def __init__(self, inner: Predictor, transforms: Sequence[Transform]) -> None:
        self.inner = inner
        self.transforms = list(transforms)
        self._image: np.ndarray | None = None
        self._inner_image: np.ndarray | None = None

    @property
    def threshold(self) -> float:
        """The wrapped predictor's mask threshold."""
        return float(self.inner.threshold)

    @property
    def supports_boundary_clicks(self) -> bool:
        """Whether the wrapped predictor accepts boundary clicks."""
        return bool(getattr(self.inner, "supports_boundary_clicks", False))

    @property
    def boundary_clicks_only(self) -> bool:
        """Whether the wrapped predictor refines with boundary clicks only."""
        return bool(getattr(self.inner, "boundary_clicks_only", False))

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new image: reset the transforms and give the wrapped predictor the view
        of the first click (e.g. the shrunk image)."""
        image = _check_image(image)
        self._image = self._inner_image = None
        for t in self.transforms:
            t.reset()
        view = View(image, (), None)
        for t in self.transforms:
            view = t.apply(view)[0][0]
        self._show(view.image)
        self._image = image

    def _show(self, image: np.ndarray) -> None:
        if image is not self._inner_image:
            self._inner_image = None  # until set_image has succeeded
            self.inner.set_image(image)
            self._inner_image = image

    def _predict(self, view: View, depth: int) -> np.ndarray:
        if depth == len(self.transforms):
            self._show(view.image)
            return np.asarray(self.inner.predict(list(view.clicks), view.prev_prob), np.float32)
        views, inverse = self.transforms[depth].apply(view)
        return inverse([self._predict(v, depth + 1) for v in views])

    def predict(self, clicks: Sequence[Any], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Object probability in the caller's frame (``H×W float32``).

        Clicks are checked here, then mapped into each view (clicks that a crop leaves out are
        not passed on).

        Raises
        ------
        InteractionError
            Before :meth:`set_image`, for a click outside the image or a ``prev_prob`` of
            another shape than the image.
        """
        if self._image is None:
            raise InteractionError("call set_image(image) before predict(clicks)")
        h, w = self._image.shape[:2]
        check_clicks(clicks, (h, w))
        if prev_prob is not None and np.shape(prev_prob) != (h, w):
            raise InteractionError(
                f"prev_prob has shape {np.shape(prev_prob)} but the image is {(h, w)}; "
                "pass the previous prediction for this image (or None)"
            )
        return self._predict(View(self._image, tuple(clicks), prev_prob), 0)

    def get_state(self) -> tuple[tuple[Any, ...], Any]:
        """The per-object states of the transforms and of the wrapped predictor (see
        :class:`~occseg.predict.session.Session`)."""
        inner = self.inner.get_state() if isinstance(self.inner, Stateful) else None
        return tuple(t.get_state() for t in self.transforms), inner

    def set_state(self, state: tuple[tuple[Any, ...], Any]) -> None:
        """Restore states returned by :meth:`get_state`."""
        transforms, inner = state
        for t, s in zip(self.transforms, transforms, strict=True):
            t.set_state(s)
        if isinstance(self.inner, Stateful):
            self.inner.set_state(inner)

    def __repr__(self) -> str:
        return f"with_transforms({self.inner!r}, {self.transforms!r})"


def with_transforms(predictor: Predictor, transforms: Sequence[Transform]) -> TransformedPredictor:
    """``predictor`` wearing ``transforms`` (applied in order, the first outermost).

    >>> from occseg.classical import GraphCutPredictor
    >>> p = with_transforms(GraphCutPredictor(), [ZoomIn(), Flip()])
    >>> [type(t).__name__ for t in p.transforms]
    ['ZoomIn', 'Flip']
    """
    return TransformedPredictor(predictor, transforms)
