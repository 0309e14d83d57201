"""The lazy :class:`Dataset` every reader returns, and the small helpers readers share.

A reader only lists files (and, for datasets with one sample per instance, reads the label maps to
enumerate instances); images are decoded when a sample is asked for, so opening a dataset of
thousands of images is quick and a dataset can be sliced, shuffled or handed to worker processes
cheaply (a :class:`Dataset` pickles: its loader is a module-level function).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np
from PIL import Image

from occseg.errors import ConfigError, DatasetError
from occseg.io import read_image, read_label_map
from occseg.io.images import check_same_size
from occseg.types import Sample

#: File suffixes (lower case) accepted as images or masks when listing a folder.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm"})


@dataclass(frozen=True)
class SampleRef:
    """Everything needed to load one sample later, and nothing decoded.

    Attributes
    ----------
    name
        The sample's name, unique within its dataset (used in reports).
    image_path
        The image file.
    mask_path
        The annotation file (mask image, label map or ``.mat`` file).
    instance_id
        For annotations holding several objects: the label value of this sample's object.
    annotator
        For annotations by several people (BSDS500): the index of the annotator.
    """

    name: str
    image_path: Path
    mask_path: Path
    instance_id: int | None = None
    annotator: int | None = None


#: A loader turns a :class:`SampleRef` into a decoded :class:`~occseg.types.Sample`.
Loader = Callable[[SampleRef], Sample]


class Dataset(Sequence[Sample]):
    """A read-only, lazily loaded sequence of :class:`~occseg.types.Sample`.

    ``len(ds)`` and ``ds.refs`` need no decoding; ``ds[i]`` reads image ``i`` and its mask;
    ``ds[a:b]`` (or ``ds.subset(indices)``) is a smaller :class:`Dataset` sharing the same loader.

    Parameters
    ----------
    name
        A short name for reports, e.g. ``"grabcut"`` or ``"sbd-val"``.
    refs
        One descriptor per sample, in order.
    loader
        Function decoding one descriptor; must be a module-level function (or a
        :func:`functools.partial` of one) so that the dataset pickles.
    root
        The folder the dataset was read from.
    """

    def __init__(
        self, name: str, refs: Iterable[SampleRef], loader: Loader, root: Path | None = None
    ) -> None:
        self.name = name
        self.refs: tuple[SampleRef, ...] = tuple(refs)
        self.loader = loader
        self.root = root

    def __len__(self) -> int:
        return len(self.refs)

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> Dataset: ...

    def __getitem__(self, index: int | slice) -> Sample | Dataset:
        if isinstance(index, slice):
            return Dataset(self.name, self.refs[index], self.loader, self.root)
        return self.loader(self.refs[index])

    def subset(self, indices: Iterable[int]) -> Dataset:
        """Return the samples at ``indices`` (in that order) as a new lazy :class:`Dataset`."""
        return Dataset(self.name, [self.refs[i] for i in indices], self.loader, self.root)

    @property
    def names(self) -> list[str]:
        """The sample names, in order (no decoding)."""
        return [r.name for r in self.refs]

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, samples={len(self)}, root={str(self.root)!r})"


# ---------------------------------------------------------------------------------------------
# Helpers shared by the readers.


def layout_error(kind: str, missing: Path | str, layout: str) -> DatasetError:
    """Build the one-line error for a folder/file a layout needs but which is missing."""
    return DatasetError(f"{kind} dataset: {missing} is missing; the {kind} layout is {layout}")


def require_dir(root: Path, sub: str, kind: str, layout: str) -> Path:
    """Return ``root / sub``, raising :class:`DatasetError` if it is not a folder."""
    path = root / sub
    if not path.is_dir():
        raise layout_error(kind, f"folder {path}", layout)
    return path


def first_existing_dir(root: Path, candidates: Sequence[str]) -> Path | None:
    """Return the first ``root / c`` that is a folder, or None."""
    for c in candidates:
        if (root / c).is_dir():
            return root / c
    return None


def list_images(folder: Path, *, suffixes: frozenset[str] = IMAGE_SUFFIXES) -> list[Path]:
    """List image files of ``folder`` sorted by name (hidden files and other suffixes skipped)."""
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.suffix.lower() in suffixes and not p.name.startswith(".") and p.is_file()
        ),
        key=lambda p: p.name,
    )


def index_by_stem(files: Iterable[Path], kind: str) -> dict[str, Path]:
    """Map file stem → path, raising :class:`DatasetError` if two files share a stem."""
    out: dict[str, Path] = {}
    for p in files:
        if p.stem in out:
            raise DatasetError(
                f"{kind} dataset: {out[p.stem].name} and {p.name} in {p.parent} have the same "
                "name; keep one file per name"
            )
        out[p.stem] = p
    return out


def read_split_list(path: Path, kind: str, layout: str) -> list[str]:
    """Read a split list: the first word of each non-blank line is an image name."""
    if not path.is_file():
        raise layout_error(kind, f"split list {path}", layout)
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def check_split_name(split: str) -> None:
    """Refuse split names that would point outside the dataset folder."""
    if not split or not re.fullmatch(r"[A-Za-z0-9_.-]+", split) or split in (".", ".."):
        raise ConfigError(f"invalid split name {split!r}; use e.g. 'train', 'val' or 'test'")


def read_max_channel(path: str | os.PathLike) -> np.ndarray:
    """Read a mask as ``H×W`` integers, taking the maximum over channels for colour images.

    Grayscale, palette and 16-bit masks keep their raw values (see
    :func:`~occseg.io.read_label_map`); a colour pixel is nonzero when any channel is.
    """
    try:
        with Image.open(path) as im:  # header only: cheap
            colour = im.mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
    except (OSError, ValueError, SyntaxError):
        colour = False  # let read_label_map report the problem
    if colour:
        return read_image(path).max(axis=2)
    return read_label_map(path)


def load_checked(image_path: Path, labels: np.ndarray, mask_path: Path) -> np.ndarray:
    """Read the image and raise :class:`~occseg.errors.MaskError` if ``labels`` differs in size."""
    image = read_image(image_path)
    check_same_size(image, labels, image_name=str(image_path), mask_name=str(mask_path))
    return image


def mask_sample(ref: SampleRef, mask: np.ndarray, ignore: np.ndarray | None) -> Sample:
    """Read ``ref``'s image, check the sizes and build the :class:`Sample`."""
    image = load_checked(ref.image_path, mask, ref.mask_path)
    return Sample(ref.name, image, np.ascontiguousarray(mask, dtype=bool), ignore)


def resolve_root(path: str | os.PathLike, kind: str) -> Path:
    """Expand ``~`` and check the dataset folder exists."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"{kind} dataset folder not found: {root} (check the path)")
    if not root.is_dir():
        raise DatasetError(f"{kind} dataset path {root} is a file; give the dataset's folder")
    return root


def paired_refs(kind: str, image_dir: Path, mask_dir: Path, layout: str) -> list[SampleRef]:
    """Pair each image of ``image_dir`` with the mask of the same stem in ``mask_dir``.

    Masks without an image are ignored; an image without a mask raises :class:`DatasetError`.
    """
    images = list_images(image_dir)
    if not images:
        raise DatasetError(f"{kind} dataset: no images in {image_dir}; the layout is {layout}")
    masks = index_by_stem(list_images(mask_dir), kind)
    index_by_stem(images, kind)  # refuse duplicate image stems
    refs = []
    for img in images:
        mask = masks.get(img.stem)
        if mask is None:
            raise layout_error(kind, f"mask {mask_dir / img.stem}.* (for image {img.name})", layout)
        refs.append(SampleRef(img.stem, img, mask))
    return refs


def open_paired(
    root: str | os.PathLike, kind: str, image_dir: str, mask_dir: str, loader: Loader
) -> Dataset:
    """Open a dataset of ``root/image_dir`` images paired by file stem with ``root/mask_dir`` masks.

    ``loader`` turns each :class:`SampleRef` into a :class:`~occseg.types.Sample` (it decides how
    mask values map to object and ignore pixels).
    """
    layout = f"{image_dir}/ (images) + {mask_dir}/ (one mask per image, same file stem)"
    root = resolve_root(root, kind)
    images = require_dir(root, image_dir, kind, layout)
    masks = require_dir(root, mask_dir, kind, layout)
    return Dataset(kind, paired_refs(kind, images, masks, layout), loader, root)


def load_nonzero_sample(ref: SampleRef) -> Sample:
    """Load a sample whose object is every nonzero mask value (in any channel); no ignore region."""
    return mask_sample(ref, read_max_channel(ref.mask_path) > 0, None)
