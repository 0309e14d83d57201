"""Occlusion edges and orientations in the P2ORM PNG layout (Qiu et al., ECCV 2020).

P2ORM's label generator writes, per sample, ``<prefix>-rgb.png``, ``<prefix>-edge.png`` (all
occlusion-boundary pixels), ``<prefix>-edge_fg.png`` (the occluder-side pixels, the edge label of
its training lists) and ``<prefix>-ori.png``. The edge PNGs are 0 / 255. The orientation PNG
stores ``v = floor((θ / π + 1) / 2 · 255)`` (P2ORM's ``gen_InteriornetOR_label.py``), so the angle
is decoded as ``θ = (2 v / 255 - 1) π`` (its data loader: ``(v / 255 * 2 - 1) * PI``), in
``[-π, π]`` with the PIOD left-hand rule (assumed: P2ORM evaluates against PIOD / BSDS-ownership
angles with the same code); off-boundary pixels hold 127 (θ = 0) and become NaN.
"""

from __future__ import annotations

import os

import numpy as np

from occseg.data.base import read_max_channel, resolve_root
from occseg.data.boundary_sample import (
    BoundaryDataset,
    BoundaryRef,
    BoundarySample,
    make_boundary_sample,
)
from occseg.errors import DatasetError
from occseg.io import read_image

_RGB = "-rgb.png"
#: Edge label files tried, in order (the occluder-side edge is P2ORM's training label).
EDGE_SUFFIXES = ("-edge_fg.png", "-edge.png")
_ORI = "-ori.png"
LAYOUT = (
    "<prefix>-rgb.png with <prefix>-edge_fg.png (or -edge.png) and optionally <prefix>-ori.png, "
    "in the folder or its sub-folders"
)


def decode_p2orm_orientation(values: np.ndarray) -> np.ndarray:
    """Decode a P2ORM orientation PNG (``uint8``) to radians in ``[-π, π]`` (float32)."""
    v = np.asarray(values, dtype=np.float64)
    return ((2.0 * v / 255.0 - 1.0) * np.pi).astype(np.float32)


def load_p2orm_sample(ref: BoundaryRef) -> BoundarySample:
    """Decode one P2ORM sample (edge PNG > 0 is boundary)."""
    edge = read_max_channel(ref.gt_path) > 0
    angles = None
    if ref.orientation_path is not None:
        angles = [decode_p2orm_orientation(read_max_channel(ref.orientation_path))]
    image = read_image(ref.image_path)
    return make_boundary_sample(ref.name, image, [edge], angles, ref.gt_path)


def open_p2orm(root: str | os.PathLike) -> BoundaryDataset:
    """Open a folder of P2ORM samples (searched recursively), sorted by relative path.

    Layout
    ------
    ::

        root/**/<prefix>-rgb.png
        root/**/<prefix>-edge_fg.png   (or <prefix>-edge.png) 0 / 255 occlusion edges
        root/**/<prefix>-ori.png       optional: orientation, see decode_p2orm_orientation

    Samples are named by their prefix relative to ``root`` (``scene/0001``).

    Raises
    ------
    DatasetError
        If there is no ``*-rgb.png`` or an image has no edge file.
    """
    kind = "p2orm"
    root = resolve_root(root, kind)
    images = sorted(root.rglob(f"*{_RGB}"))
    if not images:
        raise DatasetError(f"{kind} dataset: no *{_RGB} under {root}; the layout is {LAYOUT}")
    refs = []
    for image in images:
        prefix = image.name[: -len(_RGB)]
        candidates = [image.parent / (prefix + s) for s in EDGE_SUFFIXES]
        edge = next((p for p in candidates if p.is_file()), None)
        if edge is None:
            raise DatasetError(
                f"{kind} dataset: {candidates[0]} is missing "
                f"(for {image.name}); the layout is {LAYOUT}"
            )
        ori = image.parent / (prefix + _ORI)
        name = (image.parent / prefix).relative_to(root).as_posix()
        refs.append(BoundaryRef(name, image, edge, ori if ori.is_file() else None))
    return BoundaryDataset(kind, refs, load_p2orm_sample, root)
