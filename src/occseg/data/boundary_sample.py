"""The sample type of the occlusion-boundary readers and the lazy sequence they return.

Every boundary reader (:mod:`occseg.data.boundaries`, :mod:`occseg.data.piod`,
:mod:`occseg.data.p2orm`) lists files when opened and decodes one :class:`BoundarySample` per
index, like :class:`occseg.data.base.Dataset` does for click samples.

Orientation convention (PIOD; paper ``000`` Sec. 4 and paper ``001``): the angle, in radians, is
the direction of the boundary such that, walking along it, the occluder (foreground) is on the
left ("left-hand rule"); pixels off the boundary are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from occseg.errors import FileFormatError
from occseg.io.images import check_same_size


@dataclass(frozen=True, eq=False)
class BoundarySample:
    """One image with its ground-truth (occlusion) boundaries.

    Attributes
    ----------
    name
        Unique within the data set (used in reports).
    image
        ``H×W×3 uint8`` RGB.
    boundaries
        One ``H×W bool`` boundary map per annotator (at least one).
    orientations
        ``None``, or one ``H×W float32`` orientation map per annotator (radians, PIOD left-hand
        rule, NaN off the boundary).
    """

    name: str
    image: np.ndarray
    boundaries: tuple[np.ndarray, ...]
    orientations: tuple[np.ndarray, ...] | None = None

    @property
    def orientation(self) -> np.ndarray | None:
        """The first annotator's orientation map (the only one for single-annotator data)."""
        return None if self.orientations is None else self.orientations[0]

    @property
    def boundary_union(self) -> np.ndarray:
        """``H×W bool``: pixels on any annotator's boundary."""
        return np.logical_or.reduce(self.boundaries)


def make_boundary_sample(
    name: str,
    image: np.ndarray,
    edges: Sequence[np.ndarray],
    angles: Sequence[np.ndarray] | None,
    source: str | Path,
) -> BoundarySample:
    """Build a :class:`BoundarySample`, checking sizes and normalising dtypes.

    ``edges`` are non-zero on the boundary; ``angles`` (radians) are set to NaN off it.

    Raises
    ------
    FileFormatError
        If there is no boundary map or the annotations differ in size from each other.
    MaskError
        If the annotations differ in size from the image.
    """
    if not edges:
        raise FileFormatError(f"{source}: no boundary annotation found")
    bnds = tuple(np.ascontiguousarray(np.asarray(e) != 0) for e in edges)
    if any(b.shape != bnds[0].shape for b in bnds):
        raise FileFormatError(f"{source}: the annotators' boundary maps differ in size")
    check_same_size(image, bnds[0], image_name=name, mask_name=str(source))
    oris = None
    if angles is not None:
        if len(angles) != len(bnds):
            raise FileFormatError(f"{source}: {len(angles)} orientation maps for {len(bnds)} edges")
        oris_list = []
        for b, a in zip(bnds, angles, strict=True):
            a = np.asarray(a, dtype=np.float32)
            if a.shape != b.shape:
                raise FileFormatError(f"{source}: orientation and edge maps differ in size")
            oris_list.append(np.where(b, a, np.float32(np.nan)).astype(np.float32))
        oris = tuple(oris_list)
    return BoundarySample(name, image, bnds, oris)


@dataclass(frozen=True)
class BoundaryRef:
    """The files of one boundary sample (nothing decoded).

    Attributes
    ----------
    name
        Sample name.
    image_path
        The RGB image (for synthetic samples: the sample folder's ``rgb.png``).
    gt_path
        The annotation file (``.mat``, edge PNG) or, for synthetic samples, the sample folder.
    orientation_path
        A separate orientation file (P2ORM ``*-ori.png``), if any.
    """

    name: str
    image_path: Path
    gt_path: Path
    orientation_path: Path | None = None


#: Decodes one :class:`BoundaryRef`.
BoundaryLoader = Callable[[BoundaryRef], BoundarySample]


class BoundaryDataset(Sequence[BoundarySample]):
    """A read-only, lazily loaded sequence of :class:`BoundarySample`.

    ``ds[i]`` decodes sample ``i``; ``ds[a:b]`` is a smaller lazy data set. It pickles when the
    loader is a module-level function.
    """

    def __init__(
        self, name: str, refs: Iterable[BoundaryRef], loader: BoundaryLoader, root: Path
    ) -> None:
        self.name = name
        self.refs: tuple[BoundaryRef, ...] = tuple(refs)
        self.loader = loader
        self.root = root

    def __len__(self) -> int:
        return len(self.refs)

    @overload
    def __getitem__(self, index: int) -> BoundarySample: ...

    @overload
    def __getitem__(self, index: slice) -> BoundaryDataset: ...

    def __getitem__(self, index: int | slice) -> BoundarySample | BoundaryDataset:
        if isinstance(index, slice):
            return BoundaryDataset(self.name, self.refs[index], self.loader, self.root)
        return self.loader(self.refs[index])

    @property
    def names(self) -> list[str]:
        """The sample names, in order (no decoding)."""
        return [r.name for r in self.refs]

    def __repr__(self) -> str:
        return f"BoundaryDataset(name={self.name!r}, samples={len(self)}, root={str(self.root)!r})"
