"""Speed of the Ward merge tree (MIS, paper 004, Alg. 1) vs the patch features (issue 16).

A 480×640 image at stride 8 has 4800 patches. In one process on one thread, times the
EfficientNet-Lite0 features and the colour features of the image, then the merge tree of each
feature grid, and prints the tree time and its ratio to the feature time (the target is a tree
in at most 0.5 s on one core). Wall-clock and CPU times are both printed: on a busy machine the
CPU time is the one that says what an idle core would take. The image is ``--image`` resized to
480×640, or a generated one.

    python benchmarks/merge_tree.py [--image PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage

from occseg.io import read_image
from occseg.proposals.colour import colour_features
from occseg.proposals.features import efficientnet_features
from occseg.proposals.tree import merge_tree


def generated_image(seed: int = 0) -> np.ndarray:
    """480×640 RGB of smooth colour blobs with texture noise."""
    rng = np.random.default_rng(seed)
    blobs = ndimage.gaussian_filter(rng.normal(size=(480, 640, 3)), (30, 30, 0))
    blobs = (blobs - blobs.min()) / np.ptp(blobs) * 200 + 20
    return np.clip(blobs + rng.normal(0, 10, blobs.shape), 0, 255).astype(np.uint8)


def best_time(
    fn: Callable[[np.ndarray], object], arg: np.ndarray, repeat: int
) -> tuple[float, float]:
    """The fastest of ``repeat`` runs of ``fn(arg)``: wall-clock and CPU seconds."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(arg)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, help="a photo (default: a generated image)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rgb = generated_image() if args.image is None else read_image(args.image)
    rgb = cv2.resize(rgb, (640, 480), interpolation=cv2.INTER_AREA)
    efficientnet_features(rgb)  # loads the weights once, outside the timing
    for name, extract in (("efficientnet", efficientnet_features), ("colour", colour_features)):
        t_feat = best_time(extract, rgb, args.repeat)
        grid = extract(rgb)
        t_tree = best_time(merge_tree, grid, args.repeat)
        rows, cols, c = grid.shape
        print(
            f"{name:>12}: {rows}x{cols} = {rows * cols} patches x {c} channels; "
            f"features {t_feat[0]:.3f} s (CPU {t_feat[1]:.3f} s), "
            f"merge tree {t_tree[0]:.3f} s (CPU {t_tree[1]:.3f} s), "
            f"ratio tree / features {t_tree[0] / t_feat[0]:.2f} (CPU {t_tree[1] / t_feat[1]:.2f})"
        )


if __name__ == "__main__":
    main()
