"""Seconds to encode an image and per click of the learned click predictor at 480×640, as
ratios to graph cut.

Both predictors run in this one process on the same image and the same simulated clicks (the
standard clicker of :mod:`occseg.eval.clicks`, previous probability fed back). ``set_image`` is
timed apart (an encode-once model encodes there), then each ``predict``. Without ``--model`` the
shipped default with the options of ``load_predictor("clicknet")``; ``--config`` times a randomly
initialised model of a training config (speed does not depend on the weights).

    python benchmarks/clicknet_latency.py                       # as load_predictor("clicknet")
    python benchmarks/clicknet_latency.py --zoom --flip         # with zoom-in and flip
    python benchmarks/clicknet_latency.py --refine none         # the network alone
    python benchmarks/clicknet_latency.py --band 0 --cut-side 0 # the cut on the whole image
    python benchmarks/clicknet_latency.py --coarse-connectivity 8  # as before the 4-neighbourhood
    python benchmarks/clicknet_latency.py --model runs/x/model.pt --threads 1
    python benchmarks/clicknet_latency.py --model src/occseg/models/clicknet-lite0.pt \
        --refine none --no-zoom --no-flip --max-side 400      # as load_predictor("clicknet_lite0")
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from occseg.eval.clicks import next_click
from occseg.nn import ClickNet
from occseg.predict import load_predictor
from occseg.predict.clicknet import ClickNetPredictor
from occseg.predict.registry import DEFAULT_CLICKNET, DEFAULT_CLICKNET_OPTIONS
from occseg.predictor import Predictor
from occseg.train.config import load_config
from occseg.types import Click

ROOT = Path(__file__).resolve().parents[1]


def test_image(h: int = 480, w: int = 640, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured image with an elliptical object (``H×W×3 uint8``, ``H×W bool``)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    mask = ((yy - 0.5 * h) / (0.3 * h)) ** 2 + ((xx - 0.45 * w) / (0.25 * w)) ** 2 <= 1
    img = rng.normal(120, 25, (h, w, 3))
    img[mask] += np.array([60.0, -30.0, 10.0])
    return np.clip(img, 0, 255).astype(np.uint8), mask


def time_predictor(
    predictor: Predictor, image: np.ndarray, gt: np.ndarray, n_clicks: int, warmup: int = 1
) -> tuple[float, float]:
    """``(seconds for set_image, mean seconds per predict)`` over ``n_clicks`` clicks."""
    for _ in range(warmup):
        predictor.set_image(image)
        predictor.predict([Click(int(gt.shape[0] / 2), int(gt.shape[1] * 0.45), True)])
    t = time.perf_counter()
    predictor.set_image(image)
    t_set = time.perf_counter() - t
    clicks: list[Click] = []
    prob = None
    pred = np.zeros_like(gt)
    spent = 0.0
    for _ in range(n_clicks):
        clicks.append(next_click(gt, pred))
        t = time.perf_counter()
        prob = predictor.predict(clicks, prev_prob=prob)
        spent += time.perf_counter() - t
        pred = prob > predictor.threshold
    return t_set, spent / n_clicks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", help="checkpoint (default: load_predictor('clicknet') as shipped)")
    ap.add_argument("--config", help="time a randomly initialised model of this training config")
    ap.add_argument("--clicks", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--zoom", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument(
        "--refine",
        choices=["hybrid", "graphcut", "none"],
        default=None,
        help="refiner (default: as load_predictor('clicknet'))",
    )
    ap.add_argument("--max-side", type=int, help="longest side the network sees")
    ap.add_argument(
        "--band", type=int, help="the hybrid cut decides only this band (0: the whole image)"
    )
    ap.add_argument(
        "--cut-side", type=int, help="the hybrid cut runs at most this long (0: full size)"
    )
    ap.add_argument(
        "--coarse-side",
        type=int,
        help="the hybrid cut runs this long first, then at full size in --band (0: off)",
    )
    ap.add_argument(
        "--coarse-connectivity",
        type=int,
        choices=[4, 8],
        help="neighbourhood of the coarse cut (default: as load_predictor('clicknet'))",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    image, gt = test_image()
    options = dict(DEFAULT_CLICKNET_OPTIONS)
    if args.zoom is not None:
        options["zoom_in"] = args.zoom
    if args.flip is not None:
        options["flip"] = args.flip
    if args.max_side is not None:
        options["max_side"] = args.max_side
    if args.refine == "none":
        options.pop("refine", None)
        options.pop("refine_options", None)
    elif args.refine is not None:
        options["refine"] = args.refine
        options.pop("refine_options", None)
    overrides = (
        ("band", args.band),
        ("max_side", args.cut_side),
        ("coarse_side", args.coarse_side),
        ("coarse_connectivity", args.coarse_connectivity),
    )
    for key, value in overrides:
        if value is not None:
            options["refine_options"] = {**options.get("refine_options", {}), key: value or None}

    if args.config:
        source = f"random weights, model of {args.config}"
        net = ClickNetPredictor(
            ClickNet(load_config("clicks", args.config).model_config()), **options
        )
    else:
        source = args.model or str(DEFAULT_CLICKNET)
        net = ClickNetPredictor(source, **options)
    n_params = sum(p.numel() for p in net.model.parameters()) / 1e6

    gc_set, gc = time_predictor(load_predictor("graphcut"), image, gt, args.clicks)
    cn_set, cn = time_predictor(net, image, gt, args.clicks)
    print(f"image 480×640, {args.clicks} clicks, torch threads {args.threads}")
    print(f"graphcut : set_image {gc_set:.3f} s, {gc:.4f} s/click")
    print(f"clicknet : set_image (encoding) {cn_set:.3f} s, {cn:.4f} s/click")
    print(f"           {net!r}, {n_params:.2f} M parameters, options {options}")
    print(f"           ({source})")
    print(f"ratio clicknet / graphcut: set_image {cn_set / gc_set:.2f}, per click {cn / gc:.2f}")


if __name__ == "__main__":
    main()
