"""Training augmentations of RITM (Sec. 5): rescale, crop, horizontal flip, colour jitter.

NumPy/OpenCV on one example at a time (run in the data-loading workers).
"""

from __future__ import annotations

import cv2
import numpy as np

from occseg.train.config import AugmentConfig
from occseg.train.sources import TrainTarget


def _resize_mask(mask: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    if mask is None:
        return None
    return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)


def rescale(target: TrainTarget, scale: float) -> TrainTarget:
    """Resize image (bilinear) and masks (nearest) by ``scale``."""
    h, w = target.mask.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.resize(target.image, size, interpolation=cv2.INTER_LINEAR)
    mask = _resize_mask(target.mask, size)
    assert mask is not None
    return TrainTarget(
        image, mask, _resize_mask(target.ignore, size), _resize_mask(target.others, size)
    )


def pad_to(target: TrainTarget, height: int, width: int) -> TrainTarget:
    """Pad bottom/right with zeros up to ``height×width``; padding is an ignored region."""
    h, w = target.mask.shape
    ph, pw = max(0, height - h), max(0, width - w)
    if ph == 0 and pw == 0:
        return target
    pad = ((0, ph), (0, pw))
    ignore = np.zeros((h, w), bool) if target.ignore is None else target.ignore
    return TrainTarget(
        np.pad(target.image, (*pad, (0, 0))),
        np.pad(target.mask, pad),
        np.pad(ignore, pad, constant_values=True),
        None if target.others is None else np.pad(target.others, pad),
    )


def object_crop(
    mask: np.ndarray,
    height: int,
    width: int,
    rng: np.random.Generator,
    min_pixels: int = 64,
    attempts: int = 10,
) -> tuple[int, int]:
    """Top-left corner of a ``height×width`` crop that holds part of the object.

    A random object pixel is placed at a random position inside the crop; of ``attempts``
    such crops the first holding ``min(min_pixels, object area)`` object pixels is taken (else
    the one holding the most).
    """
    h, w = mask.shape
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return int(rng.integers(h - height + 1)), int(rng.integers(w - width + 1))
    need = min(min_pixels, idx.size)
    integral = cv2.integral(mask.astype(np.uint8))
    best, best_count = (0, 0), -1
    for _ in range(attempts):
        y, x = divmod(int(idx[rng.integers(idx.size)]), w)
        y0 = int(rng.integers(max(0, y - height + 1), min(y, h - height) + 1))
        x0 = int(rng.integers(max(0, x - width + 1), min(x, w - width) + 1))
        count = int(
            integral[y0 + height, x0 + width]
            - integral[y0, x0 + width]
            - integral[y0 + height, x0]
            + integral[y0, x0]
        )
        if count > best_count:
            best, best_count = (y0, x0), count
        if count >= need:
            break
    return best


def colour_jitter(
    image: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float, shift: float
) -> np.ndarray:
    """Random brightness (×), contrast (around the mean) and per-channel RGB shift."""
    x = image.astype(np.float32)
    x *= 1.0 + rng.uniform(-brightness, brightness)
    mean = x.mean()
    x = (x - mean) * (1.0 + rng.uniform(-contrast, contrast)) + mean
    x += rng.uniform(-shift, shift, 3).astype(np.float32)
    return np.clip(x, 0, 255).astype(np.uint8)


def pixel_noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """``image`` (``uint8``) plus Gaussian noise of ``sigma`` grey levels, rounded and clipped."""
    if sigma <= 0:
        return image
    noisy = image + rng.normal(0.0, sigma, image.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def augment(
    target: TrainTarget,
    crop_size: tuple[int, int],
    rng: np.random.Generator,
    config: AugmentConfig | None = None,
) -> TrainTarget:
    """Rescale by a random factor, crop ``crop_size`` around the object, flip, jitter colours,
    add pixel noise."""
    cfg = config or AugmentConfig()
    ch, cw = crop_size
    t = rescale(target, float(rng.uniform(*cfg.scale_range)))
    t = pad_to(t, ch, cw)
    y0, x0 = object_crop(t.mask, ch, cw, rng, cfg.min_object_pixels, cfg.crop_attempts)
    sl = np.s_[y0 : y0 + ch, x0 : x0 + cw]
    flip = cfg.flip and rng.random() < 0.5

    def cut(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        a = a[sl]
        return np.ascontiguousarray(a[:, ::-1] if flip else a)

    image = cut(t.image)
    mask = cut(t.mask)
    assert image is not None and mask is not None
    image = colour_jitter(image, rng, cfg.brightness, cfg.contrast, cfg.rgb_shift)
    image = pixel_noise(image, rng, cfg.noise)
    return TrainTarget(image, mask, cut(t.ignore), cut(t.others))
