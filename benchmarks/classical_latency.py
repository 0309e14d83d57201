"""Seconds per click of each classical predictor, and its ratio to graph cut.

Usage::

    python benchmarks/classical_latency.py [IMAGE [MASK]]

Without arguments the image is ``skimage.data.coffee()`` (400×600 RGB, ships with
scikit-image; ~0.24 megapixels) and the object is the cup, given as a fixed ellipse; with an image
(and optionally a binary mask, object > 128) it uses those. Clicks are simulated with the standard
protocol (next click at the point farthest from the error region's boundary), the same clicks
are fed to every predictor, and all timings come from this one process. Not run by CI; prints a
table, no assertions.
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np

from occseg.classical import (
    GeodesicPredictor,
    GrabCutPredictor,
    GraphCutPredictor,
    RandomWalkerPredictor,
)
from occseg.types import Click

N_CLICKS = 5
REPEATS = 2


def _default_scene() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    image = data.coffee()
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (300, 170), (175, 135), 0, 0, 360, 255, -1)  # the cup and saucer
    return image, mask > 0


def _load(argv: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if not argv:
        return _default_scene()
    bgr = cv2.imread(argv[0], cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"cannot read image {argv[0]}")
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if len(argv) > 1:
        mask = cv2.imread(argv[1], cv2.IMREAD_GRAYSCALE) > 128
    else:
        h, w = image.shape[:2]
        mask = np.zeros((h, w), bool)
        mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    return image, mask


def _next_click(gt: np.ndarray, pred: np.ndarray) -> Click:
    fn = np.pad(gt & ~pred, 1).astype(np.uint8)
    fp = np.pad(~gt & pred, 1).astype(np.uint8)
    dfn = cv2.distanceTransform(fn, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    dfp = cv2.distanceTransform(fp, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    positive = bool(dfn.max() > dfp.max())
    dist = dfn if positive else dfp
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(int(y), int(x), positive)


def main(argv: list[str]) -> None:
    image, gt = _load(argv)
    print(f"image {image.shape[1]}×{image.shape[0]}, {N_CLICKS} clicks, best of {REPEATS}")
    # one click sequence, simulated with graph cut, shared by every predictor
    ref = GraphCutPredictor()
    ref.set_image(image)
    clicks: list[Click] = []
    pred = np.zeros_like(gt)
    for _ in range(N_CLICKS):
        clicks.append(_next_click(gt, pred))
        pred = ref.predict(clicks) > 0.49
    rows = []
    for cls in (GraphCutPredictor, GrabCutPredictor, RandomWalkerPredictor, GeodesicPredictor):
        p = cls()
        best = np.inf
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            p.set_image(image)
            t_set = time.perf_counter() - t0
            prev = None
            t0 = time.perf_counter()
            for k in range(1, N_CLICKS + 1):
                prev = p.predict(clicks[:k], prev)
            best = min(best, (time.perf_counter() - t0) / N_CLICKS)
        iou = float(((prev > 0.49) & gt).sum() / max(1, ((prev > 0.49) | gt).sum()))
        rows.append((cls.__name__, t_set, best, iou))
    base = rows[0][2]
    print(
        f"{'predictor':24s} {'set_image s':>11s} {'s/click':>8s} {'x graphcut':>10s} {'IoU@5':>6s}"
    )
    for name, t_set, per_click, iou in rows:
        print(f"{name:24s} {t_set:11.3f} {per_click:8.3f} {per_click / base:10.2f} {iou:6.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
