"""Where training targets come from: small pluggable sources behind one protocol.

A :class:`TargetSource` gives, for an index and a random generator, one :class:`TrainTarget`:
an image, the target mask of one object, an ignore mask and (optionally) the other objects'
pixels (for the "negative clicks on other objects" strategy). Sources here:

* :class:`SampleSource` — any sequence of :class:`~occseg.types.Sample`; in a config, kind
  ``dataset`` opens one with :func:`occseg.data.open_dataset`, e.g.
  ``{kind: dataset, spec: "sbd:/data/SBD", split: train}`` for SBD, and the same for the
  synthetic scenes once their reader is registered;
* :class:`BSDSRegionSource` — BSDS500: each annotator's regions are objects, tiny ones dropped;
* :class:`CocoSource` — COCO-format instance JSON, optionally merged with LVIS by RITM's rule
  (Sec. 4.2): every LVIS mask is kept and a COCO mask is dropped when its IoU with an LVIS mask
  of the same image exceeds 0.8;
* :class:`SyntheticShapesSource` — generated shapes on textured backgrounds (tests, smoke runs);
* :class:`ProposalSource` — folders of photos without any mask: the target is a region drawn
  top-down from the image's merge tree (MIS, paper ``004``, Sec. 3.1, Alg. 2).

Register new kinds in :data:`SOURCES`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from occseg.errors import ConfigError, DatasetError
from occseg.proposals.propose import MAX_SIDE, check_options, image_tree
from occseg.proposals.sampling import ALPHA, MIN_AREA, sample_proposal
from occseg.proposals.tree import MergeTree
from occseg.types import Sample


@dataclass(frozen=True, eq=False)
class TrainTarget:
    """One training example before augmentation.

    ``image`` ``H×W×3 uint8``; ``mask`` ``H×W bool`` (the object); ``ignore`` ``H×W bool`` or
    None; ``others`` ``H×W bool`` (pixels of other objects) or None.
    """

    image: np.ndarray
    mask: np.ndarray
    ignore: np.ndarray | None = None
    others: np.ndarray | None = None


@runtime_checkable
class TargetSource(Protocol):
    """A source of training targets; ``len`` counts its images (one epoch)."""

    def __len__(self) -> int: ...

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        """The target of image ``index``; ``rng`` picks among its objects."""


class SampleSource:
    """Targets from a sequence of :class:`~occseg.types.Sample` (one object per sample)."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        s = self.samples[index]
        return TrainTarget(s.image, np.asarray(s.mask, bool), s.ignore)


class BSDSRegionSource:
    """BSDS500 regions as objects: per image, a random annotator's random region.

    Parameters
    ----------
    root
        The BSDS500 folder (``images/`` + ``groundTruth/``).
    splits
        Splits to train on (the default model uses ``train`` and ``val``).
    min_area_fraction
        Regions smaller than this fraction of the image are never targets (default 0.01).
    image_fraction, subset_seed
        Train on the masks of only this share of the images (at least one), a subset drawn
        once with ``subset_seed`` (label-efficiency runs: MIS, paper ``004``, Sec. 4.4).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        splits: Sequence[str] = ("train", "val"),
        min_area_fraction: float = 0.01,
        image_fraction: float = 1.0,
        subset_seed: int = 0,
    ) -> None:
        from occseg.data import list_bsds500

        if not 0 < image_fraction <= 1:
            raise ConfigError(f"image_fraction must be in (0, 1], got {image_fraction}")
        pairs = [p for split in splits for p in list_bsds500(root, split)]
        if image_fraction < 1 and pairs:
            n = max(1, round(image_fraction * len(pairs)))
            keep = np.random.default_rng(subset_seed).permutation(len(pairs))[:n]
            pairs = [pairs[i] for i in sorted(keep)]
        self.pairs = pairs
        self.min_area_fraction = min_area_fraction

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        from occseg.data import read_bsds_ground_truth
        from occseg.io import read_image

        image_path, mat = self.pairs[index]
        segs = read_bsds_ground_truth(mat).segmentations
        seg = segs[int(rng.integers(len(segs)))]
        counts = np.bincount(seg.ravel())
        keep = np.flatnonzero(counts >= max(1.0, self.min_area_fraction * seg.size))
        keep = keep[keep > 0]
        if keep.size == 0:
            keep = np.array([int(np.argmax(counts))])
        label = int(keep[rng.integers(keep.size)])
        mask = seg == label
        return TrainTarget(read_image(image_path), mask, None, (seg > 0) & ~mask)


def coco_lvis_keep(coco_rles: list, lvis_rles: list, max_iou: float = 0.8) -> np.ndarray:
    """RITM's COCO+LVIS merge rule (Sec. 4.2) for one image: which COCO masks to keep.

    Parameters
    ----------
    coco_rles, lvis_rles
        Masks of the same image as pycocotools RLE dicts.
    max_iou
        A COCO mask whose IoU with any LVIS mask exceeds this is dropped (RITM: 0.8).

    Returns
    -------
    ndarray
        ``bool`` array over ``coco_rles``: True where the COCO mask is kept.
    """
    from pycocotools import mask as mask_utils

    if not coco_rles or not lvis_rles:
        return np.ones(len(coco_rles), bool)
    ious = np.asarray(mask_utils.iou(coco_rles, lvis_rles, [0] * len(lvis_rles)))
    return ious.reshape(len(coco_rles), len(lvis_rles)).max(1) <= max_iou


def _load_instances(path: Path) -> tuple[dict[int, dict], dict[int, list[dict]]]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = {int(im["id"]): im for im in data["images"]}
        anns: dict[int, list[dict]] = {}
        for a in data["annotations"]:
            anns.setdefault(int(a["image_id"]), []).append(a)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a COCO instance JSON ({exc})") from None
    return images, anns


def _to_rle(segmentation: Any, h: int, w: int) -> dict:
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):  # polygons
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w))
    if isinstance(segmentation.get("counts"), list):  # uncompressed RLE
        return mask_utils.frPyObjects(segmentation, h, w)
    return segmentation


class CocoSource:
    """COCO-format instance masks (polygons or RLE), optionally merged with LVIS (RITM Sec. 4.2).

    Parameters
    ----------
    annotations
        A COCO instance JSON (``images``, ``annotations`` with ``segmentation``).
    images
        Folder of the images (``file_name`` of each image entry).
    lvis
        An LVIS JSON over the same images (image ids match); merged by :func:`coco_lvis_keep`.
    min_area
        Instances with fewer pixels are never targets; crowd annotations are ignored regions.
    """

    def __init__(
        self,
        annotations: str | os.PathLike,
        images: str | os.PathLike,
        lvis: str | os.PathLike | None = None,
        min_area: float = 100.0,
        max_iou: float = 0.8,
    ) -> None:
        self.image_dir = Path(images)
        self.images, self.anns = _load_instances(Path(annotations))
        self.lvis_anns: dict[int, list[dict]] = {}
        if lvis is not None:
            lvis_images, self.lvis_anns = _load_instances(Path(lvis))
            for k, im in lvis_images.items():
                self.images.setdefault(k, im)
        self.min_area = min_area
        self.max_iou = max_iou
        self.ids = sorted(k for k in self.images if any(self._usable(a) for a in self._all_anns(k)))

    def _usable(self, a: dict) -> bool:
        return not a.get("iscrowd", 0) and float(a.get("area", self.min_area)) >= self.min_area

    def _all_anns(self, image_id: int) -> list[dict]:
        return self.anns.get(image_id, []) + self.lvis_anns.get(image_id, [])

    def __len__(self) -> int:
        return len(self.ids)

    def masks(self, image_id: int) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The merged object masks of an image, and its crowd (ignore) mask."""
        from pycocotools import mask as mask_utils

        im = self.images[image_id]
        h, w = int(im["height"]), int(im["width"])
        coco = [a for a in self.anns.get(image_id, []) if self._usable(a)]
        lvis = [a for a in self.lvis_anns.get(image_id, []) if self._usable(a)]
        coco_rles = [_to_rle(a["segmentation"], h, w) for a in coco]
        lvis_rles = [_to_rle(a["segmentation"], h, w) for a in lvis]
        keep = coco_lvis_keep(coco_rles, lvis_rles, self.max_iou)
        rles = [r for r, k in zip(coco_rles, keep, strict=True) if k] + lvis_rles
        masks = [mask_utils.decode(r).astype(bool) for r in rles]
        crowd = [a for a in self._all_anns(image_id) if a.get("iscrowd", 0)]
        ignore = None
        if crowd:
            ignore = np.zeros((h, w), bool)
            for a in crowd:
                ignore |= mask_utils.decode(_to_rle(a["segmentation"], h, w)).astype(bool)
        return masks, ignore

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        from occseg.io import read_image

        image_id = self.ids[index]
        masks, ignore = self.masks(image_id)
        image = read_image(self.image_dir / self.images[image_id]["file_name"])
        k = int(rng.integers(len(masks)))
        others = np.zeros_like(masks[k])
        for j, m in enumerate(masks):
            if j != k:
                others |= m
        return TrainTarget(image, masks[k], ignore, others & ~masks[k])


class SyntheticShapesSource:
    """Generated images: 1-3 filled ellipses/rectangles on a smooth background, with Gaussian
    pixel noise of standard deviation ``noise`` (0: perfectly flat colours, as in drawings and
    screenshots).

    Deterministic per index (seeded by ``seed`` and the index), so a small set is stable across
    processes. The target is one random shape; the others are its "other objects".
    """

    def __init__(self, n: int = 64, size: int = 64, seed: int = 0, noise: float = 6.0) -> None:
        if noise < 0:
            raise ConfigError(f"noise must be at least 0, got {noise}")
        self.n, self.size, self.seed, self.noise = int(n), int(size), int(seed), float(noise)

    def __len__(self) -> int:
        return self.n

    def _render(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        s = self.size
        yy, xx = np.mgrid[:s, :s].astype(np.float32) / s
        base = rng.uniform(40, 215, 3).astype(np.float32)
        grad = rng.uniform(-40, 40, (2, 3)).astype(np.float32)
        image = base + yy[..., None] * grad[0] + xx[..., None] * grad[1]
        image += rng.normal(0, self.noise, image.shape).astype(np.float32)
        labels = np.zeros((s, s), np.int32)
        for k in range(1, int(rng.integers(1, 4)) + 1):
            cy, cx = rng.uniform(0.2, 0.8, 2)
            ry, rx = rng.uniform(0.1, 0.3, 2)
            if rng.random() < 0.5:
                shape = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
            else:
                shape = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
            labels[shape] = k
            image[shape] = rng.uniform(0, 255, 3) + rng.normal(0, self.noise, (int(shape.sum()), 3))
        return np.clip(image, 0, 255).astype(np.uint8), labels

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        image, labels = self._render(index)
        present = np.unique(labels[labels > 0])
        label = int(present[rng.integers(present.size)])
        mask = labels == label
        return TrainTarget(image, mask, None, (labels > 0) & ~mask)


class ProposalSource:
    """Targets without masks (MIS, paper ``004``, Sec. 3.1): regions of a Ward merge tree.

    The merge tree of each image (Alg. 1, :func:`occseg.proposals.propose.image_tree`) is built
    the first time the image is drawn and kept for the life of the process; only the tree is
    kept (children and costs in 32 bits, a few tens of kB per image), as in the paper, and its
    node layout is recomputed per draw (a few ms) so that memory stays small for large folders.
    Each draw reads the image and samples one node top-down (Alg. 2,
    :func:`~occseg.proposals.sampling.sample_proposal`: ``α``, at least ``min_area`` of the
    image), upsampled from the patch grid to the image: the target then goes through the same
    augmentation and click simulation as a ground-truth object.

    The trees are built in the process that draws (a data-loading worker, started by spawn, or
    the training process when ``workers`` is 0), each process for itself. ``features="colour"``
    (the default) needs NumPy only; ``"efficientnet"`` runs the ImageNet EfficientNet-Lite0
    trunk on the CPU there (one thread in a worker), once per image and process.

    Parameters
    ----------
    images
        A folder of images, or a list of folders (not searched recursively), e.g. the
        BSDS500 images with their annotations unused: ``[ROOT/images/train, ROOT/images/val,
        ROOT/images/test]``.
    features, stride, max_side
        Patch features (``colour`` or ``efficientnet``), patch side (8 or 16) and the longest
        image side the features are computed at (:func:`occseg.proposals.propose.propose`).
    alpha, min_area
        Alg. 2's decay ``α`` (0.9) and the smallest target as a share of the image (0.05).

    Raises
    ------
    ConfigError
        For unknown features or stride, or ``alpha`` or ``min_area`` outside [0, 1].
    DatasetError
        If a folder does not exist.
    """

    def __init__(
        self,
        images: str | os.PathLike | Sequence[str | os.PathLike],
        features: str = "colour",
        stride: int = 8,
        max_side: int = MAX_SIDE,
        alpha: float = ALPHA,
        min_area: float = MIN_AREA,
    ) -> None:
        from occseg.data.base import list_images

        check_options(features, stride)
        self.features, self.stride, self.max_side = features, int(stride), int(max_side)
        self.alpha, self.min_area = float(alpha), float(min_area)
        if not (0.0 <= self.alpha <= 1.0 and 0.0 <= self.min_area <= 1.0):
            raise ConfigError(
                f"proposals: alpha and min_area must lie in [0, 1], got {self.alpha}, "
                f"{self.min_area}"
            )
        if self.max_side < self.stride:
            raise ConfigError(f"proposals: max_side must be >= stride, got {self.max_side}")
        folders = [images] if isinstance(images, str | os.PathLike) else list(images)
        self.paths: list[Path] = []
        for folder in map(Path, folders):
            if not folder.is_dir():
                raise DatasetError(f"proposals: {folder} is not a folder of images; fix 'images'")
            self.paths += list_images(folder)
        self._trees: dict[int, MergeTree] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def tree(self, index: int, image: np.ndarray) -> MergeTree:
        """The merge tree of image ``index`` (``image`` is its pixels), built on first use."""
        stored = self._trees.get(index)
        if stored is None:
            full = image_tree(
                image, features=self.features, stride=self.stride, max_side=self.max_side
            )
            stored = MergeTree(
                full.children.astype(np.int32), full.costs.astype(np.float32), full.grid
            )
            self._trees[index] = stored
        return MergeTree(stored.children, stored.costs, stored.grid)  # layout not kept

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        from occseg.io import read_image

        image = read_image(self.paths[index])
        tree = self.tree(index, image)
        mask = sample_proposal(tree, image.shape[:2], rng, alpha=self.alpha, min_area=self.min_area)
        return TrainTarget(image, mask)


def _dataset_source(spec: str, **options: Any) -> SampleSource:
    from occseg.data import open_dataset

    return SampleSource(open_dataset(spec, **options))


#: kind → factory ``(**options) -> TargetSource`` (the options of a ``data:`` entry).
SOURCES: dict[str, Callable[..., TargetSource]] = {
    "bsds500": BSDSRegionSource,
    "coco": CocoSource,
    "dataset": _dataset_source,
    "proposals": ProposalSource,
    "synthetic_shapes": SyntheticShapesSource,
}


class MixedSource:
    """Several sources drawn with given weights; an index addresses the concatenation."""

    def __init__(self, sources: Sequence[TargetSource], weights: Sequence[float]) -> None:
        if not sources:
            raise ConfigError("no training data: add at least one entry under 'data:'")
        self.sources = list(sources)
        w = np.asarray(weights, np.float64)
        self.probs = w / w.sum()

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def draw(self, rng: np.random.Generator) -> TrainTarget:
        """A target from a source chosen by weight, then a random image of it."""
        s = self.sources[int(rng.choice(len(self.sources), p=self.probs))]
        return s.get(int(rng.integers(len(s))), rng)

    def get(self, index: int, rng: np.random.Generator) -> TrainTarget:
        for s in self.sources:
            if index < len(s):
                return s.get(index, rng)
            index -= len(s)
        raise IndexError(index)


def make_source(specs: Sequence[dict[str, Any]]) -> MixedSource:
    """Build the training sources of a config's ``data:`` list.

    Raises
    ------
    ConfigError
        For an unknown kind or invalid options.
    """
    sources, weights = [], []
    for spec in specs:
        options = dict(spec)
        kind = str(options.pop("kind"))
        weight = options.pop("weight", 1.0)
        if kind not in SOURCES:
            raise ConfigError(f"unknown data kind {kind!r}; choose one of {sorted(SOURCES)}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise ConfigError(f"data kind {kind!r}: weight must be a number > 0, got {weight!r}")
        try:
            source = SOURCES[kind](**options)
        except (TypeError, ValueError) as exc:
            # a value of the wrong kind (n: abc) fails in the source's int()/float() conversions
            raise ConfigError(f"data kind {kind!r}: {exc}; fix its options under 'data:'") from None
        if len(source) == 0:
            raise ConfigError(f"data entry {spec!r} has no usable images")
        sources.append(source)
        weights.append(weight)
    return MixedSource(sources, weights)
