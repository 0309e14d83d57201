"""A picture of samples to judge the ground truth by eye: RGB | depth | instances | oriented OB."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image
from scipy import ndimage

from occseg.io import write_png


def colorize_depth(depth: np.ndarray) -> np.ndarray:
    """Inverse depth through a colour map (near = bright); misses are black."""
    from matplotlib import colormaps

    finite = np.isfinite(depth) & (depth > 0)
    inv = np.zeros(depth.shape)
    inv[finite] = 1.0 / depth[finite]
    if finite.any():
        lo, hi = np.percentile(inv[finite], [1, 99])
        inv = np.clip((inv - lo) / max(hi - lo, 1e-9), 0, 1)
    rgb = (colormaps["magma"](inv)[..., :3] * 255).astype(np.uint8)
    rgb[~finite] = 0
    return rgb


def colorize_instances(instances: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random colour per instance id; the room (0) is dark grey."""
    ids = instances.astype(np.int64)
    golden = (ids * 0.618033988749895) % 1.0
    hue = golden * 6.0
    sector = np.floor(hue).astype(np.int64) % 6
    frac = hue - np.floor(hue)
    v, s = 0.95, 0.75
    p, q, t = v * (1 - s), v * (1 - frac * s), v * (1 - (1 - frac) * s)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = np.zeros((*ids.shape, 3))
    for k, (r, g, b) in enumerate(table):
        sel = sector == k
        rgb[sel] = np.stack([np.broadcast_to(c, ids.shape)[sel] for c in (r, g, b)], axis=-1)
    rgb[ids == 0] = 0.2
    return (rgb * 255).astype(np.uint8)


def colorize_orientation(ob_angle: np.ndarray) -> np.ndarray:
    """OB pixels coloured by angle (hue wheel), everything else black."""
    on = np.isfinite(ob_angle)
    hue = np.where(on, (np.nan_to_num(ob_angle) + np.pi) / (2 * np.pi), 0.0)
    k = np.arange(3)[None, None, :]
    rgb = 0.5 + 0.5 * np.cos(2 * np.pi * (hue[..., None] - k / 3.0))
    rgb[~on] = 0
    return (rgb * 255).astype(np.uint8)


def _tile(img: np.ndarray, width: int, nearest: bool, thin: bool = False) -> np.ndarray:
    h, w = img.shape[:2]
    if thin and w > width:  # keep 1-pixel lines visible when shrinking
        k = int(np.ceil(w / width))
        img = ndimage.grey_dilation(img, size=(k, k, 1))
    size = (width, max(1, round(h * width / w)))
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(img).resize(size, resample))


def preview_grid(samples: Sequence[dict], tile_width: int = 256) -> np.ndarray:
    """One row per sample: RGB, depth, instances, OB coloured by orientation.

    ``samples`` are dicts with ``rgb``, ``depth``, ``instances`` and ``ob_angle`` arrays.
    """
    rows = []
    for s in samples:
        panels = [
            _tile(s["rgb"], tile_width, False),
            _tile(colorize_depth(s["depth"]), tile_width, False),
            _tile(colorize_instances(s["instances"]), tile_width, True),
            _tile(colorize_orientation(s["ob_angle"]), tile_width, True, thin=True),
        ]
        h = panels[0].shape[0]
        gap = np.full((h, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([x for p in panels for x in (p, gap)][:-1], axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def write_preview(path: str | os.PathLike, samples: Sequence[dict], tile_width: int = 256) -> None:
    """Write :func:`preview_grid` as a PNG."""
    write_png(path, preview_grid(samples, tile_width))
