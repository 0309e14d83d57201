"""Boundary data sets for the boundary benchmark and occlusion-boundary training.

:func:`open_boundary_dataset` opens one from a ``KIND:PATH`` spec (the CLI's ``--dataset``)::

    >>> from occseg.data.boundaries import open_boundary_dataset
    >>> ds = open_boundary_dataset("bsds500:../shared/data/BSDS500")  # doctest: +SKIP
    >>> s = ds[0]; len(s.boundaries), s.orientations                  # doctest: +SKIP
    (5, None)

Kinds (see :data:`BOUNDARY_READERS`):

``bsds500``
    BSDS500 boundaries of every annotator (:func:`open_bsds500_boundaries`), no orientation.
``synth``
    A data set written by ``occseg synth``: exact occlusion boundaries and their orientation
    (:func:`open_synth_boundaries`; paper ``000`` Sec. 3.3, Mesh2OB).
``piod``
    PIOD / BSDS-ownership ``.mat`` files (:func:`occseg.data.piod.open_piod`).
``p2orm``
    The P2ORM PNG layout (:func:`occseg.data.p2orm.open_p2orm`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from occseg.data.boundary_sample import (
    BoundaryDataset,
    BoundaryRef,
    BoundarySample,
    make_boundary_sample,
)
from occseg.data.bsds500 import list_bsds500, read_bsds_ground_truth
from occseg.data.p2orm import open_p2orm
from occseg.data.piod import open_piod
from occseg.data.synth import load_synth_sample, read_synth_dataset
from occseg.errors import ConfigError, DatasetError
from occseg.io import read_image


def load_bsds500_boundaries(ref: BoundaryRef) -> BoundarySample:
    """Decode one BSDS500 image with every annotator's boundary map."""
    boundaries = read_bsds_ground_truth(ref.gt_path).boundaries
    return make_boundary_sample(ref.name, read_image(ref.image_path), boundaries, None, ref.gt_path)


def open_bsds500_boundaries(root: str | os.PathLike, split: str = "test") -> BoundaryDataset:
    """BSDS500 images with all annotators' boundaries (the boundary benchmark's ground truth).

    Layout as :func:`occseg.data.bsds500.open_bsds500`; ``split`` is ``"train"``, ``"val"`` or
    ``"test"`` (default: the benchmark's 200 images).

    Raises
    ------
    DatasetError
        If a folder is missing or an image has no ground truth.
    """
    pairs = list_bsds500(root, split)
    refs = [BoundaryRef(image.stem, image, mat) for image, mat in pairs]
    return BoundaryDataset(f"bsds500-{split}", refs, load_bsds500_boundaries, Path(root))


def load_synth_boundaries(ref: BoundaryRef) -> BoundarySample:
    """Decode one synthetic sample's RGB, occlusion boundary and orientation."""
    s = load_synth_sample(ref.gt_path)
    return make_boundary_sample(ref.name, s.rgb, [s.ob], [s.ob_angle], ref.gt_path)


def open_synth_boundaries(root: str | os.PathLike) -> BoundaryDataset:
    """A data set written by ``occseg synth`` as boundary samples (one annotator, with angle).

    Raises
    ------
    DatasetError
        If ``root`` has no ``index.json``.
    """
    data = read_synth_dataset(root)
    refs = [
        BoundaryRef(folder, data.root / folder / "rgb.png", data.root / folder)
        for folder in data.folders
    ]
    return BoundaryDataset("synth", refs, load_synth_boundaries, data.root)


#: Boundary data-set kind → reader ``reader(root) -> BoundaryDataset``.
BOUNDARY_READERS: dict[str, Callable[..., BoundaryDataset]] = {
    "bsds500": open_bsds500_boundaries,
    "synth": open_synth_boundaries,
    "piod": open_piod,
    "p2orm": open_p2orm,
}


def open_boundary_dataset(spec: str, *, split: str | None = None) -> BoundaryDataset:
    """Open a boundary data set from a ``KIND:PATH`` spec, e.g. ``"piod:/data/PIOD"``.

    Parameters
    ----------
    spec
        ``KIND:PATH`` with ``KIND`` one of :data:`BOUNDARY_READERS` (case and ``-``/``_``
        ignored); the path may contain ``:``.
    split
        BSDS500 split (default ``"test"``); the other kinds have no splits.

    Returns
    -------
    BoundaryDataset
        A lazy sequence of :class:`~occseg.data.boundary_sample.BoundarySample`.

    Raises
    ------
    DatasetError
        If the spec is malformed, the kind unknown, or the path missing or not of the kind's
        layout.
    ConfigError
        If ``split`` is given for a kind without splits, or is not a valid split name.
    """
    kinds = ", ".join(sorted(BOUNDARY_READERS))
    kind, sep, path = spec.partition(":")
    kind = kind.strip().lower().replace("-", "_")
    if not sep or not kind or not path.strip():
        raise DatasetError(
            f"boundary dataset spec {spec!r} should be KIND:PATH, e.g. piod:data/PIOD; "
            f"kinds: {kinds}"
        )
    if kind not in BOUNDARY_READERS:
        raise DatasetError(f"unknown boundary dataset kind {kind!r} in {spec!r}; kinds: {kinds}")
    root = Path(path.strip()).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetError(f"{kind} dataset path {root} {what}; give the data set's folder")
    if kind == "bsds500":
        return open_bsds500_boundaries(root, split or "test")
    if split is not None:
        raise ConfigError(f"boundary dataset kind {kind!r} has no splits; drop split={split!r}")
    return BOUNDARY_READERS[kind](root)
