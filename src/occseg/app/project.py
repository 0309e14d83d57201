"""An annotation project: a folder of images plus an output folder of per-image JSON documents.

Layout of the output folder::

    OUT/project.json              {"images_dir": "/abs/path", "model": "graphcut", "classes": [...],
                                   "boundary_threshold": 0.5}
    OUT/annotations/NAME.json     one document per image (see occseg.app.document)
    OUT/samples/*.png             the bundled sample images, when no image folder was given

Image names are the file names found directly in the image folder; a request can only name an
image from that listing, and the resolved file must stay inside the folder, so no path from a
client ever reaches the file system.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from occseg.app.document import MAX_LABEL, new_document, validate_document
from occseg.errors import DatasetError, FileFormatError, InteractionError, OccsegError
from occseg.io import atomic_write_json, read_image, write_png

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
PROJECT_FILE = "project.json"

#: Photographs shipped inside scikit-image (``skimage.data``): nothing is downloaded.
SAMPLE_IMAGES = ("astronaut", "coffee", "chelsea", "rocket")
#: Boundary mode shows the boundary map at this probability until the user changes it.
DEFAULT_BOUNDARY_THRESHOLD = 0.5


def _is_threshold(value: object) -> bool:
    """Whether ``value`` is a number strictly between 0 and 1."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1


class ImageNotFound(OccsegError):
    """The request names an image that is not in the project."""


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex digest}`` of a file.

    Size and content hash rather than the modification time: copying or checking out a project
    changes every mtime (false alarms), while the hash changes only with the content. Reading
    the file once when its document is made costs about as much as decoding the image.
    """
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def write_samples(folder: Path, names: tuple[str, ...] = SAMPLE_IMAGES) -> Path:
    """Write scikit-image's bundled photographs as PNGs into ``folder`` (once) and return it."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / f"{name}.png"
        if not path.exists():
            img = np.asarray(getattr(data, name)())
            if img.ndim == 2:
                img = np.repeat(img[:, :, None], 3, axis=2)
            write_png(path, np.ascontiguousarray(img[:, :, :3]).astype(np.uint8))
    return folder


class Project:
    """Image listing, image cache and document persistence of one annotation project.

    Parameters
    ----------
    images_dir
        Folder of images; None uses the bundled samples written under ``out_dir/samples``.
    out_dir
        Where ``project.json`` and ``annotations/`` live (created if needed).
    """

    def __init__(
        self, images_dir: str | Path | None, out_dir: str | Path, *, model: str = ""
    ) -> None:
        self.out_dir = Path(out_dir).resolve()
        if images_dir is None:
            images_dir = write_samples(self.out_dir / "samples")
        self.images_dir = Path(images_dir).resolve()
        if not self.images_dir.is_dir():
            raise DatasetError(f"image folder not found: {self.images_dir} (check the path)")
        self._files = {
            p.name: p
            for p in sorted(self.images_dir.iterdir())
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        }
        if not self._files:
            raise DatasetError(
                f"no images in {self.images_dir}; it needs PNG, JPEG, BMP, TIFF or WebP files"
            )
        # only now, with images to annotate: a mistake leaves no project folder behind
        self.annotations_dir = self.out_dir / "annotations"
        self.annotations_dir.mkdir(parents=True, exist_ok=True)
        meta = self._read_meta()
        meta.update(images_dir=str(self.images_dir), model=model or meta.get("model", ""))
        meta.setdefault("classes", [])
        if "boundary_threshold" in meta and not _is_threshold(meta["boundary_threshold"]):
            raise FileFormatError(
                f"{self.out_dir / PROJECT_FILE}: boundary_threshold must be a number between 0 "
                f"and 1, got {meta['boundary_threshold']!r}; fix or remove it"
            )
        self.meta = meta
        atomic_write_json(self.out_dir / PROJECT_FILE, meta)
        self._images: dict[str, np.ndarray] = {}
        self._docs: dict[str, dict] = {}
        self.lock = threading.RLock()

    def _read_meta(self) -> dict[str, Any]:
        path = self.out_dir / PROJECT_FILE
        if not path.exists():
            return {}
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FileFormatError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
        return meta if isinstance(meta, dict) else {}

    def add_class(self, label: str) -> None:
        """Remember a class label for the page's suggestions and the export's categories."""
        label = label.strip()
        if not label or len(label) > MAX_LABEL or any(ord(c) < 32 for c in label):
            raise InteractionError(
                f"a class label must be 1 to {MAX_LABEL} printable characters, got {label!r}"
            )
        with self.lock:
            if label not in self.meta["classes"]:
                self.meta["classes"].append(label)
                atomic_write_json(self.out_dir / PROJECT_FILE, self.meta)

    @property
    def boundary_threshold(self) -> float:
        """The probability from which boundary mode shows (and orders by) a boundary."""
        return float(self.meta.get("boundary_threshold", DEFAULT_BOUNDARY_THRESHOLD))

    def set_boundary_threshold(self, value: float) -> None:
        """Change :attr:`boundary_threshold` for the whole project (saved at once)."""
        if not _is_threshold(value):
            raise InteractionError(
                f"the boundary threshold must be a number between 0 and 1, got {value!r}"
            )
        with self.lock:
            self.meta["boundary_threshold"] = float(value)
            atomic_write_json(self.out_dir / PROJECT_FILE, self.meta)

    # -- images ---------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Image names in listing order."""
        return list(self._files)

    def image_path(self, name: str) -> Path:
        """The file of image ``name``; refuses names outside the listing or the folder."""
        path = self._files.get(name)
        if path is None:
            raise ImageNotFound(f"no image named {name!r} in this project")
        resolved = path.resolve()
        if self.images_dir not in resolved.parents:
            raise ImageNotFound(f"image {name!r} points outside the image folder; refused")
        return resolved

    def image(self, name: str) -> np.ndarray:
        """The ``H×W×3 uint8`` RGB image (the few most recent are cached)."""
        with self.lock:
            if name not in self._images:
                img = read_image(self.image_path(name))
                if len(self._images) >= 4:
                    self._images.pop(next(iter(self._images)))
                self._images[name] = img
            return self._images[name]

    # -- documents ------------------------------------------------------------------------------
    def document_path(self, name: str) -> Path:
        """Where the document of image ``name`` is saved."""
        self.image_path(name)
        return self.annotations_dir / f"{name}.json"

    def document(self, name: str) -> dict:
        """The document of image ``name``: from memory, from disk, or a new empty one."""
        with self.lock:
            if name in self._docs:
                return self._docs[name]
            h, w = self.image(name).shape[:2]
            path = self.document_path(name)
            if path.exists():
                try:
                    doc = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise FileFormatError(
                        f"{path} is not valid JSON ({exc}); restore it or move it away"
                    ) from None
                doc = validate_document(doc, image=name, height=h, width=w)
                if doc["image_file"] is None:  # made before fingerprints: from now on
                    doc["image_file"] = file_fingerprint(self.image_path(name))
            else:
                doc = new_document(name, h, w, file_fingerprint(self.image_path(name)))
            self._docs[name] = doc
            return doc

    def save(self, doc: dict) -> None:
        """Write ``doc`` atomically (temporary file, fsync, rename)."""
        atomic_write_json(self.document_path(doc["image"]), doc, indent=None)

    def summary(self) -> list[dict[str, Any]]:
        """Name and number of objects of every image (documents are read only if saved)."""
        out = []
        for name in self._files:
            n = None
            if name in self._docs:
                n = len(self._docs[name]["objects"])
            elif (self.annotations_dir / f"{name}.json").exists():
                try:
                    data = json.loads((self.annotations_dir / f"{name}.json").read_text("utf-8"))
                    n = len(data.get("objects", []))
                except (OSError, ValueError, AttributeError):
                    n = None
            out.append({"name": name, "objects": n or 0})
        return out
