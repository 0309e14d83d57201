"""Occlusion-ordered instance segmentation of one image (OOSIS, paper 001, Fig. 2).

Stage 1, a model (e.g. :class:`occseg.predict.ordernet.OrderNetPredictor`) gives the semantic,
boundary and orientation maps (:class:`OrderMaps`); stage 2 decodes them
(:func:`occseg.occlusion.decode.occlusion_inputs`: NMS, the 0.1 threshold, neighbour pairs),
finds the instances and their order, gives each its majority class and confidence
(:mod:`occseg.occlusion.scores`), and builds the occlusion graph and the relative depth
(:mod:`occseg.occlusion.graph`). Instances and order come from one of

* ``"regions"`` (the default): the regions the boundary map encloses
  (:func:`occseg.occlusion.regions.boundary_regions`; with the image, neighbours split by a
  weak boundary between matching colours joined,
  :func:`~occseg.occlusion.regions.merge_similar_regions`), ordered by the votes of the
  oriented boundary pairs between them, cycles broken at their weakest edge
  (:func:`occseg.occlusion.graph.voted_order`);
* ``"crf"``: the paper's CRF labelling (:func:`occseg.occlusion.ordering.order_labeling`,
  Eq. 5-8), whose instances are the connected components of equal labels.

The CRF's hard occlusion term lets one reversed pixel pair force equal labels on a whole
border, which merges occluders with their occludees (see :mod:`occseg.occlusion.regions` for
the measurements that made ``"regions"`` the default).

NumPy only: the model is anything with ``class_names`` and ``predict_maps(image)``.

Example
-------
>>> from occseg.predict.ordernet import load_order_model  # doctest: +SKIP
>>> result = order_image(image, load_order_model("runs/ordernet-cpu/model.pt"))  # doctest: +SKIP
>>> write_order_result(result, "out")  # instances.png, depth.png, graph.json  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from occseg.errors import ConfigError, ImageReadError
from occseg.io.images import shrink_to_side
from occseg.occlusion.convexity import CONVEXITY_WEIGHT, convexity_cue
from occseg.occlusion.decode import (
    BOUNDARY_THRESHOLD,
    OrientedBoundaries,
    decode_boundaries,
    occlusion_inputs,
)
from occseg.occlusion.graph import (
    ADJACENCY_GAP,
    adjacent_pairs,
    boundary_votes,
    depth_image,
    grow_labels,
    grown_instances,
    label_edges,
    relative_depth,
    voted_order,
)
from occseg.occlusion.ordering import (
    InstanceSet,
    describe_instances,
    extract_instances,
    occ_pairs_from_oriented,
    order_labeling,
    refine_labeling,
)
from occseg.occlusion.regions import REGION_MIN_AREA, boundary_regions, merge_similar_regions
from occseg.occlusion.scores import DEFAULT_SCORE

__all__ = [
    "INSTANCE_METHODS",
    "ORDER_MAX_SIDE",
    "OrderMaps",
    "OrderModel",
    "OrderResult",
    "order_image",
    "order_maps",
    "order_masks",
    "write_order_result",
]

#: How :func:`order_maps` finds instances: boundary regions (default) or the paper's CRF.
INSTANCE_METHODS = ("regions", "crf")

#: Longest image side, in pixels, at which :func:`order_image` runs the network and finds the
#: instances (a larger image is shrunk, the instances brought back to its size). The shipped
#: network learned objects in 320-pixel scenes; on photographs it splits objects seen larger.
#: Chosen on two sets of photographs with the shipped ``ordernet``: the 5 COCOA images (WC at
#: 320/400/480/640 px: 0.360/0.439/0.391/0.332) and every 5th COCO-MVal-dev image (mean IoU of
#: the object's best instance: 0.400/0.407/0.423/0.385); the same COCOA images enlarged 4×
#: (2560 px) gave WC 0.347 at 640 px and 0.125 at full size (16 s an image against 0.5 s).
ORDER_MAX_SIDE = 400


@dataclass(frozen=True, eq=False)
class OrderMaps:
    """Stage-1 outputs for one image (probabilities, channels last).

    Attributes
    ----------
    semantic
        ``H×W×C float32`` class probabilities ``s``; class 0 is the background.
    boundary
        ``H×W float32`` boundary probability ``b``.
    orientation
        ``H×W×4 float32`` conditional orientation ``e`` (left, right, top, bottom).
    class_names
        The ``C`` class names.
    """

    semantic: np.ndarray
    boundary: np.ndarray
    orientation: np.ndarray
    class_names: tuple[str, ...]


class OrderModel(Protocol):
    """Stage 1: an image to :class:`OrderMaps`."""

    def predict_maps(self, image: np.ndarray) -> OrderMaps: ...


@dataclass(frozen=True, eq=False)
class OrderResult:
    """Instances of one image with their occlusion order.

    Attributes
    ----------
    labels
        ``H×W int32`` occlusion-order labels (0 background, larger in front).
    instances
        The :class:`~occseg.occlusion.ordering.InstanceSet` (ids, order label, class, score);
        classes index ``class_names``.
    edges
        ``(front, back)`` instance ids of the occlusion graph.
    depth
        Relative depth layer of every instance id (0 front-most).
    boundaries
        The decoded oriented boundaries the labelling used.
    class_names
        Names of the classes.
    """

    labels: np.ndarray
    instances: InstanceSet
    edges: list[tuple[int, int]]
    depth: dict[int, int]
    boundaries: OrientedBoundaries
    class_names: tuple[str, ...]

    def at_size(self, shape: tuple[int, int]) -> OrderResult:
        """The labels and instances resized (nearest neighbour) to ``shape`` (H, W); the
        boundaries stay those the labelling used, at the size it ran at."""
        if self.labels.shape == tuple(shape):
            return self
        h, w = shape

        def nearest(ids: np.ndarray) -> np.ndarray:
            return cv2.resize(ids.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST_EXACT)

        instances = replace(self.instances, instances=nearest(self.instances.instances))
        return replace(self, labels=nearest(self.labels), instances=instances)

    def graph(self) -> dict[str, Any]:
        """The occlusion graph as a JSON-ready dict."""
        from scipy import ndimage

        inst = self.instances
        ids = inst.instances
        area = np.bincount(ids.ravel(), minlength=len(inst.order) + 1)
        boxes = ndimage.find_objects(ids)
        names = self.class_names
        items = []
        for k, (order, cls, score) in enumerate(
            zip(inst.order.tolist(), inst.classes.tolist(), inst.scores.tolist(), strict=True)
        ):
            ys, xs = boxes[k]
            items.append(
                {
                    "id": k + 1,
                    "class": int(cls),
                    "class_name": names[cls] if 0 <= cls < len(names) else "",
                    "order_label": int(order),
                    "depth": self.depth.get(k + 1, 0),
                    "score": float(score),
                    "area": int(area[k + 1]),
                    "bbox": [xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start],
                }
            )
        h, w = self.labels.shape
        return {
            "width": w,
            "height": h,
            "class_names": list(names),
            "instances": items,
            "edges": [[int(a), int(b)] for a, b in self.edges],
        }


def order_maps(
    maps: OrderMaps,
    *,
    image: np.ndarray | None = None,
    instances: str = "regions",
    threshold: float = BOUNDARY_THRESHOLD,
    nms: bool = True,
    lam: float = 20.0,
    mu: float = 100.0,
    min_area: int | None = None,
    max_gap: int = 0,
    refine: bool = True,
    score: str = DEFAULT_SCORE,
) -> OrderResult:
    """Stage 2 (Sec. 3.2): decode, find and order the instances, build the occlusion graph.

    Parameters
    ----------
    maps
        The stage-1 maps.
    image
        Regions: the ``H×W×3 uint8`` RGB image the maps are of; with it, touching regions split
        by a weak boundary between matching colours are joined
        (:func:`~occseg.occlusion.regions.merge_similar_regions`, not in the paper), without it
        they are not.
    instances
        ``"regions"`` (boundary regions ordered by boundary votes) or ``"crf"`` (the paper's
        labelling), see the module docstring.
    threshold, nms
        Boundary decoding (:func:`occseg.occlusion.decode.decode_boundaries`); ``threshold``
        also bounds the regions' markers (:func:`~occseg.occlusion.regions.boundary_regions`).
    lam, mu
        CRF: smoothness and occlusion weights of Eq. 8 (the paper: 20 and 100).
    min_area
        Regions: the smallest marker (default
        :data:`~occseg.occlusion.regions.REGION_MIN_AREA`); CRF: smaller components become
        background (default 1, all kept).
    max_gap
        CRF: adjacency tolerance of the graph (:func:`occseg.occlusion.graph.label_edges`).
    refine
        CRF: exact-energy segment moves after the jump moves
        (:func:`occseg.occlusion.ordering.refine_labeling`).
    score
        The instances' confidence from the boundary map (:mod:`occseg.occlusion.scores`):
        ``"outline_contrast"`` (default) or ``"paper"`` (the ad-hoc score of Sec. 5.4).
    """
    check_instance_method(instances)
    # an instance is an object: its class is the majority of the object classes (not background)
    vote = np.argmax(maps.semantic[..., 1:], axis=-1) + 1
    if instances == "regions":
        decoded = decode_boundaries(maps.boundary, maps.orientation, threshold=threshold, nms=nms)
        regions = boundary_regions(
            maps.semantic[..., 0],
            maps.boundary,
            threshold=threshold,
            min_area=REGION_MIN_AREA if min_area is None else min_area,
        )
        if image is not None:
            regions = merge_similar_regions(regions, maps.boundary, image)
        ids = list(range(1, int(regions.max()) + 1))
        # the vote alone: the convexity cue is for whole objects, and regions may be parts
        # (with the cue at 0.5, OAIR accuracy on 50 synthetic scenes fell from 0.79 to 0.75)
        edges = _voted_edges(grow_labels(regions, ADJACENCY_GAP), len(ids), decoded.occludes)
        depth = relative_depth(ids, edges)
        # order labels from the depth layers: larger in front, 1 for the deepest
        deepest = max(depth.values(), default=0)
        order = np.array([deepest + 1 - depth[i] for i in ids], np.int64)
        inst = describe_instances(regions, order, vote, maps.boundary, score=score)
        labels = np.concatenate([[0], order])[regions]
        return OrderResult(labels, inst, edges, depth, decoded, tuple(maps.class_names))
    bg, pairs, decoded = occlusion_inputs(
        maps.semantic, maps.boundary, maps.orientation, threshold=threshold, nms=nms
    )
    labels = order_labeling(bg, pairs, lam=lam, mu=mu)
    if refine:
        labels = refine_labeling(labels, bg, pairs, lam=lam, mu=mu)
    inst = extract_instances(
        labels, vote, maps.boundary, min_area=1 if min_area is None else min_area, score=score
    )
    edges = label_edges(inst.instances, inst.order, max_gap=max_gap)
    depth = relative_depth(inst.ids.tolist(), edges)
    return OrderResult(labels, inst, edges, depth, decoded, tuple(maps.class_names))


def check_instance_method(instances: str, *, merge_regions: bool = True) -> None:
    """Raise :class:`~occseg.errors.ConfigError` unless ``instances`` is one of
    :data:`INSTANCE_METHODS`, or when regions are not to be joined (``merge_regions`` False)
    where there are none (the CRF)."""
    if instances not in INSTANCE_METHODS:
        raise ConfigError(
            f"unknown instance method {instances!r}; use one of {', '.join(INSTANCE_METHODS)}"
        )
    if not merge_regions and instances != "regions":
        raise ConfigError(
            "--no-merge-regions needs the default instances (regions); the CRF has no regions "
            "to join"
        )


def _voted_edges(
    grown: np.ndarray,
    n: int,
    occludes: np.ndarray,
    masks: Sequence[np.ndarray] = (),
    convexity: float = 0.0,
) -> list[tuple[int, int]]:
    """Acyclic ``(front, back)`` edges between the touching instances ``1..n`` of a label map
    (grown by :data:`~occseg.occlusion.graph.ADJACENCY_GAP` or so beforehand, so that
    instances a thin gap apart meet).

    Two touching instances ``a``, ``b`` are ordered by the score ``(n_ab - n_ba) / (n_ab +
    n_ba) + convexity · cvx(a, b)``: ``n_ab`` oriented boundary pairs of ``occludes`` (H×W×4)
    say ``a`` occludes ``b`` across their border (0 / 0 counts 0), ``cvx`` is the convexity cue
    of ``masks`` (the instances' own masks, :func:`occseg.occlusion.convexity.convexity_cue`;
    needed only when ``convexity`` is not 0); the score's sign orders the pair, its size is the
    edge's weight when a cycle must be broken (:func:`~occseg.occlusion.graph.voted_order`).
    """
    if n < 2:
        return []
    votes = boundary_votes(grown, occ_pairs_from_oriented(occludes))
    touching = adjacent_pairs(grown)
    cue = convexity_cue(masks, touching) if convexity else {}
    scores = {}
    for a, b in touching:
        n_ab, n_ba = votes.get((a, b), 0), votes.get((b, a), 0)
        score = (n_ab - n_ba) / (n_ab + n_ba) if n_ab + n_ba else 0.0
        score += convexity * cue.get((a, b), 0.0)
        if score:
            scores[(a, b) if score > 0 else (b, a)] = abs(score)
    return voted_order(range(1, n + 1), scores)


def order_masks(
    maps: OrderMaps,
    masks: Sequence[np.ndarray],
    *,
    gap: float = ADJACENCY_GAP,
    decoded: OrientedBoundaries | None = None,
    convexity: float = CONVEXITY_WEIGHT,
) -> list[tuple[int, int]]:
    """Order given masks (an annotator's objects, or ground-truth instances) by the network's
    oriented boundaries and the masks' shapes: ``(front, back)`` index pairs, ``masks[front]``
    occludes ``masks[back]``.

    The maps are decoded as for the CRF (NMS, the 0.1 threshold, orientation to the pixel pairs
    ``p`` occludes ``q`` of Eq. 7); the masks, grown by ``gap`` pixels into uncovered pixels
    (:func:`~occseg.occlusion.graph.grown_instances`, so that masks a thin gap apart still
    meet), collect the pairs that cross between them. Two touching masks are ordered by the
    balance of those pairs plus ``convexity`` times the convexity cue
    (:mod:`occseg.occlusion.convexity`; 0: the pairs alone, their majority), the weakest edge of
    any cycle dropped (:func:`~occseg.occlusion.graph.voted_order`), so the result is a
    consistent order. ``decoded`` skips the decoding when the caller has it
    (:attr:`OrderResult.boundaries` of :func:`order_maps` at its default threshold and NMS).
    """
    if len(masks) < 2:
        return []
    if decoded is None:
        decoded = decode_boundaries(maps.boundary, maps.orientation)
    grown = grown_instances(masks, gap)
    edges = _voted_edges(grown, len(masks), decoded.occludes, masks, convexity)
    return [(front - 1, back - 1) for front, back in edges]


def order_image(
    image: np.ndarray,
    model: OrderModel,
    *,
    max_side: int = ORDER_MAX_SIDE,
    merge_regions: bool = True,
    **options: Any,
) -> OrderResult:
    """Both stages on one ``H×W×3 uint8`` RGB image, shrunk so that its longer side is at most
    ``max_side`` pixels (0: full size; see :data:`ORDER_MAX_SIDE`); the labels and instances
    come back at the image's size. ``options`` go to :func:`order_maps`, and with
    ``merge_regions`` the image too (its regions of matching colour across weak boundaries are
    joined).

    Raises
    ------
    ImageReadError
        If the image, as shrunk, is smaller than 2×2 pixels (it has no boundary to decode).
    """
    small = shrink_to_side(image, max_side)
    if min(small.shape[:2]) < 2:
        h, w = small.shape[:2]
        raise ImageReadError(
            f"the image is {w}×{h} pixels as ordered (image {image.shape[1]}×{image.shape[0]}, "
            f"max side {max_side}); occlusion ordering needs 2×2 or more"
        )
    maps = model.predict_maps(small)
    result = order_maps(maps, image=small if merge_regions else None, **options)
    return result.at_size(image.shape[:2])


def write_order_result(result: OrderResult, out: str | os.PathLike) -> dict[str, Path]:
    """Write ``instances.png`` (uint16 ids), ``depth.png`` (front-most brightest) and
    ``graph.json`` (instances with class, order label, depth, score; ``edges`` as
    ``[front, back]``) into ``out``; returns their paths."""
    from occseg.io import atomic_write_json
    from occseg.io.images import write_png

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "instances": out / "instances.png",
        "depth": out / "depth.png",
        "graph": out / "graph.json",
    }
    write_png(paths["instances"], result.instances.instances.astype(np.uint16))
    write_png(paths["depth"], depth_image(result.instances.instances, result.depth))
    atomic_write_json(paths["graph"], result.graph())
    return paths
