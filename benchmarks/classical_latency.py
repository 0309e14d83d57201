"""Seconds per click of each classical predictor at 0.3 megapixels, as a ratio to graph cut.

Usage::

    python benchmarks/classical_latency.py [--n 4] [--clicks 10]

Each predictor runs the standard click protocol (``occseg.eval.clicks.evaluate_sample``, previous
probability fed back, all clicks made) on the same generated 480×640 images with true object
masks (``occseg.data.toy``), all in this one process, so the ratios compare like with like on a
noisy machine. Prints a table; not run by CI.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from occseg.data.toy import toy_samples
from occseg.eval.clicks import evaluate_sample
from occseg.predict import load_predictor

METHODS = ("graphcut", "grabcut", "random_walker", "geodesic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="number of images")
    parser.add_argument("--clicks", type=int, default=10, help="clicks per image")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    samples = toy_samples(args.n, size=(480, 640), seed=1)
    rows = []
    for method in METHODS:
        predictor = load_predictor(method)
        results = [
            evaluate_sample(predictor, s, max_clicks=args.clicks, target_iou=None) for s in samples
        ]
        per_click = sum(r.seconds for r in results) / sum(len(r.ious) for r in results)
        rows.append((method, per_click, float(np.mean([r.ious[-1] for r in results]))))
    base = rows[0][1]
    print(f"{args.n} images 480×640 (0.31 MP), {args.clicks} clicks each, standard clicker")
    print(f"{'method':14s} {'s/click':>8s} {'× graphcut':>10s} {f'mIoU@{args.clicks}':>9s}")
    for method, per_click, miou in rows:
        print(f"{method:14s} {per_click:8.3f} {per_click / base:10.2f} {miou:9.3f}")


if __name__ == "__main__":
    main()
