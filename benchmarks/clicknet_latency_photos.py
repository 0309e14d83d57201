"""Seconds per click of the shipped click predictors on photographs of both development sets,
as ratios to the whole-image graph-cut combination run in the same process.

``benchmarks/clicknet_latency.py`` times one synthetic textured image; how long max-flow takes
depends on the photo, so this one times every ``--every-coco``-th COCO-MVal-dev object and every
``--every-bsds``-th ``bsds500_objects`` object (the development data, not in the repository),
``--clicks`` clicks each from the standard user, previous probability fed back, and prints the
mean, median, 90th percentile and slowest object's mean seconds per click (and the mean seconds
of ``set_image``, the per-image work before the first click) of

* ``clicknet`` as shipped (the coarse-to-fine cut, the coarse cut on a 4-neighbourhood),
* ``clicknet`` with the coarse cut on an 8-neighbourhood (the default before),
* ``clicknet`` with the cut on the whole image (the baseline),
* ``clicknet_lite0`` (the network alone).

    python benchmarks/clicknet_latency_photos.py
    python benchmarks/clicknet_latency_photos.py --coco ../shared/data/coco_mval_dev \\
        --bsds ../shared/data/bsds500 --every-coco 25 --every-bsds 40
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from occseg.data import open_dataset
from occseg.eval.clicks import next_click
from occseg.predict import load_predictor
from occseg.predictor import Predictor
from occseg.types import Click, Sample

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def objects(coco: Path, bsds: Path, every_coco: int, every_bsds: int) -> Iterator[Sample]:
    """Every ``every_coco``-th COCO-MVal-dev and every ``every_bsds``-th ``bsds500_objects``
    object."""
    for spec, every in ((f"coco_mval:{coco}", every_coco), (f"bsds500_objects:{bsds}", every_bsds)):
        data = open_dataset(spec)
        for i in range(0, len(data), every):
            yield data[i]


def seconds_per_click(predictor: Predictor, sample: Sample, n_clicks: int) -> tuple[float, float]:
    """``(seconds of set_image, mean seconds of predict)`` over ``n_clicks`` clicks of the
    standard user."""
    t = time.perf_counter()
    predictor.set_image(sample.image)
    encoding = time.perf_counter() - t
    clicks: list[Click] = []
    prob = None
    pred = np.zeros_like(sample.mask)
    spent = 0.0
    for _ in range(n_clicks):
        clicks.append(next_click(sample.mask, pred))
        t = time.perf_counter()
        prob = predictor.predict(clicks, prev_prob=prob)
        spent += time.perf_counter() - t
        pred = prob > predictor.threshold
    return encoding, spent / n_clicks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--coco", type=Path, default=DATA / "coco_mval_dev")
    ap.add_argument("--bsds", type=Path, default=DATA / "bsds500")
    ap.add_argument("--every-coco", type=int, default=25)
    ap.add_argument("--every-bsds", type=int, default=40)
    ap.add_argument("--clicks", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    whole_image = {"coarse_side": None, "band": None}
    predictors = {
        "clicknet (shipped)": load_predictor("clicknet"),
        "clicknet, 8-neighbour coarse cut": load_predictor(
            "clicknet", refine_options={"coarse_connectivity": 8}
        ),
        "clicknet, whole-image cut": load_predictor("clicknet", refine_options=whole_image),
        "clicknet_lite0 (network alone)": load_predictor("clicknet_lite0"),
    }
    samples = list(objects(args.coco, args.bsds, args.every_coco, args.every_bsds))
    print(f"{len(samples)} objects, {args.clicks} clicks each, torch threads {args.threads}")
    runs = {
        name: np.array([seconds_per_click(p, s, args.clicks) for s in samples])
        for name, p in predictors.items()
    }
    baseline = runs["clicknet, whole-image cut"][:, 1].mean()
    for name, run in runs.items():
        encoding, t = run[:, 0], run[:, 1]
        print(
            f"{name:32s} mean {t.mean():.3f} s/click (×{t.mean() / baseline:.2f}), "
            f"median {np.median(t):.3f}, p90 {np.percentile(t, 90):.3f}, slowest {t.max():.3f}; "
            f"set_image {encoding.mean():.3f} s"
        )


if __name__ == "__main__":
    main()
