"""Reader for data sets written by ``occseg synth`` (see :mod:`occseg.synth.writer`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from occseg.data.base import Dataset, SampleRef, mask_sample, resolve_root
from occseg.errors import DatasetError, FileFormatError
from occseg.io import read_image, read_label_map
from occseg.types import Sample

_FILES = ("rgb.png", "depth.npy", "instances.png", "ob_occludes.npy", "ob_angle.npy", "meta.json")


@dataclass(frozen=True, eq=False)
class SynthSample:
    """One synthetic sample with its full ground truth.

    Attributes
    ----------
    name
        Folder name.
    rgb
        ``H×W×3 uint8``.
    depth
        ``H×W float32`` metres along the optical axis (``inf`` = nothing hit).
    instances
        ``H×W uint16`` (0 = room / background).
    ob_occludes
        ``H×W×4 bool``: occludes left, right, top, bottom neighbour.
    ob_angle
        ``H×W float32`` PIOD angle, NaN off-boundary.
    meta
        The sample's ``meta.json`` (camera, objects, occlusions, ...).
    ob_contact
        ``H×W bool`` contact pixels of the boundary (objects touching, no separated occlusion),
        None for data sets written before ``ob_contact.png`` existed (format version 1).
    """

    name: str
    rgb: np.ndarray
    depth: np.ndarray
    instances: np.ndarray
    ob_occludes: np.ndarray
    ob_angle: np.ndarray
    meta: dict
    ob_contact: np.ndarray | None = None

    @property
    def ob(self) -> np.ndarray:
        """``H×W bool`` occlusion-boundary map."""
        return np.asarray(self.ob_occludes.any(axis=2))

    @property
    def occlusions(self) -> list[tuple[int, int]]:
        """``(front_id, back_id)`` pairs (0 = room): separated occlusions, each pair at most once
        (format version 2; version 1 listed contacts too, often both ways)."""
        return [(int(a), int(b)) for a, b in self.meta.get("occlusions", [])]

    def mask(self, instance_id: int) -> np.ndarray:
        """Visible mask of one instance."""
        return self.instances == instance_id

    def as_dict(self) -> dict:
        """Arrays by field name (for plotting and conversion); ``ob_contact`` where present."""
        arrays = {
            "rgb": self.rgb,
            "depth": self.depth,
            "instances": self.instances,
            "ob": self.ob,
            "ob_occludes": self.ob_occludes,
            "ob_angle": self.ob_angle,
        }
        if self.ob_contact is not None:
            arrays["ob_contact"] = self.ob_contact
        return arrays


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise FileFormatError(
            f"{path} is not a readable .npy file ({exc}); regenerate it"
        ) from None


def load_synth_sample(folder: str | os.PathLike) -> SynthSample:
    """Load one sample folder written by ``occseg synth``.

    Raises
    ------
    DatasetError
        If a file is missing or the arrays disagree in size.
    """
    folder = Path(folder)
    missing = [f for f in _FILES if not (folder / f).is_file()]
    if missing:
        raise DatasetError(f"{folder} is not an occseg synth sample: missing {', '.join(missing)}")
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{folder / 'meta.json'} is malformed JSON ({exc})") from None
    sample = SynthSample(
        name=folder.name,
        rgb=read_image(folder / "rgb.png"),
        depth=_load_npy(folder / "depth.npy"),
        instances=np.asarray(read_label_map(folder / "instances.png")).astype(np.uint16),
        ob_occludes=_load_npy(folder / "ob_occludes.npy").astype(bool),
        ob_angle=_load_npy(folder / "ob_angle.npy"),
        meta=meta,
        ob_contact=(
            np.asarray(read_label_map(folder / "ob_contact.png")) > 0
            if (folder / "ob_contact.png").is_file()
            else None
        ),
    )
    shape = sample.rgb.shape[:2]
    for name in ("depth", "instances", "ob_angle", "ob_contact"):
        if getattr(sample, name) is not None and getattr(sample, name).shape != shape:
            raise DatasetError(f"{folder}: {name} is not {shape[1]}×{shape[0]} like rgb.png")
    if sample.ob_occludes.shape != (*shape, 4):
        raise DatasetError(f"{folder}: ob_occludes.npy must be H×W×4")
    return sample


class SynthDataset:
    """A data set folder written by ``occseg synth``: ``len()``, indexing, iteration."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise DatasetError(
                f"{self.root} has no index.json; point to a folder written by `occseg synth`"
            )
        try:
            self.index = json.loads(index_path.read_text(encoding="utf-8"))
            self.folders = [str(s["folder"]) for s in self.index["samples"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise FileFormatError(f"{index_path} is malformed ({exc})") from None

    def __len__(self) -> int:
        return len(self.folders)

    def __getitem__(self, i: int) -> SynthSample:
        return load_synth_sample(self.root / self.folders[i])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def coco(self) -> dict:
        """The COCO-style ``instances.json`` (RLE masks, COCOA ``depth_constraint``)."""
        path = self.root / "instances.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise FileFormatError(f"cannot read {path} ({exc})") from None


def read_synth_dataset(path: str | os.PathLike) -> SynthDataset:
    """Open a data set written by ``occseg synth`` (Mesh2OB-style, paper 000 §3.3).

    Examples
    --------
    >>> data = read_synth_dataset("synth_out")  # doctest: +SKIP
    >>> sample = data[0]; sample.rgb.shape, sample.occlusions  # doctest: +SKIP
    """
    return SynthDataset(path)


def load_synth_object(ref: SampleRef) -> Sample:
    """Load one object of a synthetic sample as a click-evaluation :class:`Sample`."""
    labels = read_label_map(ref.mask_path)
    return mask_sample(ref, labels == ref.instance_id, None)


def open_synth(root: str | os.PathLike, min_area_fraction: float = 0.005) -> Dataset:
    """Objects of a data set written by ``occseg synth``, one click sample per visible object.

    Objects covering less than ``min_area_fraction`` of the image are dropped; the room (id 0) is
    not an object. Listing reads each ``instances.png`` (no RGB decoding).
    """
    data = SynthDataset(resolve_root(root, "synth"))
    refs = []
    for folder in data.folders:
        inst_path = data.root / folder / "instances.png"
        labels = read_label_map(inst_path)
        ids, counts = np.unique(labels, return_counts=True)
        for i, n in zip(ids.tolist(), counts.tolist(), strict=True):
            if i != 0 and n >= min_area_fraction * labels.size:
                refs.append(
                    SampleRef(f"{folder}_{i}", data.root / folder / "rgb.png", inst_path, i)
                )
    return Dataset("synth", refs, load_synth_object, data.root)
