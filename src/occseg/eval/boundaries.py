"""The BSDS boundary benchmark (ODS / OIS / AP / R50) and its occlusion-boundary variant.

The protocol is the one of the Berkeley Segmentation Data Set benchmark (Martin, Fowlkes & Malik,
TPAMI 2004; Arbeláez et al., TPAMI 2011; code ``boundaryBench.m``, ``evaluation_bdry_image.m``,
``correspondPixels`` / ``match.cc`` and ``collect_eval_bdry.m``) as used by papers ``000`` (Sec. 4,
"Evaluation Metrics") and ``001`` (oriented occlusion boundaries, Tab. 4):

1. thresholds ``linspace(1/(n+1), n/(n+1), n)``; at each one the soft map is binarised with
   ``prob >= t`` and thinned to one pixel (``bwmorph(..., 'thin', inf)``,
   :func:`occseg.occlusion.thin`);
2. the thinned map is matched to every annotator's boundary map by a minimum-cost bipartite
   matching in which two pixels may be paired when they are at most ``max_dist * diagonal`` apart
   (:func:`match_boundaries`);
3. a predicted pixel is a true positive when it is matched to *any* annotator (precision); recall
   sums the matched ground-truth pixels over annotators and divides by the sum of their boundary
   pixels;
4. ODS: F of the dataset-wide counts, maximised over thresholds with linear interpolation between
   neighbouring thresholds (``maxF`` of ``collect_eval_bdry.m``); OIS: counts of every image at its
   own best threshold (first maximum), summed; AP: area under the PR curve interpolated at recall
   ``0:0.01:1`` (``interp1`` over unique recalls, outside values count 0) as ``collect_eval_bdry.m``
   computes it; R50: recall at 50 % precision (``edgesEvalDir.m`` of the Structured Edge toolbox).
   (pyEdgeEval reports this AP as ``AUC``; its ``AP`` key is a different quantity, the mean of
   the best precision at recall >= r over 100 recall levels.)

The occlusion variant (:func:`occlusion_pr`; DOC / DOOBNet ``EvaluateOcc`` protocol) applies
edge NMS once to the soft map instead of thinning each thresholded map, and a matched pixel counts
for the orientation PR curve only when its predicted orientation differs from the annotated one by
less than π/2 (modulo 2π); the accuracy-vs-recall (AOR) curve divides the correctly oriented
matches by all matches. :func:`boundary_pr` takes the same optional orientations with its own
pre-processing, so that a method with orientations gets the plain and the oriented numbers of
one run.

Matching
--------
``correspondPixels`` solves an assignment problem with the CSA solver: every matchable pixel can be
assigned to a pixel of the other map within the radius (cost: distance) or to an outlier (cost
``100 * radius``). Because an outlier costs a hundred radii, the optimum is the matching that
maximises ``sum(outlier_cost - distance)`` over matched pairs: in practice the largest matching of
the radius graph, ties broken by the smallest total distance. :func:`match_boundaries` solves
exactly that problem: candidate pairs come from a table of the integer offsets inside the radius
(distances rounded to 1/100 pixel as in ``match.cc``), isolated pairs are matched directly, and the
rest is one sparse rectangular assignment
(:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`, LAPJVsp) in which every node of
the smaller side may also take a private "outlier" column at the outlier cost. The optimum is
exact; the reference's CSA graph only offers a few random outlier connections per node and is
occasionally one match short, and when several optimal matchings exist (ties in total distance)
the two codes may pick different ones, so precision counts can differ by a few pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from occseg.errors import ConfigError, FileFormatError
from occseg.occlusion.nms import edge_nms, thin
from occseg.parallel import Shard, ordered_map, unshard

__all__ = [
    "BoundaryCounts",
    "BoundaryReport",
    "OrientationReport",
    "PRCurve",
    "boundary_pr",
    "image_counts",
    "match_boundaries",
    "merge_boundary_reports",
    "occlusion_pr",
    "plot_pr",
    "summarize",
    "thresholds_for",
]

#: BSDS ``match.cc``: distances are converted to integers with this multiplier.
_MULTIPLIER = 100
#: BSDS ``correspondPixels`` default outlier cost, in units of the matching radius.
_OUTLIER_COST = 100.0


def thresholds_for(n_thresholds: int) -> NDArray[np.float64]:
    """The benchmark's thresholds ``linspace(1/(n+1), 1 - 1/(n+1), n)``."""
    n = int(n_thresholds)
    if n < 1:
        raise ValueError(f"n_thresholds must be >= 1, got {n}")
    return np.linspace(1.0 / (n + 1), 1.0 - 1.0 / (n + 1), n)


# --------------------------------------------------------------------------------------------
# pixel correspondence
# --------------------------------------------------------------------------------------------
class _GroundTruth:
    """Pre-computed lookup structures of one annotator's boundary map (reused across thresholds)."""

    def __init__(self, gt: NDArray[np.bool_], max_dist_px: float) -> None:
        self.shape = gt.shape
        h, w = gt.shape
        self.r = math.ceil(max_dist_px)
        r = self.r
        self.flat = np.flatnonzero(gt)
        self.n = int(self.flat.size)
        self.index = np.full((h + 2 * r, w + 2 * r), -1, dtype=np.int64)
        ys, xs = np.divmod(self.flat, w)
        self.index[ys + r, xs + r] = np.arange(self.n)
        # pixels within reach of some ground-truth pixel (dilation by the disk)
        dy, dx, cost = _disk_offsets(max_dist_px)
        near = np.zeros((h + 2 * r, w + 2 * r), dtype=bool)
        for oy, ox in zip(dy.tolist(), dx.tolist(), strict=True):
            near[ys + r - oy, xs + r - ox] = True
        self.near = near[r : r + h, r : r + w].ravel()
        self.dy, self.dx, self.cost = dy, dx, cost
        self.width = w


def _disk_offsets(max_dist_px: float) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray]:
    """Integer offsets ``(dy, dx)`` with ``dy² + dx² <= max_dist²`` and their integer costs.

    Costs are ``rint(100 * distance)`` as in ``match.cc``.
    """
    r = math.ceil(max_dist_px)
    v, u = np.mgrid[-r : r + 1, -r : r + 1]
    d2 = (u * u + v * v).astype(np.float64)
    ok = d2 <= max_dist_px * max_dist_px
    cost = np.rint(np.sqrt(d2[ok]) * _MULTIPLIER).astype(np.int64)
    return v[ok].astype(np.int64), u[ok].astype(np.int64), cost


def _candidate_pairs(
    pred_flat: NDArray[np.int64], gt: _GroundTruth
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """All (pred node, gt node, cost) pairs within the radius; pred nodes index ``pred_flat``."""
    near = gt.near[pred_flat]
    cand = np.flatnonzero(near)
    if cand.size == 0 or gt.n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    ys, xs = np.divmod(pred_flat[cand], gt.width)
    ys = ys + gt.r
    xs = xs + gt.r
    # (n_cand, n_offsets) lookups in the padded index image
    j = gt.index[ys[:, None] + gt.dy[None, :], xs[:, None] + gt.dx[None, :]]
    ii, kk = np.nonzero(j >= 0)
    return cand[ii], j[ii, kk], gt.cost[kk]


def _tie_break(keys: NDArray[np.int64], levels: int) -> NDArray[np.int64]:
    """Deterministic pseudo-random integers in ``[0, levels)`` from pair keys (splitmix64 hash)."""
    z = keys.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(levels)).astype(np.int64)


def _compact(ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``np.unique(ids, return_inverse=True)`` for small non-negative ids, without sorting."""
    present = np.zeros(int(ids.max()) + 1, dtype=bool)
    present[ids] = True
    remap = np.cumsum(present) - 1
    return np.flatnonzero(present), remap[ids]


def _max_weight_matching(
    pi: NDArray[np.int64],
    gj: NDArray[np.int64],
    cost: NDArray[np.int64],
    outlier: int,
    keys: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Matching maximising ``sum(outlier - cost)`` over the given candidate pairs.

    Node ids in ``pi`` and ``gj`` may be arbitrary (they are compacted here). Pairs whose two
    nodes have no other candidate are matched directly; the rest is a rectangular minimum-weight
    full matching (LAPJVsp) where each node of the smaller side has a private outlier column of
    cost ``outlier``, which is equivalent to maximising ``sum(outlier - cost)``.
    """
    if pi.size == 0:
        return pi, gj
    up, pc = _compact(pi)
    ug, gc = _compact(gj)
    n1, n2 = up.size, ug.size
    deg_p = np.bincount(pc, minlength=n1)
    deg_g = np.bincount(gc, minlength=n2)
    single = (deg_p[pc] == 1) & (deg_g[gc] == 1)
    out_p = [up[pc[single]]]
    out_g = [ug[gc[single]]]
    rest = ~single
    if rest.any():
        pc, gc, c = pc[rest], gc[rest], cost[rest]
        # compact again to the nodes involved
        up2, pc = _compact(pc)
        ug2, gc = _compact(gc)
        m1, m2 = up2.size, ug2.size
        if keys is not None:
            # Break ties between equally cheap matchings pseudo-randomly (as the reference's
            # randomised outlier graph effectively does) without changing the optimum: the
            # total perturbation of any matching stays below one cost unit.
            q = 64
            scale = (min(m1, m2) + 1) * q
            c = c * scale + _tie_break(keys[rest], q)
            outlier = outlier * scale
        # Rectangular full matching: rows are the nodes of the smaller side, columns the other
        # side plus one private "outlier" column per row (cost: the outlier weight), so every row
        # is either matched or pays the outlier cost; costs +1 keep zero distances explicit.
        if m1 <= m2:
            ri, ci, nr, nc = pc, gc, m1, m2
        else:
            ri, ci, nr, nc = gc, pc, m2, m1
        rows = np.concatenate([ri, np.arange(nr)])
        cols = np.concatenate([ci, nc + np.arange(nr)])
        vals = np.concatenate([c.astype(np.float64) + 1.0, np.full(nr, float(outlier) + 1.0)])
        graph = sparse.csr_matrix((vals, (rows, cols)), shape=(nr, nr + nc))
        r_ind, c_ind = min_weight_full_bipartite_matching(graph)
        real = c_ind < nc
        if m1 > m2:
            r_ind, c_ind = c_ind, r_ind
        out_p.append(up[up2[r_ind[real]]])
        out_g.append(ug[ug2[c_ind[real]]])
    return np.concatenate(out_p), np.concatenate(out_g)


def match_boundaries(
    pred: NDArray[np.bool_],
    gt: NDArray[np.bool_],
    max_dist: float = 0.0075,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Correspond the pixels of two binary boundary maps (BSDS ``correspondPixels``).

    Parameters
    ----------
    pred, gt : (H, W) bool arrays
        Predicted (thinned) and ground-truth boundary maps.
    max_dist : float
        Matching tolerance as a fraction of the image diagonal (0.0075 in BSDS).

    Returns
    -------
    match_pred, match_gt : (H, W) bool arrays
        Which pixels of each map are matched (``match1 > 0`` / ``match2 > 0`` in BSDS terms).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.zeros((50, 50), bool); g[10, 5:45] = True
    >>> p = np.roll(g, 1, axis=0)
    >>> mp, mg = match_boundaries(p, g, max_dist=0.02)  # 1.4 px on this small image
    >>> int(mp.sum()), int(mg.sum())
    (40, 40)
    """
    pred = np.asarray(pred, dtype=bool)
    gt = np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"shape mismatch: prediction {pred.shape} vs ground truth {gt.shape}")
    h, w = gt.shape
    radius = max_dist * math.hypot(h, w)
    g = _GroundTruth(gt, radius)
    pflat = np.flatnonzero(pred)
    mp, mg = _match_flat(pflat, g, radius)
    out_p = np.zeros(h * w, dtype=bool)
    out_g = np.zeros(h * w, dtype=bool)
    out_p[pflat[mp]] = True
    out_g[g.flat[mg]] = True
    return out_p.reshape(h, w), out_g.reshape(h, w)


def _outlier_weight(radius: float) -> int:
    """Integer outlier cost of ``match.cc``: ``ceil(100 * radius * multiplier)``."""
    return math.ceil(_OUTLIER_COST * radius * _MULTIPLIER)


def _match_flat(
    pflat: NDArray[np.int64], g: _GroundTruth, radius: float
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Matched (pred positions in ``pflat``, gt node ids)."""
    pi, gj, c = _candidate_pairs(pflat, g)
    keys = pflat[pi] * (g.n + 1) + gj
    return _max_weight_matching(pi, gj, c, _outlier_weight(radius), keys)


# --------------------------------------------------------------------------------------------
# per-image counts
# --------------------------------------------------------------------------------------------
@dataclass
class BoundaryCounts:
    """Per-threshold counts of one image (the columns of BSDS ``*_ev1.txt``).

    Attributes
    ----------
    cnt_r, sum_r : (T,) int arrays
        Matched ground-truth pixels and all ground-truth pixels, summed over annotators.
    cnt_p, sum_p : (T,) int arrays
        Predicted pixels matched to any annotator and all predicted pixels.
    cnt_r_occ, cnt_p_occ : (T,) int arrays, optional
        The same matched counts restricted to correctly oriented matches (occlusion variant).
    """

    cnt_r: NDArray[np.int64]
    sum_r: NDArray[np.int64]
    cnt_p: NDArray[np.int64]
    sum_p: NDArray[np.int64]
    cnt_r_occ: NDArray[np.int64] | None = None
    cnt_p_occ: NDArray[np.int64] | None = None

    def to_dict(self) -> dict[str, list[int]]:
        """The counts as JSON lists (the orientation counts only when present)."""
        return {k: v.tolist() for k, v in vars(self).items() if v is not None}


def _as_gt_list(gts: Any, shape: tuple[int, ...]) -> list[NDArray[np.bool_]]:
    if isinstance(gts, np.ndarray) and gts.ndim == 2:
        gts = [gts]
    out = [np.asarray(g) != 0 for g in gts]
    for g in out:
        if g.shape != shape:
            raise ValueError(f"ground-truth shape {g.shape} differs from prediction shape {shape}")
    return out


def _orientation_ok(pred_angle: NDArray, gt_angle: NDArray) -> NDArray[np.bool_]:
    """Occlusion orientation is correct when the angle error is below π/2 (modulo 2π)."""
    d = np.mod(np.abs(pred_angle - gt_angle), 2.0 * np.pi)
    return (d < np.pi / 2) | (d > 1.5 * np.pi)


def image_counts(
    prob: NDArray[np.floating],
    gts: Sequence[NDArray] | NDArray,
    thresholds: NDArray[np.float64] | int = 99,
    max_dist: float = 0.0075,
    *,
    thin_maps: bool = True,
    nms: bool = False,
    orientation: NDArray[np.floating] | None = None,
    gt_orientations: Sequence[NDArray] | NDArray | None = None,
) -> BoundaryCounts:
    """Counts of one image at every threshold (BSDS ``evaluation_bdry_image.m``).

    Parameters
    ----------
    prob : (H, W) float array
        Soft boundary map in ``[0, 1]``.
    gts : sequence of (H, W) arrays or (A, H, W) array
        One boundary map per annotator (non-zero = boundary).
    thresholds : int or (T,) array
        Number of thresholds (see :func:`thresholds_for`) or the thresholds themselves.
    max_dist : float
        Tolerance as a fraction of the image diagonal.
    thin_maps : bool
        Thin every thresholded map (BSDS default).
    nms : bool
        Apply :func:`~occseg.occlusion.nms.edge_nms` once to ``prob`` first (occlusion variant).
    orientation, gt_orientations : optional
        Predicted occlusion orientation (H, W) and one orientation map per annotator, in radians;
        when given, the orientation-aware counts are filled in.

    Returns
    -------
    BoundaryCounts
    """
    p = np.asarray(prob, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probability map must be 2-D, got shape {p.shape}")
    if np.ndim(thresholds) == 0:
        thr = thresholds_for(int(thresholds))
    else:
        thr = np.asarray(thresholds, dtype=np.float64)
    gt_list = _as_gt_list(gts, p.shape)
    with_occ = orientation is not None
    if with_occ:
        if gt_orientations is None:
            raise ValueError("gt_orientations are required when orientation is given")
        ori = np.asarray(orientation, dtype=np.float64).ravel()
        gori = [np.asarray(o, dtype=np.float64).ravel() for o in gt_orientations]
        if len(gori) != len(gt_list):
            raise ValueError("need one orientation map per ground-truth map")
    if nms:
        p = edge_nms(p)
    h, w = p.shape
    radius = max_dist * math.hypot(h, w)
    gstructs = [_GroundTruth(g, radius) for g in gt_list]
    n_gt_total = int(sum(g.n for g in gstructs))
    t = thr.size
    cnt_r = np.zeros(t, dtype=np.int64)
    cnt_p = np.zeros(t, dtype=np.int64)
    sum_p = np.zeros(t, dtype=np.int64)
    sum_r = np.full(t, n_gt_total, dtype=np.int64)
    cnt_r_occ = np.zeros(t, dtype=np.int64) if with_occ else None
    cnt_p_occ = np.zeros(t, dtype=np.int64) if with_occ else None
    outlier = _outlier_weight(radius)
    for k, th in enumerate(thr):
        bmap = p >= th
        if thin_maps:
            bmap = thin(bmap)
        pflat = np.flatnonzero(bmap)
        sum_p[k] = pflat.size
        if pflat.size == 0:
            continue
        acc = np.zeros(pflat.size, dtype=bool)
        acc_occ = np.zeros(pflat.size, dtype=bool) if with_occ else None
        for a, g in enumerate(gstructs):
            pi, gj, c = _candidate_pairs(pflat, g)
            mp, mg = _max_weight_matching(pi, gj, c, outlier, pflat[pi] * (g.n + 1) + gj)
            cnt_r[k] += mp.size
            acc[mp] = True
            if with_occ:
                ok = _orientation_ok(ori[pflat[mp]], gori[a][g.flat[mg]])
                cnt_r_occ[k] += int(ok.sum())  # type: ignore[index]
                acc_occ[mp[ok]] = True  # type: ignore[index]
        cnt_p[k] = int(acc.sum())
        if with_occ:
            cnt_p_occ[k] = int(acc_occ.sum())  # type: ignore[union-attr,index]
    return BoundaryCounts(cnt_r, sum_r, cnt_p, sum_p, cnt_r_occ, cnt_p_occ)


# --------------------------------------------------------------------------------------------
# dataset-level summary (collect_eval_bdry.m)
# --------------------------------------------------------------------------------------------
def _rpf(
    cnt_r: NDArray | float, sum_r: NDArray | float, cnt_p: NDArray | float, sum_p: NDArray | float
) -> tuple[Any, Any, Any]:
    """Recall, precision, F exactly as BSDS: ``cnt / (sum + (sum == 0))``."""
    cnt_r, sum_r = np.asarray(cnt_r, float), np.asarray(sum_r, float)
    cnt_p, sum_p = np.asarray(cnt_p, float), np.asarray(sum_p, float)
    r = cnt_r / (sum_r + (sum_r == 0))
    p = cnt_p / (sum_p + (sum_p == 0))
    return r, p, _fmeasure(r, p)


def _fmeasure(r: Any, p: Any) -> Any:
    return 2.0 * p * r / (p + r + ((p + r) == 0))


def _max_f(thresholds: NDArray, r: NDArray, p: NDArray) -> tuple[float, float, float, float]:
    """Best (threshold, R, P, F) with linear interpolation between neighbouring thresholds.

    ``maxF`` of ``collect_eval_bdry.m``: 100 points (MATLAB ``linspace(0, 1)``) on each segment,
    strict improvement only.
    """
    best = (float(thresholds[0]), float(r[0]), float(p[0]), float(_fmeasure(r[0], p[0])))
    if thresholds.size < 2:
        return best
    d = np.linspace(0.0, 1.0, 100)[None, :]
    t = thresholds[1:, None] * d + thresholds[:-1, None] * (1 - d)
    rr = r[1:, None] * d + r[:-1, None] * (1 - d)
    pp = p[1:, None] * d + p[:-1, None] * (1 - d)
    ff = _fmeasure(rr, pp)
    k = int(np.argmax(ff))  # first maximum in the (segment, d) scan order, as the loop finds it
    if ff.flat[k] > best[3]:
        best = (float(t.flat[k]), float(rr.flat[k]), float(pp.flat[k]), float(ff.flat[k]))
    return best


def _area_pr(r: NDArray, p: NDArray) -> float:
    """AP as ``collect_eval_bdry.m``: PR interpolated at recall ``0:0.01:1``, NaN counted as 0."""
    ru, idx = np.unique(r, return_index=True)
    if ru.size <= 1:
        return 0.0
    pu = p[idx]
    ri = np.linspace(0.0, 1.0, 101)
    pi = np.interp(ri, ru, pu, left=np.nan, right=np.nan)
    return float(np.nansum(pi) * 0.01)


def _r50(r: NDArray, p: NDArray) -> float:
    """Recall at 50 % precision (``edgesEvalDir.m``): ``interp1(P(o), R(o), max(P(o(1)), .5))``."""
    pu, idx = np.unique(p, return_index=True)
    if pu.size == 0:
        return float("nan")
    target = max(float(pu[0]), 0.5)
    if pu.size == 1:
        return float(r[idx[0]]) if target == pu[0] else float("nan")
    if target > pu[-1]:
        return float("nan")
    return float(np.interp(target, pu, r[idx]))


@dataclass(frozen=True)
class PRCurve:
    """Dataset-wide precision/recall at every threshold."""

    thresholds: NDArray[np.float64]
    recall: NDArray[np.float64]
    precision: NDArray[np.float64]
    f: NDArray[np.float64]

    def to_dict(self) -> dict[str, list[float]]:
        return {
            k: np.asarray(getattr(self, k)).tolist()
            for k in ("thresholds", "recall", "precision", "f")
        }


@dataclass(frozen=True)
class PRSummary:
    """ODS/OIS/AP/R50 and the PR curve of one set of per-image counts (see :func:`summarize`).

    ``image_best`` is ``(N, 4)``: each image's best threshold, recall, precision and F
    (interpolated, BSDS ``eval_bdry_img.txt``).
    """

    ods: float
    ods_threshold: float
    ods_recall: float
    ods_precision: float
    ois: float
    ois_recall: float
    ois_precision: float
    ap: float
    r50: float
    curve: PRCurve
    image_best: NDArray[np.float64]  # (N, 4): threshold, recall, precision, F (interpolated)


def summarize(
    counts: Sequence[BoundaryCounts], thresholds: NDArray[np.float64], *, oriented: bool = False
) -> PRSummary:
    """ODS/OIS/AP/R50 from per-image counts (``collect_eval_bdry.m``).

    Parameters
    ----------
    counts : sequence of BoundaryCounts
        One entry per image.
    thresholds : (T,) array
    oriented : bool
        Use the orientation-aware matched counts (occlusion PR) instead of the plain ones.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    tot = np.zeros((4, t.size))
    best = np.zeros(4)
    image_best = np.zeros((len(counts), 4))
    for i, c in enumerate(counts):
        cr = c.cnt_r_occ if oriented else c.cnt_r
        cp = c.cnt_p_occ if oriented else c.cnt_p
        if cr is None or cp is None:
            raise ValueError("orientation counts missing: evaluate with orientations")
        arr = np.stack([cr, c.sum_r, cp, c.sum_p]).astype(np.float64)
        tot += arr
        r, p, f = _rpf(*arr)
        k = int(np.argmax(f))  # first maximum (ff(1) in collect_eval_bdry.m)
        best += arr[:, k]
        image_best[i] = _max_f(t, r, p)
    r, p, f = _rpf(*tot)
    bt, br, bp, bf = _max_f(t, r, p)
    oir, oip, oif = _rpf(*best)
    return PRSummary(
        ods=bf,
        ods_threshold=bt,
        ods_recall=br,
        ods_precision=bp,
        ois=float(oif),
        ois_recall=float(oir),
        ois_precision=float(oip),
        ap=_area_pr(r, p),
        r50=_r50(r, p),
        curve=PRCurve(t, r, p, f),
        image_best=image_best,
    )


@dataclass(frozen=True)
class OrientationReport:
    """Occlusion-orientation results: the orientation PR (OPR) and accuracy-vs-recall (AOR).

    Attributes
    ----------
    ods, ois, ap, r50 : float
        Metrics of the orientation PR curve (a match counts only when correctly oriented).
    curve : PRCurve
        The OPR curve.
    recall, accuracy : (T,) arrays
        AOR curve: boundary recall and the fraction of matched ground-truth pixels whose
        orientation is correct, at every threshold.
    ods_accuracy : float
        That fraction at the (plain) ODS threshold, the matched counts interpolated linearly
        between neighbouring thresholds as the ODS point is (NaN when nothing is matched there).
    """

    ods: float
    ois: float
    ap: float
    r50: float
    curve: PRCurve
    recall: NDArray[np.float64]
    accuracy: NDArray[np.float64]
    ods_accuracy: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ODS": self.ods,
            "OIS": self.ois,
            "AP": self.ap,
            "R50": _nan_to_none(self.r50),
            "ODS_accuracy": _nan_to_none(self.ods_accuracy),
            "curve": self.curve.to_dict(),
            "aor": {"recall": self.recall.tolist(), "accuracy": self.accuracy.tolist()},
        }


def _nan_to_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


@dataclass(frozen=True)
class BoundaryReport(PRSummary):
    """Result of :func:`boundary_pr` / :func:`occlusion_pr`.

    Attributes
    ----------
    ods, ods_threshold, ods_recall, ods_precision : float
        Optimal dataset scale: best F of the dataset-wide counts (interpolated) and its point.
    ois, ois_recall, ois_precision : float
        Optimal image scale: counts of every image at its own best threshold, summed.
    ap : float
        Area under the interpolated PR curve (BSDS ``Area_PR``).
    r50 : float
        Recall at 50 % precision (NaN when the curve never reaches it).
    curve : PRCurve
        Dataset-wide PR curve.
    image_best : (N, 4) array
        Per-image best threshold, recall, precision and F (see :attr:`image_thresholds`,
        :attr:`image_f`).
    counts : list of BoundaryCounts
        Raw per-image counts (``*_ev1.txt``), enough to recompute everything.
    names : list of str
        Image names (or indices as strings).
    orientation : OrientationReport or None
        Filled by :func:`occlusion_pr` when orientations are evaluated.
    max_dist : float
        The matching tolerance used (fraction of the diagonal).
    shard : Shard or None
        The shard of a larger run these images are (see :func:`merge_boundary_reports`).
    """

    counts: list[BoundaryCounts] = field(repr=False)
    names: list[str] = field(repr=False)
    orientation: OrientationReport | None = None
    max_dist: float = 0.0075
    shard: Shard | None = None

    @property
    def image_thresholds(self) -> NDArray[np.float64]:
        """Per-image best threshold (BSDS ``eval_bdry_img.txt``)."""
        return self.image_best[:, 0]

    @property
    def image_f(self) -> NDArray[np.float64]:
        """Per-image best F (interpolated)."""
        return self.image_best[:, 3]

    def to_dict(self, *, with_curves: bool = True) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes ``None``)."""
        out: dict[str, Any] = {
            "ODS": self.ods,
            "ODS_threshold": self.ods_threshold,
            "ODS_recall": self.ods_recall,
            "ODS_precision": self.ods_precision,
            "OIS": self.ois,
            "OIS_recall": self.ois_recall,
            "OIS_precision": self.ois_precision,
            "AP": self.ap,
            "R50": _nan_to_none(self.r50),
            "n_images": len(self.counts),
            "n_thresholds": int(self.curve.thresholds.size),
            "max_dist": self.max_dist,
        }
        if with_curves:
            out["curve"] = self.curve.to_dict()
            out["images"] = [
                {"name": n, "best_threshold": float(t), "best_f": float(f)}
                for n, t, f in zip(self.names, self.image_thresholds, self.image_f, strict=True)
            ]
        if self.orientation is not None:
            out["orientation"] = self.orientation.to_dict()
        if self.shard is not None:  # what merging needs: the raw counts of every image
            out["shard"] = str(self.shard)
            out["counts"] = [
                {"name": n, **c.to_dict()} for n, c in zip(self.names, self.counts, strict=True)
            ]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoundaryReport:
        """Rebuild a sharded run's report from its :meth:`to_dict` (which holds the raw counts).

        Raises
        ------
        FileFormatError
            If ``data`` is not the dictionary of a sharded report.
        """
        try:
            entries = data["counts"]
            names = [str(e["name"]) for e in entries]
            counts = [
                BoundaryCounts(**{k: np.asarray(v, np.int64) for k, v in e.items() if k != "name"})
                for e in entries
            ]
            thresholds = thresholds_for(int(data["n_thresholds"]))
            max_dist = float(data["max_dist"])
            shard = Shard.parse(data["shard"])
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise FileFormatError(
                f"not the summary of a sharded boundary evaluation ({exc}); only a run with a "
                "shard writes the per-image counts that merging needs"
            ) from None
        return _report(counts, thresholds, names, max_dist, shard)


def _report(
    counts: list[BoundaryCounts],
    thresholds: NDArray[np.float64],
    names: list[str],
    max_dist: float,
    shard: Shard | None = None,
) -> BoundaryReport:
    s = summarize(counts, thresholds)
    orientation = None
    if counts and all(c.cnt_r_occ is not None for c in counts):
        so = summarize(counts, thresholds, oriented=True)
        cnt_r = np.sum([c.cnt_r for c in counts], axis=0).astype(float)
        occ = [c.cnt_r_occ for c in counts if c.cnt_r_occ is not None]  # all, checked above
        cnt_r_occ = np.sum(occ, axis=0).astype(float)
        acc = cnt_r_occ / (cnt_r + (cnt_r == 0))
        at_ods = np.interp(s.ods_threshold, thresholds, cnt_r)
        orientation = OrientationReport(
            ods=so.ods,
            ois=so.ois,
            ap=so.ap,
            r50=so.r50,
            curve=so.curve,
            recall=s.curve.recall,
            accuracy=acc,
            ods_accuracy=(
                float(np.interp(s.ods_threshold, thresholds, cnt_r_occ) / at_ods)
                if at_ods > 0
                else float("nan")
            ),
        )
    return BoundaryReport(
        **vars(s),
        counts=counts,
        names=names,
        orientation=orientation,
        max_dist=float(max_dist),
        shard=shard,
    )


def merge_boundary_reports(reports: Iterable[BoundaryReport]) -> BoundaryReport:
    """Join the reports of shards ``1/N`` ... ``N/N`` of one benchmark run (in any order).

    The per-image counts go back in input order, so the result equals the report of the
    unsharded run. A shard's report written with :meth:`BoundaryReport.to_dict` is read back with
    :meth:`BoundaryReport.from_dict`.

    Raises
    ------
    ConfigError
        If a report is not from a sharded run, the reports differ in thresholds, tolerance or
        orientation, or a shard is missing or given twice.
    """
    reports = list(reports)
    if not reports:
        raise ConfigError("no boundary reports to merge")
    sharded = [(r.shard, r) for r in reports if r.shard is not None]
    if len(sharded) < len(reports):
        raise ConfigError("a boundary report is not from a sharded run; merge shard outputs only")
    first = reports[0]
    for r in reports[1:]:
        if (
            r.max_dist != first.max_dist
            or not np.array_equal(r.curve.thresholds, first.curve.thresholds)
            or (r.orientation is None) != (first.orientation is None)
        ):
            raise ConfigError(
                f"shard {r.shard} was run with other settings than shard {first.shard}; "
                "merge the shards of one run"
            )
    counts = unshard((shard, r.counts) for shard, r in sharded)
    names = unshard((shard, r.names) for shard, r in sharded)
    return _report(counts, first.curve.thresholds, names, first.max_dist)


# --------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------
def _counts_job(args: tuple[Any, ...]) -> BoundaryCounts:
    prob, gts, thresholds, max_dist, kwargs = args
    return image_counts(prob, gts, thresholds, max_dist, **kwargs)


def _run_counts(
    jobs_iter: Iterable[tuple[Any, ...]], jobs: int, progress: Callable[[], None] | None
) -> list[BoundaryCounts]:
    return ordered_map(
        _counts_job,
        jobs_iter,
        jobs=jobs,
        progress=None if progress is None else lambda _: progress(),
    )


def boundary_pr(
    prob_maps: Iterable[NDArray[np.floating]],
    gt_sets: Iterable[Sequence[NDArray] | NDArray],
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    *,
    thin: bool = True,
    nms: bool = False,
    jobs: int = 1,
    names: Sequence[str] | None = None,
    progress: Callable[[], None] | None = None,
    shard: Shard | None = None,
    orientations: Iterable[NDArray[np.floating] | None] | None = None,
    gt_orientations: Iterable[Sequence[NDArray] | NDArray | None] | None = None,
) -> BoundaryReport:
    """BSDS boundary benchmark: ODS, OIS, AP and R50 of soft boundary maps.

    Implements ``boundaryBench.m`` of the BSDS500 benchmark (Arbeláez et al., TPAMI 2011), see the
    module docstring for the protocol and how the pixel correspondence is solved.

    Parameters
    ----------
    prob_maps : iterable of (H, W) float arrays
        Soft boundary maps in ``[0, 1]`` (a PNG prediction is ``uint8 / 255``).
    gt_sets : iterable of annotator sets
        For each image, a sequence of (H, W) boundary maps (non-zero = boundary) or an
        (A, H, W) array; all annotators of an image are used.
    n_thresholds : int
        Number of thresholds, ``linspace(1/(n+1), n/(n+1), n)`` (99).
    max_dist : float
        Matching tolerance as a fraction of the image diagonal (0.0075).
    thin : bool
        Thin every thresholded map (``bwmorph(..., 'thin', inf)``), BSDS default.
    nms : bool
        Apply edge NMS once to the soft map (occlusion-benchmark style) before thresholding.
    jobs : int
        Worker processes over images (1 = in process).
    names : sequence of str, optional
        Image names for the report.
    progress : callable, optional
        Called once per finished image.
    shard : Shard, optional
        The inputs are this shard's images of a larger set: select them with
        ``shard.select(dataset)`` (so that no other image is read or predicted) and pass the
        shard here; the report records it and :func:`merge_boundary_reports` joins all shards.
    orientations, gt_orientations : iterables, optional
        Per image, the predicted occlusion orientation (H, W) and the annotators' orientation
        maps (radians, PIOD left-hand rule), or None for an image without them; give both or
        neither. An image with both also gets the oriented counts (a match counts only when
        its orientation is within π/2 of the annotated one, the PIOD "OPR" protocol, see
        :func:`occlusion_pr`), and when every image has them the report's
        :attr:`BoundaryReport.orientation` is filled in. The plain counts do not change.

    Returns
    -------
    BoundaryReport

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[20, 5:35] = True
    >>> rep = boundary_pr([gt.astype(float)], [[gt]])
    >>> round(rep.ods, 3), round(rep.ois, 3)
    (1.0, 1.0)
    """
    thresholds = thresholds_for(n_thresholds)
    kwargs = {"thin_maps": thin, "nms": nms}
    if (orientations is None) != (gt_orientations is None):
        raise ValueError("give orientations and gt_orientations together")
    if orientations is None or gt_orientations is None:
        job_args: Iterable[tuple[Any, ...]] = (
            (p, g, thresholds, max_dist, kwargs) for p, g in zip(prob_maps, gt_sets, strict=True)
        )
    else:
        job_args = (
            (p, g, thresholds, max_dist, _oriented_kwargs(kwargs, o, go))
            for p, g, o, go in zip(prob_maps, gt_sets, orientations, gt_orientations, strict=True)
        )
    counts = _run_counts(job_args, jobs, progress)
    nm = [str(n) for n in names] if names is not None else [str(i) for i in range(len(counts))]
    if len(nm) != len(counts):
        raise ValueError(f"{len(nm)} names for {len(counts)} images")
    return _report(counts, thresholds, nm, max_dist, shard)


def _oriented_kwargs(kwargs: dict[str, Any], orientation: Any, gt_orientations: Any) -> dict:
    """:func:`image_counts` options of one image: with its orientations when it has both."""
    if orientation is None or gt_orientations is None:
        return kwargs
    return {**kwargs, "orientation": orientation, "gt_orientations": gt_orientations}


def occlusion_pr(
    prob_maps: Iterable[NDArray[np.floating]],
    orientations: Iterable[NDArray[np.floating]],
    gt_sets: Iterable[Sequence[NDArray] | NDArray],
    gt_orientations: Iterable[Sequence[NDArray] | NDArray],
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    *,
    nms: bool = True,
    thin: bool = False,
    jobs: int = 1,
    names: Sequence[str] | None = None,
    progress: Callable[[], None] | None = None,
    shard: Shard | None = None,
) -> BoundaryReport:
    """Occlusion-boundary benchmark with orientation (boundary PR + orientation PR + AOR).

    The protocol of the oriented occlusion-boundary papers (DOC, DOOBNet ``EvaluateOcc``; paper
    ``001`` Tab. 4, paper ``000`` Sec. 4): the soft map is thinned once by edge NMS
    (:func:`~occseg.occlusion.nms.edge_nms`) instead of per-threshold morphological thinning,
    thresholded, and matched to every annotator as in :func:`boundary_pr`; a matched pixel is
    correctly oriented when ``|θ_pred - θ_gt|`` modulo 2π is below π/2 (or above 3π/2).

    Parameters
    ----------
    prob_maps : iterable of (H, W) float arrays
        Soft occlusion-boundary maps in ``[0, 1]``.
    orientations : iterable of (H, W) float arrays
        Predicted boundary orientation (radians, left-hand rule: occluder on the left).
    gt_sets, gt_orientations : iterables
        Per image, the annotators' boundary maps and their orientation maps.
    n_thresholds, max_dist, jobs, names, progress, shard
        As in :func:`boundary_pr`.
    nms, thin : bool
        Pre-processing (defaults: NMS once, no per-threshold thinning).

    Returns
    -------
    BoundaryReport
        With :attr:`BoundaryReport.orientation` filled in.
    """
    return boundary_pr(
        prob_maps,
        gt_sets,
        n_thresholds,
        max_dist,
        thin=thin,
        nms=nms,
        jobs=jobs,
        names=names,
        progress=progress,
        shard=shard,
        orientations=orientations,
        gt_orientations=gt_orientations,
    )


def plot_pr(
    report: BoundaryReport | Sequence[tuple[str, BoundaryReport]],
    path: str | Path,
    *,
    title: str = "Boundary precision / recall",
) -> Path:
    """Plot PR curves with iso-F lines and the ODS points (BSDS ``plot_eval.m`` style).

    Parameters
    ----------
    report : BoundaryReport or sequence of (label, BoundaryReport)
        One or several results; an occlusion report also draws its orientation PR curve and, in a
        second panel, the accuracy-vs-recall curve.
    path : str or Path
        Output PNG.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    items = [("method", report)] if isinstance(report, BoundaryReport) else list(report)
    has_aor = any(r.orientation is not None for _, r in items)
    fig, axes = plt.subplots(1, 2 if has_aor else 1, figsize=(11 if has_aor else 5.5, 5.5))
    ax = axes[0] if has_aor else axes
    for f in np.arange(0.1, 1.0, 0.1):
        r = np.linspace(f / (2 - f) + 1e-6, 1, 200)
        p = f * r / (2 * r - f)
        ax.plot(r, p, color="0.85", lw=0.8)
    for label, rep in items:
        c = rep.curve
        line = ax.plot(
            c.recall, c.precision, lw=2, label=f"{label} ODS={rep.ods:.3f} AP={rep.ap:.3f}"
        )
        ax.plot([rep.ods_recall], [rep.ods_precision], "o", color=line[0].get_color())
        if rep.orientation is not None:
            oc = rep.orientation.curve
            ax.plot(
                oc.recall,
                oc.precision,
                "--",
                color=line[0].get_color(),
                label=f"{label} (orientation) ODS={rep.orientation.ods:.3f}",
            )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Recall", ylabel="Precision", title=title)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    if has_aor:
        ax2 = axes[1]
        for label, rep in items:
            if rep.orientation is not None:
                ax2.plot(rep.orientation.recall, rep.orientation.accuracy, lw=2, label=label)
        ax2.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="Recall",
            ylabel="Orientation accuracy",
            title="Accuracy vs recall (AOR)",
        )
        ax2.grid(True, alpha=0.3)
        ax2.legend(loc="lower left", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
