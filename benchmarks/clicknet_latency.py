"""Seconds per click of the learned click predictor at 480×640, as a ratio to graph cut.

Both predictors run in this one process on the same image and the same simulated clicks (the
standard clicker of :mod:`occseg.eval.clicks`, previous probability fed back); only
``predict`` calls are timed (``set_image`` is reported apart). Without ``--model`` the shipped
default is used if installed, else a randomly initialised model built from ``--config`` (speed
does not depend on the weights).

    python benchmarks/clicknet_latency.py                       # as load_predictor("clicknet")
    python benchmarks/clicknet_latency.py --zoom --flip         # with zoom-in and flip
    python benchmarks/clicknet_latency.py --refine none         # the network alone
    python benchmarks/clicknet_latency.py --model runs/x/model.pt --threads 2
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
        pred = prob > 0.49
    return t_set, spent / n_clicks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", help="checkpoint (default: shipped model, else random weights)")
    ap.add_argument("--config", default=str(ROOT / "configs" / "clicknet-hrnet18s-cpu.yaml"))
    ap.add_argument("--clicks", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    defaults = DEFAULT_CLICKNET_OPTIONS
    ap.add_argument(
        "--zoom", action=argparse.BooleanOptionalAction, default=defaults.get("zoom_in", True)
    )
    ap.add_argument(
        "--flip", action=argparse.BooleanOptionalAction, default=defaults.get("flip", True)
    )
    ap.add_argument(
        "--refine",
        choices=["hybrid", "graphcut", "none"],
        default="hybrid",
        help="refiner (default: as load_predictor('clicknet'), the network inside the graph cut)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    image, gt = test_image()
    options = {"zoom_in": args.zoom, "flip": args.flip}
    if args.refine == "hybrid":
        options["refine"] = "hybrid"
        options["refine_options"] = DEFAULT_CLICKNET_OPTIONS["refine_options"]
    elif args.refine == "graphcut":
        options["refine"] = "graphcut"

    if args.model or DEFAULT_CLICKNET.is_file():
        source = args.model or str(DEFAULT_CLICKNET)
        net: ClickNetPredictor = ClickNetPredictor(source, **options)
    else:
        source = f"random weights, model of {args.config}"
        model = ClickNet(load_config("clicks", args.config).model_config())
        net = ClickNetPredictor(model, **options)
    n_params = sum(p.numel() for p in net.model.parameters()) / 1e6

    gc_set, gc = time_predictor(load_predictor("graphcut"), image, gt, args.clicks)
    cn_set, cn = time_predictor(net, image, gt, args.clicks)
    print(f"image 480×640, {args.clicks} clicks, torch threads {args.threads}")
    print(f"graphcut : {gc:.4f} s/click (set_image {gc_set:.3f} s)")
    print(f"clicknet : {cn:.4f} s/click (set_image {cn_set:.3f} s) — {net!r}, {n_params:.2f} M,")
    print(f"           refine {args.refine}")
    print(f"           ({source})")
    print(f"ratio clicknet / graphcut: {cn / gc:.2f}")


if __name__ == "__main__":
    main()
