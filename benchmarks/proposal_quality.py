"""Quality of the merge-tree proposals (issue 16): best-of-top-K IoU with the object.

For every ``--every``-th object of COCO-MVal (one object mask per image), runs
:func:`occseg.proposals.propose.propose` with each feature choice and reports the mean over
objects of the best IoU among the first K proposals (K = 1, 5, 20), and of the best IoU among
all regions of the merge tree (what a perfect ranking could reach). A measurement, not a test.

    python benchmarks/proposal_quality.py [--data ../shared/data/coco_mval_dev] [--every 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from occseg.data.coco_mval import open_coco_mval
from occseg.proposals.propose import FEATURE_KINDS, propose
from occseg.proposals.tree import MergeTree

KS = (1, 5, 20)


def best_ious(masks: list[np.ndarray], gt: np.ndarray) -> list[float]:
    """For each K in :data:`KS`, the best IoU of the first K masks with ``gt``."""
    ious = [float((m & gt).sum() / max((m | gt).sum(), 1)) for m in masks]
    return [max(ious[:k], default=0.0) for k in KS]


def tree_ceiling(tree: MergeTree, gt: np.ndarray) -> float:
    """The best IoU with ``gt`` of any region of ``tree`` (any size), upsampled as
    :meth:`MergeTree.pixel_mask` does."""
    rows, cols = tree.grid
    h, w = gt.shape
    patch = ((np.arange(h) * rows // h)[:, None] * cols + (np.arange(w) * cols // w)).ravel()
    n, m = tree.n_leaves, 2 * tree.n_leaves - 1
    pixels, inside = np.zeros(m), np.zeros(m)
    pixels[:n] = np.bincount(patch, minlength=n)
    inside[:n] = np.bincount(patch, weights=gt.ravel().astype(float), minlength=n)
    for k, (a, b) in enumerate(tree.children):
        pixels[n + k] = pixels[a] + pixels[b]
        inside[n + k] = inside[a] + inside[b]
    return float((inside / (pixels + gt.sum() - inside)).max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/coco_mval_dev"))
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--stride", type=int, nargs="+", default=[8])
    ap.add_argument("--min-area", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = open_coco_mval(args.data)
    samples = [data[i] for i in range(0, len(data), args.every)]
    print(f"{len(samples)} objects of {data!r}; min_area {args.min_area}")
    heads = " | ".join(f"IoU@top{k}" for k in KS)
    print(f"| features | stride | {heads} | tree max | s/img |")
    print("|---|---|" + "---|" * (len(KS) + 2))
    for features in FEATURE_KINDS:
        for stride in args.stride:
            rows, ceil = [], []
            t0 = time.perf_counter()
            for s in samples:
                res = propose(
                    s.image, k=max(KS), features=features, stride=stride, min_area=args.min_area
                )
                rows.append(best_ious([p.mask for p in res.items], s.mask))
                ceil.append(tree_ceiling(res.tree, s.mask))
            sec = (time.perf_counter() - t0) / len(samples)
            mean = np.mean(rows, 0)
            cells = " | ".join(f"{v:.3f}" for v in mean)
            print(f"| {features} | {stride} | {cells} | {np.mean(ceil):.3f} | {sec:.2f} |")


if __name__ == "__main__":
    main()
