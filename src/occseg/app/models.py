"""The library's trained models as the app's optional extensions (:mod:`occseg.app.capabilities`).

* :class:`OBBoundaryModel` — boundary mode over :class:`~occseg.predict.boundaries.OBPredictor`
  (a checkpoint of ``occseg train boundaries``);
* :class:`NetworkOrderModel` — automatic ordering over
  :class:`~occseg.predict.ordernet.OrderNetPredictor` (a checkpoint of ``occseg train order``).

Both networks see a large photograph shrunk as the click model does
(:class:`~occseg.predict.transforms.NetworkView`, over
:class:`~occseg.predict.transforms.LimitLongestSide`): a 12-megapixel photo never runs through a
network at full size. The boundary map comes back at the image's size.

:func:`network_extensions` builds both as ``occseg annotate`` chooses them: the shipped models
by default, where installed.

>>> ext = Extensions(OBBoundaryModel("ob.pt"), NetworkOrderModel("order.pt"))  # doctest: +SKIP
>>> app = create_app(project, predictor, extensions=ext)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from occseg.app.capabilities import Extensions
from occseg.app.proposals import RegionProposals
from occseg.errors import ConfigError, InteractionError
from occseg.occlusion.graph import ADJACENCY_GAP, grown_instances
from occseg.occlusion.pipeline import ORDER_MAX_SIDE, order_masks
from occseg.predict.boundaries import OBPredictor
from occseg.predict.boundary_map import default_ob_model
from occseg.predict.ordernet import default_order_model, load_order_model
from occseg.predict.transforms import NetworkView
from occseg.types import Scribble

__all__ = [
    "ADJACENCY_GAP",
    "OFF",
    "NetworkOrderModel",
    "OBBoundaryModel",
    "grown_instances",
    "network_extensions",
    "proposals_layer",
]


class OBBoundaryModel:
    """:class:`~occseg.app.capabilities.BoundaryModel` over a scribble-interactive OB network.

    Without scribbles the map is the automatic step; with scribbles it is one refinement step
    from the automatic output (the model's previous output), given the FN/FP maps of all the
    scribbles, as in paper ``000`` (Sec. 3.2). Both are cached for the current image. The
    network sees the image at most ``max_side`` pixels long
    (:class:`~occseg.predict.transforms.NetworkView`), scribbles mapped to its pixels; the maps
    come back at the image's size.

    Parameters
    ----------
    model
        Checkpoint written by ``occseg train boundaries``, or an
        :class:`~occseg.predict.boundaries.OBPredictor` (anything with its ``set_image``,
        ``automatic`` and ``predict(scribbles, previous_prob=)``).
    max_side
        Longest image side the network sees (None: full size).
    """

    def __init__(self, model: str | os.PathLike | Any, *, max_side: int | None = None) -> None:
        self.predictor = OBPredictor(model) if isinstance(model, str | os.PathLike) else model
        self.max_side = max_side
        self._view: NetworkView | None = None
        self._auto: tuple[np.ndarray, np.ndarray] | None = None  # network size, image size
        self._last: tuple[tuple[Scribble, ...], np.ndarray] | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` RGB image."""
        self._view = None
        view = NetworkView(image, self.max_side)
        self.predictor.set_image(view.image)
        self._view = view
        self._auto = None
        self._last = None

    def predict_boundaries(self, scribbles: Sequence[Scribble]) -> np.ndarray:
        """``H×W float32`` boundary probability given FN (``"fn"``) / FP (``"fp"``) scribbles."""
        if self._view is None:
            raise InteractionError("no image set; call set_image(image) first")
        view = self._view
        if self._auto is None:
            auto = np.asarray(self.predictor.automatic(), np.float32)
            self._auto = (auto, view.to_image(auto))
        key = tuple(scribbles)
        if not key:
            return self._auto[1]
        if self._last is None or self._last[0] != key:
            mapped = tuple(Scribble(view.points(s.points), s.kind) for s in key)
            prob = self.predictor.predict(mapped, previous_prob=self._auto[0])
            self._last = (key, view.to_image(prob))
        return self._last[1]


class NetworkOrderModel:
    """:class:`~occseg.app.capabilities.OrderModel` over an occlusion-order network (OOSIS).

    The network's oriented boundaries (decoded: NMS, threshold, orientation → pixel pairs
    ``p`` occludes ``q``) vote between the user's masks; two masks are ordered by the majority
    of the pairs between them (ties: no order). Masks up to :data:`ADJACENCY_GAP` pixels apart
    still meet (:func:`grown_instances`). The boundary map of boundary mode is not used.

    The network sees the image at most ``max_side`` pixels long
    (:class:`~occseg.predict.transforms.NetworkView`); its maps are decoded and the masks vote
    at that size (the masks shrunk to it), since the pixel pairs are 4-neighbours of the
    network's pixels and NMS on a 12-megapixel map would take longer than the network.

    Parameters
    ----------
    model
        Checkpoint written by ``occseg train order``, or anything with its ``predict_maps(image)
        -> OrderMaps`` (an :class:`~occseg.predict.ordernet.OrderNetPredictor`).
    max_side
        Longest image side the network sees (None: full size).
    """

    def __init__(self, model: str | os.PathLike | Any, *, max_side: int | None = None) -> None:
        self.predictor = load_order_model(model) if isinstance(model, str | os.PathLike) else model
        self.max_side = max_side

    def order_objects(
        self, image: np.ndarray, masks: Sequence[np.ndarray], boundaries: np.ndarray | None
    ) -> list[tuple[int, int]]:
        """``(front, back)`` index pairs: ``masks[front]`` occludes ``masks[back]``."""
        if len(masks) < 2:
            return []
        view = NetworkView(image, self.max_side)
        maps = self.predictor.predict_maps(view.image)
        return order_masks(maps, [view.mask(m) for m in masks])


#: The value of ``--boundary-model`` / ``--order-model`` / ``--proposals`` that turns the
#: feature off.
OFF = "none"


def _checkpoint(choice: str | os.PathLike | None, shipped: Callable[[], Path]) -> Path | None:
    """The checkpoint ``choice`` asks for: the shipped one for None when it is installed
    (else None), None for :data:`OFF`, else the path (checked when loaded)."""
    if choice is None:
        try:
            return shipped()
        except ConfigError:  # not installed: the app starts without the feature
            return None
    return None if str(choice).lower() == OFF else Path(choice)


def network_extensions(
    boundary_model: str | os.PathLike | None = None,
    order_model: str | os.PathLike | None = None,
    *,
    max_side: int | None = None,
) -> Extensions:
    """Boundary mode and automatic ordering with the library's networks, as chosen by
    ``occseg annotate --boundary-model / --order-model``.

    Parameters
    ----------
    boundary_model, order_model
        None: the shipped model (:func:`~occseg.predict.boundary_map.default_ob_model`,
        :func:`~occseg.predict.ordernet.default_order_model`) where installed, and the feature
        off where not; :data:`OFF` (``"none"``): the feature off; else the path of a checkpoint
        written by ``occseg train boundaries`` / ``occseg train order``.
    max_side
        Longest image side the networks see (None: full size); the order network sees at most
        :data:`~occseg.occlusion.pipeline.ORDER_MAX_SIDE` pixels whatever this says, the size
        at which it orders objects best (on the 5 COCOA photos, given objects: recall 0.80 and
        accuracy 0.85 at 400 px against 0.74 and 0.79 at their full 640 px).

    Raises
    ------
    ConfigError
        If a given checkpoint does not exist.
    FileFormatError
        If a given file is not a checkpoint of that kind.
    """
    ob = _checkpoint(boundary_model, default_ob_model)
    order = _checkpoint(order_model, default_order_model)
    order_side = min(max_side, ORDER_MAX_SIDE) if max_side else ORDER_MAX_SIDE
    return Extensions(
        boundary=None if ob is None else OBBoundaryModel(ob, max_side=max_side),
        order=None if order is None else NetworkOrderModel(order, max_side=order_side),
    )


def proposals_layer(features: str, *, max_side: int | None = None) -> RegionProposals | None:
    """The proposals layer as ``occseg annotate --proposals FEATURES`` chooses it: None for
    :data:`OFF` (``"none"``), else :class:`~occseg.app.proposals.RegionProposals` over those
    features.

    Raises
    ------
    ConfigError
        For unknown features.
    """
    if features.lower() == OFF:
        return None
    return RegionProposals(features=features, max_side=max_side)
