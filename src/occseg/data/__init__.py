"""Dataset readers for interactive-segmentation evaluation and training.

Every reader takes a folder (plus options) and returns a lazy :class:`Dataset` of
:class:`~occseg.types.Sample`. :func:`open_dataset` opens one from a ``KIND:PATH`` spec, the
form the CLI's ``--dataset`` option takes::

    >>> from occseg.data import open_dataset
    >>> ds = open_dataset("coco_mval:../shared/data/coco_mval_dev")  # doctest: +SKIP
    >>> len(ds), ds[0].name                                          # doctest: +SKIP
    (250, 'airplane03_000000281693')

New kinds are added with :func:`register_reader` (or by adding to :data:`READERS`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from occseg.data.base import Dataset, SampleRef, resolve_root
from occseg.data.berkeley import open_berkeley
from occseg.data.boundaries import BOUNDARY_READERS, open_boundary_dataset
from occseg.data.boundary_sample import BoundaryDataset, BoundarySample
from occseg.data.bsds500 import (
    BSDSGroundTruth,
    list_bsds500,
    open_bsds500,
    open_bsds500_objects,
    read_bsds_ground_truth,
)
from occseg.data.coco_mval import open_coco_mval
from occseg.data.davis import open_davis
from occseg.data.folder import open_folder
from occseg.data.grabcut import open_grabcut
from occseg.data.pascal_voc import open_pascal_voc
from occseg.data.sbd import open_sbd
from occseg.data.synth import open_synth
from occseg.errors import ConfigError

#: A reader: ``reader(root, **options) -> Dataset``.
Reader = Callable[..., Dataset]

#: Dataset kind → reader. Add kinds with :func:`register_reader`.
READERS: dict[str, Reader] = {
    "grabcut": open_grabcut,
    "berkeley": open_berkeley,
    "davis": open_davis,
    "coco_mval": open_coco_mval,
    "sbd": open_sbd,
    "pascal_voc": open_pascal_voc,
    "bsds500": open_bsds500,
    "bsds500_objects": open_bsds500_objects,
    "folder": open_folder,
    "synth": open_synth,
}


def register_reader(kind: str, reader: Reader, *, replace: bool = False) -> None:
    """Register ``reader`` (``reader(root, **options) -> Dataset``) under ``kind``.

    Raises
    ------
    ValueError
        If ``kind`` is already registered and ``replace`` is false, or is not a valid name.
    """
    kind = _normalise(kind)
    if not kind.replace("_", "").isalnum():
        raise ValueError(f"dataset kind {kind!r} must be letters, digits and underscores")
    if kind in READERS and not replace:
        raise ValueError(f"dataset kind {kind!r} is already registered")
    READERS[kind] = reader


def _normalise(kind: str) -> str:
    return kind.strip().lower().replace("-", "_")


def parse_dataset_spec(spec: str) -> tuple[str, Path]:
    """Split a ``KIND:PATH`` spec into ``(kind, path)``; the path may itself contain ``:``.

    Raises
    ------
    ConfigError
        If the spec has no ``:``, an empty kind or path, or an unknown kind.
    """
    kind, sep, path = spec.partition(":")
    kind = _normalise(kind)
    if not sep or not kind or not path.strip():
        raise ConfigError(
            f"dataset spec {spec!r} should be KIND:PATH, e.g. coco_mval:data/coco_mval; "
            f"kinds: {', '.join(sorted(READERS))}"
        )
    if kind not in READERS:
        raise ConfigError(
            f"unknown dataset kind {kind!r} in {spec!r}; kinds: {', '.join(sorted(READERS))}"
        )
    return kind, Path(path.strip()).expanduser()


def open_dataset(spec: str, **kwargs: Any) -> Dataset:
    """Open a dataset from a ``KIND:PATH`` spec, e.g. ``"sbd:/data/SBD"``.

    Parameters
    ----------
    spec
        ``KIND:PATH``; ``KIND`` is a key of :data:`READERS` (case and ``-``/``_`` are ignored).
    **kwargs
        Options of the kind's reader, e.g. ``split="train"`` for ``sbd``.

    Returns
    -------
    Dataset
        The lazy dataset.

    Raises
    ------
    ConfigError
        If the spec is malformed, the kind unknown, or an option unknown to the kind.
    DatasetError
        If the path does not exist or lacks the kind's layout.
    """
    kind, path = parse_dataset_spec(spec)
    reader = READERS[kind]
    _check_options(kind, reader, kwargs)
    resolve_root(path, kind)
    return reader(path, **kwargs)


def _check_options(kind: str, reader: Reader, kwargs: dict[str, Any]) -> None:
    try:
        params = list(inspect.signature(reader).parameters.values())[1:]
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    known = [p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        options = ", ".join(known) if known else "none"
        raise ConfigError(
            f"dataset kind {kind!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options: {options}"
        )


def dataset_kinds() -> list[str]:
    """The registered dataset kinds, sorted."""
    return sorted(READERS)


__all__ = [
    "BOUNDARY_READERS",
    "READERS",
    "BSDSGroundTruth",
    "BoundaryDataset",
    "BoundarySample",
    "Dataset",
    "SampleRef",
    "dataset_kinds",
    "list_bsds500",
    "open_berkeley",
    "open_boundary_dataset",
    "open_bsds500",
    "open_bsds500_objects",
    "open_coco_mval",
    "open_dataset",
    "open_davis",
    "open_folder",
    "open_grabcut",
    "open_pascal_voc",
    "open_sbd",
    "parse_dataset_spec",
    "read_bsds_ground_truth",
    "register_reader",
]
