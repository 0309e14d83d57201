"""Speed of the CRF occlusion-order labelling vs one plain binary graph cut (issue 7).

Builds a 2048×615 street-scene-like input (objects ~ cars at random depths over a confident
background, noisy background probability, occlusion pairs along every object boundary), times

* one plain 4-connected binary graph cut of the same size built with PyMaxflow's grid helpers
  (``add_grid_nodes`` / ``add_grid_edges`` / ``add_grid_tedges``, ``maxflow``, segments), and
* the whole jump-move labelling with active-region moves (``order_labeling``),

in one run and prints the ratio (labelling / one cut). ``--check`` also runs the plain
whole-image jump moves and checks that the labellings are equal.

    python benchmarks/ordering_speed.py [--check] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import maxflow
import numpy as np

from occseg.occlusion.ordering import occ_pairs_from_instances, order_labeling


def make_scene(
    h: int = 615, w: int = 2048, n_objects: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Instances (painted back to front), background probability and occlusion pairs."""
    rng = np.random.default_rng(seed)
    inst = np.zeros((h, w), np.int32)
    yy, xx = np.mgrid[:h, :w]
    rank = {}
    for k in range(1, n_objects + 1):  # later objects are nearer (painted over earlier ones)
        oh = int(rng.uniform(0.1, 0.3) * h)
        ow = int(oh * rng.uniform(1.2, 2.2))
        cy = int(rng.uniform(0.45, 0.85) * h)
        cx = int(rng.uniform(0.05, 0.95) * w)
        body = (np.abs(yy - cy) <= oh // 2) & (np.abs(xx - cx) <= ow // 2)
        roof = ((yy - (cy - oh // 2)) / (oh / 2)) ** 2 + ((xx - cx) / (ow / 3)) ** 2 <= 1
        inst[body | roof] = k
        rank[k] = k
    sigma = np.where(inst == 0, 0.97, 0.05) + rng.normal(0, 0.02, inst.shape)
    sigma = np.clip(sigma, 0.0, 1.0)
    return inst, sigma, occ_pairs_from_instances(inst, rank)


def plain_cut_seconds(sigma: np.ndarray, lam: float = 20.0) -> float:
    """Time of one 4-connected binary graph cut of ``sigma``'s size with the grid helpers."""
    t0 = time.perf_counter()
    g = maxflow.Graph[float]()
    nodes = g.add_grid_nodes(sigma.shape)
    g.add_grid_edges(nodes, weights=lam, symmetric=True)
    g.add_grid_tedges(nodes, sigma, 1.0 - sigma)
    g.maxflow()
    g.get_grid_segments(nodes)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="compare with plain jump moves")
    args = ap.parse_args()
    inst, sigma, pairs = make_scene(seed=args.seed)
    t_cut = plain_cut_seconds(sigma)
    t0 = time.perf_counter()
    labels = order_labeling(sigma, pairs)
    t_lab = time.perf_counter() - t0
    print(
        f"input {sigma.shape[1]}x{sigma.shape[0]}, {int(inst.max())} objects "
        f"({(inst > 0).mean():.0%} of the pixels), "
        f"{len(pairs)} occlusion pairs, {int(labels.max())} order levels"
    )
    print(f"plain 4-connected binary graph cut: {t_cut:.3f} s")
    print(f"order_labeling (jump moves, active regions): {t_lab:.3f} s")
    print(f"ratio labelling / one plain cut: {t_lab / t_cut:.3f}")
    if args.check:
        t0 = time.perf_counter()
        plain = order_labeling(sigma, pairs, method="jump_plain")
        t_plain = time.perf_counter() - t0
        print(
            f"plain jump moves: {t_plain:.3f} s; equal labelling: {bool((plain == labels).all())}"
        )


if __name__ == "__main__":
    main()
