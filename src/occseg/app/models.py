"""The library's trained models as the app's optional extensions (:mod:`occseg.app.capabilities`).

* :class:`OBBoundaryModel` — boundary mode over :class:`~occseg.predict.boundaries.OBPredictor`
  (a checkpoint of ``occseg train boundaries``);
* :class:`NetworkOrderModel` — automatic ordering over
  :class:`~occseg.predict.ordernet.OrderNetPredictor` (a checkpoint of ``occseg train order``).

>>> ext = Extensions(OBBoundaryModel("ob.pt"), NetworkOrderModel("order.pt"))  # doctest: +SKIP
>>> app = create_app(project, predictor, extensions=ext)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from occseg.occlusion.decode import decode_boundaries
from occseg.occlusion.graph import boundary_edges
from occseg.occlusion.ordering import occ_pairs_from_oriented
from occseg.predict.boundaries import OBPredictor
from occseg.predict.ordernet import load_order_model
from occseg.types import Scribble

__all__ = ["ADJACENCY_GAP", "NetworkOrderModel", "OBBoundaryModel", "grown_instances"]

#: Masks at most this many pixels apart still count as adjacent when ordering them.
ADJACENCY_GAP = 2.0


class OBBoundaryModel:
    """:class:`~occseg.app.capabilities.BoundaryModel` over a scribble-interactive OB network.

    Without scribbles the map is the automatic step; with scribbles it is one refinement step
    from the automatic output (the model's previous output), given the FN/FP maps of all the
    scribbles, as in paper ``000`` (Sec. 3.2). Both are cached for the current image.

    Parameters
    ----------
    path
        Checkpoint written by ``occseg train boundaries``.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.predictor = OBPredictor(path)
        self._auto: np.ndarray | None = None
        self._last: tuple[tuple[Scribble, ...], np.ndarray] | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` RGB image."""
        self.predictor.set_image(image)
        self._auto = None
        self._last = None

    def predict_boundaries(self, scribbles: Sequence[Scribble]) -> np.ndarray:
        """``H×W float32`` boundary probability given FN (``"fn"``) / FP (``"fp"``) scribbles."""
        if self._auto is None:
            self._auto = self.predictor.automatic()
        key = tuple(scribbles)
        if not key:
            return self._auto
        if self._last is None or self._last[0] != key:
            self._last = (key, self.predictor.predict(key, previous_prob=self._auto))
        return self._last[1]


def grown_instances(masks: Sequence[np.ndarray], gap: float = ADJACENCY_GAP) -> np.ndarray:
    """Instance map of ``masks`` (ids ``index + 1``, later masks over earlier ones), grown by
    ``gap`` pixels into the uncovered pixels (each joins its nearest mask).

    Parameters
    ----------
    masks
        ``H×W bool`` masks of one image (at least one).
    gap
        Growth radius in pixels (Euclidean).

    Returns
    -------
    (H, W) int32 array, 0 where no mask is within ``gap``.

    Examples
    --------
    >>> a = np.zeros((1, 7), bool); a[0, :2] = True
    >>> b = np.zeros((1, 7), bool); b[0, 5:] = True
    >>> grown_instances([a, b]).tolist()
    [[1, 1, 1, 1, 2, 2, 2]]
    """
    inst = np.zeros(np.shape(masks[0]), np.int32)
    for i, mask in enumerate(masks):
        inst[np.asarray(mask, bool)] = i + 1
    if not inst.any():
        return inst
    dist, (iy, ix) = ndimage.distance_transform_edt(inst == 0, return_indices=True)
    return np.where(dist <= gap, inst[iy, ix], 0).astype(np.int32)


class NetworkOrderModel:
    """:class:`~occseg.app.capabilities.OrderModel` over an occlusion-order network (OOSIS).

    The network's oriented boundaries (decoded: NMS, threshold, orientation → pixel pairs
    ``p`` occludes ``q``) vote between the user's masks; two masks are ordered by the majority
    of the pairs between them (ties: no order). Masks up to :data:`ADJACENCY_GAP` pixels apart
    still meet (:func:`grown_instances`). The boundary map of boundary mode is not used.

    Parameters
    ----------
    path
        Checkpoint written by ``occseg train order``.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.predictor = load_order_model(path)

    def order_objects(
        self, image: np.ndarray, masks: Sequence[np.ndarray], boundaries: np.ndarray | None
    ) -> list[tuple[int, int]]:
        """``(front, back)`` index pairs: ``masks[front]`` occludes ``masks[back]``."""
        if len(masks) < 2:
            return []
        maps = self.predictor.predict_maps(image)
        pairs = occ_pairs_from_oriented(decode_boundaries(maps.boundary, maps.orientation).occludes)
        edges = boundary_edges(grown_instances(masks), pairs, majority=True)
        return [(front - 1, back - 1) for front, back in edges]
