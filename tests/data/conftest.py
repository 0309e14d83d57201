"""Tiny on-disk fixtures for the dataset-reader tests (images written with PIL)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image


def rgb(h: int = 6, w: int = 8, seed: int = 0) -> np.ndarray:
    """A random ``h×w×3 uint8`` image."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` with PIL (format from the suffix), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def save_palette(path: Path, indices: np.ndarray) -> Path:
    """Write a palette PNG whose pixels are ``indices`` (a VOC-like colour palette)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(indices.astype(np.uint8), mode="L").convert("P")
    img.putdata(indices.astype(np.uint8).ravel().tolist())
    pal = voc_palette()
    img.putpalette(pal.ravel().tolist())
    img.save(path)
    return path


def voc_palette() -> np.ndarray:
    """The 256-colour PASCAL VOC palette as a ``256×3 uint8`` array."""
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


@pytest.fixture
def fx() -> SimpleNamespace:
    """Fixture-building helpers: ``rgb``, ``save``, ``save_palette``, ``voc_palette``."""
    return SimpleNamespace(rgb=rgb, save=save, save_palette=save_palette, voc_palette=voc_palette)
