"""A small procedural dataset generated on the fly (no files, no network), for the demo and tests.

Each image has one target object (an ellipse or polygon with its own texture) among distractor
shapes whose colours overlap the target's and a textured background, so the task is not trivial.
"""

from __future__ import annotations

import cv2
import numpy as np

from occseg.types import Sample


def _texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    base = rng.integers(30, 226, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 40)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    amp = rng.uniform(0, 40)
    noise = cv2.GaussianBlur(
        rng.normal(0, 25, (h, w)).astype(np.float32), (0, 0), rng.uniform(1, 4)
    )
    img = base[None, None, :] + (amp * stripes + noise)[..., None] * rng.uniform(0.5, 1.0, 3)
    return img


def _shape_mask(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    h, w = shape
    mask = np.zeros((h, w), np.uint8)
    cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.25, 0.75) * w
    r = scale * min(h, w)
    if rng.random() < 0.5:
        axes = (int(r * rng.uniform(0.5, 1.0)), int(r * rng.uniform(0.3, 1.0)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    else:
        n = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = r * rng.uniform(0.4, 1.0, n)
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def toy_samples(n: int = 12, size: tuple[int, int] = (240, 320), seed: int = 0) -> list[Sample]:
    """Generate ``n`` deterministic samples of ``size`` (H, W) with one object mask each."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        img = _texture(rng, size)
        for _ in range(int(rng.integers(2, 5))):  # distractors
            m = _shape_mask(rng, size, rng.uniform(0.08, 0.25))
            img[m] = _texture(rng, size)[m]
        mask = _shape_mask(rng, size, rng.uniform(0.15, 0.35))
        img[mask] = _texture(rng, size)[mask]
        image = np.clip(img, 0, 255).astype(np.uint8)
        samples.append(Sample(f"toy_{i:03d}", image, mask))
    return samples
