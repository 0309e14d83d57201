"""Speed and agreement of occseg's BSDS boundary benchmark against pyEdgeEval (the reference).

On BSDS500 test images with a Sobel gradient-magnitude detector (quantised to 1/255 like a PNG
prediction), both implementations evaluate the same maps in this process, one process each, at the
protocol's 99 thresholds and 0.0075 tolerance; the script prints ODS/OIS/AP of both, the largest
difference and the time ratio.

Usage::

    python benchmarks/boundary_eval_speed.py ../shared/data/bsds500 [-n 5]
    # full test set for occseg, the reference on as many images as fit in 20 minutes:
    python benchmarks/boundary_eval_speed.py ../shared/data/bsds500 -n 200 --oracle-budget 1200

Not run by CI (needs the data and pyEdgeEval).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from occseg.data.bsds500 import list_bsds500, read_bsds_ground_truth
from occseg.eval.boundaries import BoundaryCounts, image_counts, summarize, thresholds_for
from occseg.io.images import read_image
from occseg.occlusion.detectors import sobel_boundaries


def _oracle_counts(prob: np.ndarray, gts: list[np.ndarray], thresholds: np.ndarray) -> tuple:
    from pyEdgeEval.common.binary_label.evaluate_boundaries import (
        evaluate_boundaries_threshold_multiple_gts,
    )

    return evaluate_boundaries_threshold_multiple_gts(
        thresholds=thresholds, pred=prob, gts=gts, max_dist=0.0075
    )


def _oracle_summary(counts: list[tuple], n_thr: int) -> dict:
    """pyEdgeEval's own metric code on its own counts (eval_single just returns them)."""
    import contextlib
    import io

    from pyEdgeEval.common.binary_label.calculate_metrics import calculate_metrics

    samples = [{"name": str(i), "i": i} for i in range(len(counts))]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        _, _, overall = calculate_metrics(lambda s: counts[s["i"]], n_thr, samples, nproc=1)
    return {"ODS": overall["ODS_f1"], "OIS": overall["OIS_f1"], "AP": overall["AUC"]}


def _ours_summary(counts: list[BoundaryCounts], thresholds: np.ndarray) -> dict:
    s = summarize(counts, thresholds)
    return {"ODS": s.ods, "OIS": s.ois, "AP": s.ap, "R50": s.r50}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("bsds", type=Path, help="BSDS500 root (images/, groundTruth/)")
    ap.add_argument("-n", type=int, default=5, help="number of test images for occseg (default 5)")
    ap.add_argument(
        "--oracle-budget",
        type=float,
        default=float("inf"),
        help="seconds the reference may use; it runs image by image until the budget is spent",
    )
    ap.add_argument(
        "--oracle-limit", type=int, default=None, help="at most this many reference images"
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)

    thresholds = thresholds_for(99)
    pairs = list_bsds500(args.bsds, "test")[: args.n]
    maps, gts = [], []
    for image_path, mat in pairs:
        prob = sobel_boundaries(read_image(image_path))
        maps.append(np.round(prob.astype(np.float64) * 255.0) / 255.0)  # as a PNG prediction
        gts.append(read_bsds_ground_truth(mat).boundaries)

    ours: list[BoundaryCounts] = []
    t_ours: list[float] = []
    for i, (p, g) in enumerate(zip(maps, gts, strict=True)):
        t0 = time.perf_counter()
        ours.append(image_counts(p, g, thresholds))
        t_ours.append(time.perf_counter() - t0)
        print(f"occseg {i + 1}/{len(maps)} {pairs[i][0].stem}: {t_ours[-1]:.1f}s", file=sys.stderr)

    ref: list[tuple] = []
    t_ref: list[float] = []
    limit = len(maps) if args.oracle_limit is None else min(args.oracle_limit, len(maps))
    for i in range(limit):
        if sum(t_ref) >= args.oracle_budget:
            break
        t0 = time.perf_counter()
        ref.append(_oracle_counts(maps[i], gts[i], thresholds))
        t_ref.append(time.perf_counter() - t0)
        print(f"pyEdgeEval {i + 1}/{limit} {pairs[i][0].stem}: {t_ref[-1]:.1f}s", file=sys.stderr)

    k = len(ref)
    result: dict = {
        "images": [p.stem for p, _ in pairs],
        "occseg_all": _ours_summary(ours, thresholds),
        "occseg_seconds_per_image": float(np.mean(t_ours)),
        "n_all": len(ours),
        "n_compared": k,
    }
    print(f"\noccseg on {len(ours)} images: " + _fmt(result["occseg_all"]))
    print(f"  {np.mean(t_ours):.2f} s/image (1 process)")
    if k:
        mine = _ours_summary(ours[:k], thresholds)
        theirs = _oracle_summary(ref, len(thresholds))
        diff = {m: abs(mine[m] - theirs[m]) for m in ("ODS", "OIS", "AP")}
        ratio = sum(t_ref) / sum(t_ours[:k])
        print(f"\non the same {k} images ({pairs[0][0].stem} .. {pairs[k - 1][0].stem}):")
        print("  occseg     " + _fmt(mine) + f"  {sum(t_ours[:k]):8.1f} s")
        print("  pyEdgeEval " + _fmt(theirs) + f"  {sum(t_ref):8.1f} s")
        print("  |diff|     " + "  ".join(f"{m}={v:.4f}" for m, v in diff.items()))
        print(f"  speed ratio (pyEdgeEval time / occseg time): {ratio:.1f}x")
        cr = np.sum([c.cnt_r for c in ours[:k]]), np.sum([r[0] for r in ref])
        cp = np.sum([c.cnt_p for c in ours[:k]]), np.sum([r[2] for r in ref])
        sp = np.sum([c.sum_p for c in ours[:k]]), np.sum([r[3] for r in ref])
        print(
            f"  counts over all thresholds: matched GT {cr[0]} vs {cr[1]:.0f}, matched predictions "
            f"{cp[0]} vs {cp[1]:.0f}, predicted pixels {sp[0]} vs {sp[1]:.0f}"
        )
        result.update(
            occseg_subset=mine,
            pyedgeeval_subset=theirs,
            abs_diff=diff,
            speed_ratio=ratio,
            occseg_seconds_subset=sum(t_ours[:k]),
            pyedgeeval_seconds=sum(t_ref),
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


def _fmt(d: dict) -> str:
    return "  ".join(f"{m}={d[m]:.4f}" for m in ("ODS", "OIS", "AP"))


if __name__ == "__main__":
    sys.exit(main())
