"""Tiny synthetic fixtures for the classical predictors (no data files needed)."""

from __future__ import annotations

import numpy as np
import pytest


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """64×64 image: a red disk on a textured green/blue background, plus seeded noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:64, :64]
    disk = (yy - 30) ** 2 + (xx - 28) ** 2 <= 14**2
    img = np.zeros((64, 64, 3), np.float64)
    stripes = ((xx // 4) % 2).astype(np.float64)
    img[..., 1] = 90 + 60 * stripes
    img[..., 2] = 160 - 40 * stripes
    img[disk] = (210, 40, 40)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), disk


@pytest.fixture(scope="session")
def scene() -> tuple[np.ndarray, np.ndarray]:
    return _scene()


@pytest.fixture(scope="session")
def scene_with_distractor() -> tuple[np.ndarray, np.ndarray]:
    """The disk scene plus a red square (same colour, not the object) touching the disk."""
    img, disk = _scene(1)
    img = img.copy()
    sq = np.zeros_like(disk)
    sq[20:40, 44:60] = True
    sq &= ~disk
    img[sq] = (205, 45, 40)
    return img, disk
