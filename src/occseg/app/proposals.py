"""The app's proposals layer: the top-K whole-image region proposals of an image, computed once.

The proposals are those of ``occseg proposals`` (:mod:`occseg.proposals`: a Ward merge tree of
patch features, MIS paper ``004`` Alg. 1, regions ranked by stability): the tree of an image is
built on the first request and kept for the few most recent images, so turning the layer on
again, or adopting a proposal, costs nothing. The features see the image at most ``max_side``
pixels long (the app's limit, and never more than :data:`occseg.proposals.propose.MAX_SIDE`), so
a 12-megapixel photograph is only shrunk once.

The page gets each proposal as its region of the patch grid (a tiny RLE): pixel ``(y, x)`` of an
``H×W`` image lies in patch ``(y · rows // H, x · cols // W)``
(:meth:`~occseg.proposals.tree.MergeTree.pixel_mask`), so the page draws and hit-tests the
regions at the image's size without full-size masks, and an adopted proposal's mask is its
region upsampled the same way (:meth:`ImageProposals.mask`).

>>> layer = RegionProposals(features="colour")  # doctest: +SKIP
>>> layer.of("cat.png", image).mask(1).shape == image.shape[:2]  # doctest: +SKIP
True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from occseg.errors import ConfigError, InteractionError
from occseg.io.coco import mask_to_rle
from occseg.proposals.tree import MergeTree

__all__ = [
    "CACHED_IMAGES",
    "DEFAULT_K",
    "ImageProposals",
    "RegionProposals",
]

#: Proposals shown per image.
DEFAULT_K = 20
#: Images whose merge trees stay in memory.
CACHED_IMAGES = 4


@dataclass(frozen=True)
class ImageProposals:
    """The ranked proposals of one ``H×W`` image (``shape``): ``(node, score)`` of ``tree``,
    best first."""

    tree: MergeTree
    ranked: tuple[tuple[int, float], ...]
    shape: tuple[int, int]
    features: str

    def node(self, rank: int) -> int:
        """The tree node of proposal ``rank`` (1 = best).

        Raises
        ------
        InteractionError
            For a rank the image does not have.
        """
        if not 1 <= rank <= len(self.ranked):
            raise InteractionError(
                f"this image has {len(self.ranked)} proposals, not a proposal {rank}; turn the "
                "proposals layer off and on to reload them"
            )
        return self.ranked[rank - 1][0]

    def mask(self, rank: int) -> np.ndarray:
        """``H×W bool``: proposal ``rank`` at the image's size (see :meth:`node`)."""
        return self.tree.pixel_mask(self.node(rank), self.shape)

    def public_view(self) -> dict[str, Any]:
        """What the page draws: the patch ``grid`` ``[rows, cols]`` and, best first, each
        proposal's ``rank``, ``score``, ``area`` (share of the image) and ``mask`` (COCO RLE of
        its region of the grid)."""
        sizes, n = self.tree.sizes, self.tree.n_leaves
        return {
            "grid": list(self.tree.grid),
            "features": self.features,
            "proposals": [
                {
                    "rank": rank,
                    "score": round(score, 6),
                    "area": round(float(sizes[node] / n), 6),
                    "mask": mask_to_rle(self.tree.region(node)),
                }
                for rank, (node, score) in enumerate(self.ranked, 1)
            ],
        }


class RegionProposals:
    """The proposals layer's source: :class:`ImageProposals` per image, computed once.

    Parameters
    ----------
    k
        Proposals per image.
    features
        ``"efficientnet"`` (ImageNet-supervised EfficientNet-Lite0, the default of ``occseg
        proposals``) or ``"colour"`` (L*a*b* colour + texture).
    stride
        Patch side in pixels: 8 or 16.
    max_side
        Longest image side the features see (None or 0: ``occseg proposals``' own limit).

    Raises
    ------
    ConfigError
        For an unknown feature kind or stride, or ``k < 1``.
    """

    def __init__(
        self,
        *,
        k: int = DEFAULT_K,
        features: str = "efficientnet",
        stride: int = 8,
        max_side: int | None = None,
    ) -> None:
        from occseg.proposals.propose import MAX_SIDE, check_options

        check_options(features, stride)
        if k < 1:
            raise ConfigError(f"the proposals layer needs k >= 1 proposals, got {k}")
        self.k, self.features, self.stride = k, features, stride
        self.max_side = min(max_side, MAX_SIDE) if max_side else MAX_SIDE
        self._cache: OrderedDict[str, tuple[np.ndarray, ImageProposals]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, name: str, image: np.ndarray) -> ImageProposals:
        """The proposals of ``image`` (named ``name``), computed on the first call for this
        image array; one computation runs at a time (a second caller waits and shares it).

        Raises
        ------
        ConfigError
            If the image is too small for two patches, or the EfficientNet weights package is
            not installed.
        """
        with self._lock:
            cached = self._cache.get(name)
            if cached is None or cached[0] is not image:
                cached = self._cache[name] = (image, self._compute(image))
                while len(self._cache) > CACHED_IMAGES:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(name)
            return cached[1]

    def _compute(self, image: np.ndarray) -> ImageProposals:
        from occseg.proposals.propose import image_tree
        from occseg.proposals.ranking import select_proposals

        try:
            tree = image_tree(
                image, features=self.features, stride=self.stride, max_side=self.max_side
            )
        except ImportError as exc:  # the weights package: a user's installation, not a bug
            raise ConfigError(
                f"{exc}; or restart `occseg annotate` with --proposals colour"
            ) from None
        ranked = tuple(select_proposals(tree, self.k))
        return ImageProposals(tree, ranked, image.shape[:2], self.features)
