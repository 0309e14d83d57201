"""CRF occlusion-order labelling (OOSIS, paper 001, Sec. 3.2-3.3 and supplement 2).

Every pixel ``p`` gets a non-negative integer label ``x_p``: 0 is background, a larger label is in
front of a smaller one, and a 4-connected component of equal positive labels is one instance. The
labelling minimises (Eq. 8)

    E(x) = sum_p u_p(x_p) + lam * sum_{(p,q) in N} [x_p != x_q] + mu * sum_{(p,q) in O} o(x_p, x_q)

with ``u_p(x) = (1 - sigma_p) [x = 0] + sigma_p [x != 0]`` (Eq. 5), the Potts smoothness of Eq. 6
on the 4-grid ``N`` and the occlusion term of Eq. 7, ``o(a, b) = c_inf [a < b] - [a > b]`` for
every pair ``(p, q)`` of 4-neighbours where ``p`` occludes ``q``.

Reading of the PDF-extracted formulas (the extraction is clean for Eq. 5-15 and the reading below
is the one the text supports): ``sigma_p`` is the *background* probability, so label 0 costs
``1 - sigma_p``; the reversed order ``x_p < x_q`` costs the prohibitive ``c_inf`` and the respected
order ``x_p > x_q`` earns ``-1``, both times ``mu``; equal labels cost nothing.

Minimisation: jump moves from the all-zero labelling (Sec. 3.2): in a move every pixel may raise
its label by one (binary variable ``y_p``, Eq. 9-13). The move energy is made submodular by
replacing the smoothness term of every pair whose current labels differ by exactly one by the
constant 1 (Sec. 3.3, Eq. 15), an upper bound that is tight at ``y = 0``, so the exact energy
never increases. Each move is one s-t minimum cut (PyMaxflow, Boykov-Kolmogorov); moves repeat
until the labelling stops changing. Among several optimal moves the *smallest* one (the set of
pixels that can reach the sink in the residual graph, which is what the BK solver labels sink) is
taken, so a move that does not lower the energy changes nothing and the loop ends.

Fast moves (``method="jump"``, the default) give the same labelling as the plain full-image moves
(``method="jump_plain"``) while building each graph only on an active region ``R``:

* A pixel can only be raised in the smallest optimal move if its connected part of the raised set
  contains a *seed*, a pixel whose raising alone lowers the energy: a background pixel with
  ``sigma_p < 0.5`` or an occluder ``p`` of a pair whose two labels are still equal.
* ``R`` is the seeds with their label components (positive labels) plus every positive label
  component within a margin of them, all dilated by the margin. The move is solved on ``R``
  with every pixel outside fixed to "raised" (the most favourable boundary condition for
  raising). By submodularity the smallest optimal move of the whole image, restricted to
  ``R``, is contained in that solution ``Y1``; every part of the whole-image move (connected by
  non-constant terms) holds a seed, so it lies in a seeded part of ``Y1``. If no seeded part of
  ``Y1`` reaches the outer ring of ``R``, nothing outside ``R`` can be raised, and (energies of
  non-adjacent parts add up) the seeded parts of ``Y1`` *are* the smallest whole-image move.
  Otherwise the margin doubles and the move is solved again (at worst on the whole image).

Also :func:`expansion_labeling`: one cycle of alpha-expansions on labels 1, 2, ... in increasing
order (supplement 2), each submodular when started from the all-zero labelling.

Example
-------
>>> import numpy as np
>>> inst = np.zeros((12, 16), int); inst[2:10, 2:9] = 1; inst[3:11, 7:14] = 2  # 2 in front
>>> pairs = occ_pairs_from_instances(inst, {1: 1, 2: 2})
>>> lab = order_labeling((inst == 0).astype(float), pairs)
>>> int(lab[5, 10]), int(lab[5, 3]), int(lab[0, 0])
(2, 1, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import cv2
import maxflow
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from skimage.measure import label as _cc_label

from occseg.occlusion.scores import DEFAULT_SCORE, instance_scores

__all__ = [
    "InstanceSet",
    "check_occ_pairs",
    "describe_instances",
    "energy",
    "expansion_labeling",
    "extract_instances",
    "jump_move",
    "occ_pairs_from_instances",
    "occ_pairs_from_oriented",
    "order_labeling",
    "refine_labeling",
]

Method = Literal["jump", "jump_plain", "expansion"]


# ----------------------------------------------------------------------------------- inputs


def check_occ_pairs(occ_pairs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Validate ``(N, 4)`` rows ``(py, px, qy, qx)`` of 4-neighbour pixels inside ``shape``.

    Returns the pairs as an ``(N, 4) int64`` array. Raises ``ValueError`` otherwise.
    """
    pairs = np.asarray(occ_pairs)
    if pairs.size == 0:
        return np.zeros((0, 4), np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 4:
        raise ValueError(f"occ_pairs must be (N, 4) rows (py, px, qy, qx), got {pairs.shape}")
    pairs = pairs.astype(np.int64)
    h, w = shape
    ys, xs = pairs[:, [0, 2]], pairs[:, [1, 3]]
    if (ys < 0).any() or (ys >= h).any() or (xs < 0).any() or (xs >= w).any():
        raise ValueError("occ_pairs has a pixel outside the image")
    if not (np.abs(pairs[:, 0] - pairs[:, 2]) + np.abs(pairs[:, 1] - pairs[:, 3]) == 1).all():
        raise ValueError("occ_pairs must join 4-neighbours (|dy| + |dx| == 1)")
    return pairs


# (dy, dx) of the left, right, top, bottom neighbour (the ``ob_occludes`` channel order)
NEIGHBOURS = ((0, -1), (0, 1), (-1, 0), (1, 0))


def occ_pairs_from_oriented(
    occludes: np.ndarray,
    instances: np.ndarray | None = None,
    *,
    background: int | None = 0,
) -> np.ndarray:
    """Pixel pairs ``(py, px, qy, qx)`` from an ``H×W×4`` oriented-boundary map.

    ``occludes[y, x, k]`` says that pixel ``(y, x)`` occludes its neighbour ``k`` (left, right,
    top, bottom). With ``instances`` only pairs between different ids are kept, and pairs whose
    occluder is the ``background`` id are dropped: a background pixel (label 0) occludes nothing
    in the formulation of Sec. 3.2.
    """
    occ = np.asarray(occludes, bool)
    h, w = occ.shape[:2]
    rows = []
    for k, (dy, dx) in enumerate(NEIGHBOURS):
        py, px = np.nonzero(occ[:, :, k])
        qy, qx = py + dy, px + dx
        ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
        rows.append(np.stack([py[ok], px[ok], qy[ok], qx[ok]], 1))
    pairs = np.concatenate(rows).astype(np.int64)
    if instances is not None and len(pairs):
        ids = np.asarray(instances)
        a, b = ids[pairs[:, 0], pairs[:, 1]], ids[pairs[:, 2], pairs[:, 3]]
        keep = a != b
        if background is not None:
            keep &= a != background
        pairs = pairs[keep]
    return pairs


def occ_pairs_from_instances(instances: np.ndarray, rank: dict[int, float]) -> np.ndarray:
    """Pairs along every boundary between instances of different ``rank`` (larger = in front).

    Ids missing from ``rank`` (e.g. 0, the background) rank below everything. Handy for tests
    and for ground-truth inputs with a known total order.
    """
    ids = np.asarray(instances)
    lut_ids = np.unique(ids)
    r = np.array([rank.get(int(i), -np.inf) for i in lut_ids])
    rk = r[np.searchsorted(lut_ids, ids)]
    h, w = ids.shape
    occ = np.zeros((h, w, 4), bool)
    occ[:, 1:, 0] = rk[:, 1:] > rk[:, :-1]
    occ[:, :-1, 1] = rk[:, :-1] > rk[:, 1:]
    occ[1:, :, 2] = rk[1:] > rk[:-1]
    occ[:-1, :, 3] = rk[:-1] > rk[1:]
    return occ_pairs_from_oriented(occ)


def _flat_pairs(pairs: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    return pairs[:, 0] * w + pairs[:, 1], pairs[:, 2] * w + pairs[:, 3]


# ----------------------------------------------------------------------------------- energy


def _occ(a: np.ndarray, b: np.ndarray, c_inf: float) -> np.ndarray:
    """Eq. 7 without ``mu``: ``c_inf [a < b] - [a > b]``."""
    return np.where(a < b, c_inf, 0.0) - (a > b)


def energy(
    labels: np.ndarray,
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = 20.0,
    mu: float = 100.0,
    c_inf: float = np.inf,
) -> float:
    """Exact energy of Eq. 8 of a labelling (``inf`` if an occlusion order is reversed).

    Parameters
    ----------
    labels
        ``H×W`` non-negative int labels.
    bg_prob
        ``H×W`` background probability ``sigma`` in [0, 1].
    occ_pairs
        ``(N, 4)`` int rows ``(py, px, qy, qx)``: 4-neighbour ``p`` occludes ``q``.
    lam, mu
        Weights of the smoothness (Eq. 6) and occlusion (Eq. 7) terms.
    c_inf
        The prohibitive cost of a reversed pair (``inf`` by default).
    """
    x = np.asarray(labels).astype(np.int64)
    sigma = np.asarray(bg_prob, np.float64)
    unary = np.where(x == 0, 1.0 - sigma, sigma).sum()
    smooth = np.count_nonzero(x[:, 1:] != x[:, :-1]) + np.count_nonzero(x[1:] != x[:-1])
    pairs = check_occ_pairs(occ_pairs, x.shape)
    p, q = _flat_pairs(pairs, x.shape[1])
    a, b = x.ravel()[p], x.ravel()[q]
    n_rev = int(np.count_nonzero(a < b))
    occ = -float(np.count_nonzero(a > b))
    if n_rev:
        if np.isinf(c_inf):
            return float("inf")
        occ += c_inf * n_rev
    return float(unary + lam * smooth + mu * occ)


# ----------------------------------------------------------------------- one binary move


@dataclass(frozen=True)
class _Problem:
    sigma: np.ndarray  # H×W float64
    p: np.ndarray  # flat occluder indices
    q: np.ndarray  # flat occludee indices
    lam: float
    mu: float
    big: float  # finite stand-in for c_inf inside the graph


def _problem(bg_prob: np.ndarray, occ_pairs: np.ndarray, lam: float, mu: float) -> _Problem:
    sigma = np.asarray(bg_prob, np.float64)
    if sigma.ndim != 2:
        raise ValueError(f"bg_prob must be H×W, got shape {sigma.shape}")
    if not np.isfinite(sigma).all() or sigma.min(initial=0) < 0 or sigma.max(initial=0) > 1:
        raise ValueError("bg_prob must be finite probabilities in [0, 1]")
    pairs = check_occ_pairs(occ_pairs, sigma.shape)
    p, q = _flat_pairs(pairs, sigma.shape[1])
    # Any value above the largest possible energy decrease of a move acts as c_inf.
    big = 1.0 + sigma.size + lam * 2.0 * sigma.size + mu * (len(p) + 1)
    return _Problem(sigma, p, q, float(lam), float(mu), big)


def _decompose(a, b, c, d):
    """Split 2×2 tables f(0,0)=a, f(0,1)=b, f(1,0)=c, f(1,1)=d (constant ``a`` dropped).

    ``f = a + t y1 + (d - a - t) y2 + (b - d + t) [y1=0, y2=1] + (c - a - t) [y1=1, y2=0]`` with
    ``t`` in ``[d - b, c - a]`` (non-empty for submodular tables) chosen closest to 0, so that
    Potts tables become two plain edges. Returns (unary 1, unary 2, weight 0->1, weight 1->0).
    """
    t = np.clip(0.0, d - b, c - a)
    return t, d - a - t, b - d + t, c - a - t


_RIGHT = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]])
_DOWN = np.array([[0, 0, 0], [0, 0, 0], [0, 1, 0]])


def _solve(
    pb: _Problem,
    x: np.ndarray,
    target: np.ndarray | int,
    region: np.ndarray | None,
    upper_bound: bool,
) -> np.ndarray:
    """Smallest minimiser ``y`` (H×W bool) of the binary move ``x -> where(y, target, x)``.

    ``region`` (H×W bool or None for the whole image) holds the free variables; pixels outside
    it are fixed to ``y = 1`` (inside the region's bounding box they are graph nodes tied to the
    sink by the prohibitive capacity; further away they do not matter). ``upper_bound`` is the
    jump move's submodular upper bound of Sec. 3.3 (smoothness of labels one apart = constant).
    """
    h, w = x.shape
    t = np.broadcast_to(np.asarray(target), x.shape)
    if region is None:
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
        y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
        x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
    xc = x[y0:y1, x0:x1]
    tc = t[y0:y1, x0:x1]
    ch, cw = xc.shape
    n = ch * cw
    # unary, Eq. 5 / 10: du = u(t) - u(x) = cost(y=1) - cost(y=0)
    sig = pb.sigma[y0:y1, x0:x1]
    du = np.where(tc == 0, 1 - sig, sig) - np.where(xc == 0, 1 - sig, sig)
    du = du.ravel().copy()
    g = maxflow.Graph[float]()
    nodes = g.add_grid_nodes((ch, cw))  # ids 0..n-1 in row-major order
    ids = np.arange(n).reshape(ch, cw)

    def pair_terms(ia, ib, A, B, C, D):
        ua, ub, w_ab, w_ba = _decompose(A, B, C, D)
        du[:] += np.bincount(ia, ua, minlength=n) + np.bincount(ib, ub, minlength=n)
        keep = (w_ab > 0) | (w_ba > 0)
        if keep.any():
            g.add_edges(ia[keep], ib[keep], w_ab[keep], w_ba[keep])

    # smoothness, Eq. 6 / 11
    if upper_bound:
        # jump move: equal labels give a Potts table, labels one apart the constant 1 of
        # Sec. 3.3, labels further apart a constant anyway
        wr = np.zeros((ch, cw))
        wr[:, :-1] = pb.lam * (xc[:, :-1] == xc[:, 1:])
        g.add_grid_edges(nodes, weights=wr, structure=_RIGHT, symmetric=True)
        wd = np.zeros((ch, cw))
        wd[:-1] = pb.lam * (xc[:-1] == xc[1:])
        g.add_grid_edges(nodes, weights=wd, structure=_DOWN, symmetric=True)
    else:
        for sa, sb in (
            ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
            ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
        ):
            xa, xb, ta, tb = xc[sa], xc[sb], tc[sa], tc[sb]
            A, B = (xa != xb).ravel(), (xa != tb).ravel()
            C, D = (ta != xb).ravel(), (ta != tb).ravel()
            lam = pb.lam
            pair_terms(ids[sa].ravel(), ids[sb].ravel(), lam * A, lam * B, lam * C, lam * D)

    # occlusion terms, Eq. 7 / 12
    if len(pb.p):
        py, px = np.divmod(pb.p, w)
        qy, qx = np.divmod(pb.q, w)
        ok = (py >= y0) & (py < y1) & (px >= x0) & (px < x1)
        ok &= (qy >= y0) & (qy < y1) & (qx >= x0) & (qx < x1)
        py, px, qy, qx = py[ok], px[ok], qy[ok], qx[ok]
        a, b, ta, tb = x[py, px], x[qy, qx], t[py, px], t[qy, qx]
        mu, big = pb.mu, pb.big
        A, B = mu * _occ(a, b, big), mu * _occ(a, tb, big)
        C, D = mu * _occ(ta, b, big), mu * _occ(ta, tb, big)
        sel = ~((A == B) & (B == C) & (C == D))
        ia = (py[sel] - y0) * cw + (px[sel] - x0)
        ib = (qy[sel] - y0) * cw + (qx[sel] - x0)
        pair_terms(ia, ib, A[sel], B[sel], C[sel], D[sel])

    if region is not None:  # outside the region: fixed to "raised"
        out = ~region[y0:y1, x0:x1].ravel()
        du[out] = -pb.big * 4
    g.add_grid_tedges(ids.ravel(), np.maximum(du, 0.0), np.maximum(-du, 0.0))
    g.maxflow()
    y = np.zeros(x.shape, bool)
    yc = g.get_grid_segments(ids.ravel()).reshape(ch, cw)
    if region is not None:
        yc &= region[y0:y1, x0:x1]
    y[y0:y1, x0:x1] = yc
    return y


def _seeds(pb: _Problem, x: np.ndarray) -> np.ndarray:
    """Pixels whose raising alone lowers the jump-move energy (see the module notes)."""
    seeds = (x == 0) & (pb.sigma < 0.5)
    if len(pb.p):
        xf = x.ravel()
        eq = xf[pb.p] == xf[pb.q]
        seeds.ravel()[pb.p[eq]] = True
    return seeds


def jump_move(
    pb_or_bg: _Problem | np.ndarray,
    x: np.ndarray,
    occ_pairs: np.ndarray | None = None,
    *,
    lam: float = 20.0,
    mu: float = 100.0,
    fast: bool = True,
    margin: int | None = None,
) -> np.ndarray:
    """The smallest optimal jump move (Sec. 3.3 upper bound) from ``x``: ``H×W bool`` raise mask.

    ``fast`` solves on the active region (module notes) and returns the same move as the plain
    whole-image graph cut.
    """
    if isinstance(pb_or_bg, _Problem):
        pb = pb_or_bg
    elif occ_pairs is None:
        raise ValueError("jump_move(bg_prob, x, occ_pairs): give the occlusion pairs with bg_prob")
    else:
        pb = _problem(pb_or_bg, occ_pairs, lam, mu)
    x = np.asarray(x, np.int64)
    target = x + 1
    if not fast:
        return _solve(pb, x, target, None, upper_bound=True)
    seeds = _seeds(pb, x)
    if not seeds.any():
        return np.zeros(x.shape, bool)
    comp = _cc_label(x, background=-1, connectivity=1)
    seeded = np.unique(comp[seeds & (x > 0)])
    core = seeds | np.isin(comp, seeded)
    core_u8 = core.astype(np.uint8)
    # A margin band of confident background (unary >= ~1) wider than lam is not pulled up by
    # the "raised" outside, so the first try usually passes the check.
    m = max(int(pb.lam) + 4 if margin is None else int(margin), 1)
    while True:
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * m + 1, 2 * m + 1))
        region = cv2.dilate(core_u8, k)
        touched = np.isin(comp, np.unique(comp[region.astype(bool) & (x > 0)]))
        region = cv2.dilate(region | touched.astype(np.uint8), k).astype(bool)
        if region.all():
            return _solve(pb, x, target, None, upper_bound=True)
        y = _solve_parts(pb, x, target, region)
        # Keep the raised parts holding a seed (the others exist only because the outside is
        # fixed to "raised"); they are the whole-image move unless one reaches the ring.
        y = _seeded_parts(pb, x, y, seeds)
        ring = region & ~cv2.erode(region.astype(np.uint8), _CROSS, borderValue=1).astype(bool)
        if not (y & ring).any():
            return y
        m *= 2


def _solve_parts(pb: _Problem, x: np.ndarray, target: np.ndarray, region: np.ndarray):
    """:func:`_solve` on each 8-connected part of ``region`` in its own bounding box.

    The parts are independent (every pair term is between 4-neighbours and the pixels between
    parts are fixed), and separate boxes keep far-apart objects from paying for the pixels
    between them.
    """
    n, parts, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
    if n <= 2 or n > 64:
        return _solve(pb, x, target, region, upper_bound=True)
    y = np.zeros(x.shape, bool)
    for k in range(1, n):
        x0, y0, w, h = (int(v) for v in stats[k, :4])
        sub = np.zeros(x.shape, bool)
        sub[y0 : y0 + h, x0 : x0 + w] = parts[y0 : y0 + h, x0 : x0 + w] == k
        y |= _solve(pb, x, target, sub, upper_bound=True)
    return y


def _seeded_parts(pb: _Problem, x: np.ndarray, y: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Parts of the raise mask ``y`` linked to a seed by non-constant jump-move terms.

    Two raised 4-neighbours are linked when their smoothness term is not constant (equal
    labels) or when an occlusion pair joins them with labels equal or one apart.
    """
    rows, cols = np.flatnonzero(y.any(1)), np.flatnonzero(y.any(0))
    if not len(rows):
        return y
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    yc, xc = y[y0:y1, x0:x1], x[y0:y1, x0:x1]
    h, w = yc.shape
    ids = np.arange(h * w).reshape(h, w)
    src, dst = [], []
    for sa, sb in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
    ):
        link = yc[sa] & yc[sb] & (xc[sa] == xc[sb])
        src.append(ids[sa][link])
        dst.append(ids[sb][link])
    if len(pb.p):
        W = x.shape[1]
        py, px = np.divmod(pb.p, W)
        qy, qx = np.divmod(pb.q, W)
        xf, yf = x.ravel(), y.ravel()
        d = xf[pb.p] - xf[pb.q]
        link = yf[pb.p] & yf[pb.q] & ((d == 0) | (d == 1))
        src.append((py[link] - y0) * w + (px[link] - x0))
        dst.append((qy[link] - y0) * w + (qx[link] - x0))
    a, b = np.concatenate(src), np.concatenate(dst)
    graph = sparse.coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(h * w, h * w))
    _, part = connected_components(graph, directed=False)
    part = part.reshape(h, w)
    good = np.isin(part, np.unique(part[yc & seeds[y0:y1, x0:x1]]))
    out = np.zeros_like(y)
    out[y0:y1, x0:x1] = good & yc
    return out


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


# ----------------------------------------------------------------------------- labellings


@overload
def order_labeling(
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = ...,
    mu: float = ...,
    method: Method = ...,
    max_moves: int = ...,
    margin: int | None = ...,
    return_history: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def order_labeling(
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = ...,
    mu: float = ...,
    method: Method = ...,
    max_moves: int = ...,
    margin: int | None = ...,
    return_history: Literal[True],
) -> tuple[np.ndarray, list[float]]: ...


def order_labeling(
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = 20.0,
    mu: float = 100.0,
    method: Method = "jump",
    max_moves: int = 1000,
    margin: int | None = None,
    return_history: bool = False,
) -> np.ndarray | tuple[np.ndarray, list[float]]:
    """Occlusion-order labelling by jump moves on graph cuts (paper 001, Eq. 5-8, Sec. 3.3).

    Parameters
    ----------
    bg_prob
        ``H×W`` float background probability ``sigma`` (Eq. 5) in [0, 1].
    occ_pairs
        ``(N, 4)`` int rows ``(py, px, qy, qx)``: 4-neighbour pixel ``p`` occludes ``q``
        (from oriented occlusion boundaries).
    lam, mu
        Smoothness (Eq. 6) and occlusion (Eq. 7) weights; the paper uses 20 and 100.
    method
        ``"jump"`` (active-region moves), ``"jump_plain"`` (whole-image moves, same result),
        or ``"expansion"`` (one increasing cycle of alpha-expansions, supplement 2).
    max_moves
        Safety cap on the number of moves.
    margin
        First margin (pixels) of the active region of fast moves (default ``lam + 4``).
    return_history
        Also return the exact energy after each move (starting with the all-zero labelling).

    Returns
    -------
    numpy.ndarray
        ``H×W int32`` labels: 0 background, larger is in front.

    Examples
    --------
    >>> inst = np.zeros((6, 7), int); inst[1:5, 1:6] = 1
    >>> order_labeling(inst == 0, occ_pairs_from_instances(inst, {1: 1}))[2]
    array([0, 1, 1, 1, 1, 1, 0], dtype=int32)
    """
    pb = _problem(bg_prob, occ_pairs, lam, mu)
    pairs = np.stack([*np.divmod(pb.p, pb.sigma.shape[1]), *np.divmod(pb.q, pb.sigma.shape[1])], 1)
    x = np.zeros(pb.sigma.shape, np.int64)
    hist = [energy(x, pb.sigma, pairs, lam=lam, mu=mu)] if return_history else []
    if method == "expansion":
        return expansion_labeling(bg_prob, occ_pairs, lam=lam, mu=mu, return_history=return_history)
    if method not in ("jump", "jump_plain"):
        raise ValueError(f"method must be 'jump', 'jump_plain' or 'expansion', got {method!r}")
    for _ in range(max_moves):
        y = jump_move(pb, x, fast=method == "jump", margin=margin)
        if not y.any():
            break
        x = x + y
        if return_history:
            hist.append(energy(x, pb.sigma, pairs, lam=lam, mu=mu))
    out = x.astype(np.int32)
    return (out, hist) if return_history else out


def expansion_labeling(
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = 20.0,
    mu: float = 100.0,
    return_history: bool = False,
) -> np.ndarray | tuple[np.ndarray, list[float]]:
    """One cycle of alpha-expansions on labels 1, 2, ... in increasing order (supplement 2).

    Starting from all zeros every expansion is submodular and solved exactly; the cycle stops at
    the first label whose expansion does not lower the energy (a larger label would behave the
    same).
    Same inputs and output as :func:`order_labeling`.
    """
    pb = _problem(bg_prob, occ_pairs, lam, mu)
    w = pb.sigma.shape[1]
    pairs = np.stack([*np.divmod(pb.p, w), *np.divmod(pb.q, w)], 1)
    x = np.zeros(pb.sigma.shape, np.int64)
    current = energy(x, pb.sigma, pairs, lam=lam, mu=mu)
    hist = [current] if return_history else []
    alpha = 1
    while True:
        y = _solve(pb, x, alpha, None, upper_bound=False)
        candidate = np.where(y, alpha, x)
        new = energy(candidate, pb.sigma, pairs, lam=lam, mu=mu) if y.any() else current
        # Stop at the first expansion that does not strictly lower the energy: on ties the cut
        # may return a zero-gain move (e.g. a region that can be relabelled for free), and
        # taking it would raise the same pixels to ever larger labels without end.
        if not new < current:
            break
        x, current = candidate, new
        if return_history:
            hist.append(current)
        alpha += 1
    out = x.astype(np.int32)
    return (out, hist) if return_history else out


def refine_labeling(
    labels: np.ndarray,
    bg_prob: np.ndarray,
    occ_pairs: np.ndarray,
    *,
    lam: float = 20.0,
    mu: float = 100.0,
    max_rounds: int = 50,
) -> np.ndarray:
    """Jump moves the upper bound cannot see, evaluated exactly (an extension, not in the paper).

    The bound of Sec. 3.3 charges the constant 1 for every pair whose labels differ by exactly
    one, so it never sees the gain of *closing* such a step. Jump moves therefore stop in a
    typical local minimum: a thin strip of occludee pixels is kept one label below its
    occluder (it activates the occlusion terms, Eq. 7) while the rest of the occludee has the
    occluder's label, so occluder and occludee end up on the *same* label, separated by the
    strip, and their order is lost.

    Each candidate here is a jump move at the granularity of segments (4-connected pixels of
    equal label and equal side of ``sigma = 0.5``): raise one segment ``S`` by one, plus the
    closure of every segment that occludes a raised one and would otherwise end up with an
    equal or lower label (reversed orders are prohibitive, lost activations cost ``mu``). A
    candidate is applied when the exact energy (Eq. 8), computed on its bounding box, drops;
    so the energy never increases. Rounds repeat until no candidate helps.

    Parameters and output as :func:`order_labeling` (``labels`` is its result).
    """
    x = np.asarray(labels).astype(np.int64).copy()
    sigma = np.asarray(bg_prob, np.float64)
    pairs = check_occ_pairs(occ_pairs, x.shape)
    p, q = _flat_pairs(pairs, x.shape[1])
    obj = sigma < 0.5
    for _ in range(max_rounds):
        seg = _cc_label(x * 2 + obj, background=-1, connectivity=1).astype(np.int64).ravel()
        n_seg = int(seg.max()) + 1
        by_seg = np.argsort(seg, kind="stable")
        bounds = np.searchsorted(seg[by_seg], np.arange(n_seg + 1))
        seg_label = x.ravel()[by_seg[bounds[:-1]]]
        seg_obj = obj.ravel()[by_seg[bounds[:-1]]]
        # segment-level occlusion links (occluder segment, occludee segment), deduplicated
        occluders: dict[int, list[int]] = {}
        if len(p):
            for a, b in np.unique(np.stack([seg[p], seg[q]], 1), axis=0).tolist():
                if a != b:
                    occluders.setdefault(b, []).append(a)
        changed = False
        for s in range(1, n_seg):  # segment ids start at 1
            if seg_label[s] == 0 and not seg_obj[s]:
                continue  # raising background-like pixels never pays
            # Labels of segments raised earlier in this round are stale here, so a closure may
            # be suboptimal; the move is still a jump move and its energy change is exact.
            raised = _closure(s, occluders, seg_label)
            pixels = np.concatenate([by_seg[bounds[k] : bounds[k + 1]] for k in raised])
            if _move_delta(x, pixels, sigma, pairs, lam, mu) < -1e-9:
                x.ravel()[pixels] += 1
                changed = True
        if not changed:
            break
    return x.astype(np.int32)


def _closure(start: int, occluders: dict[int, list[int]], seg_label: np.ndarray) -> set[int]:
    """``start`` plus every segment that must rise with it to keep its occlusions respected."""
    raised, todo = {start}, [start]
    while todo:
        b = todo.pop()
        for a in occluders.get(b, ()):
            if a not in raised and seg_label[a] <= seg_label[b] + 1:
                raised.add(a)
                todo.append(a)
    return raised


def _move_delta(
    x: np.ndarray,
    pixels: np.ndarray,
    sigma: np.ndarray,
    pairs: np.ndarray,
    lam: float,
    mu: float,
) -> float:
    """Exact energy change of raising the flat ``pixels`` by one, on their bounding box + 1."""
    h, w = x.shape
    ys, xs = np.divmod(pixels, w)
    y0, y1 = max(int(ys.min()) - 1, 0), min(int(ys.max()) + 2, h)
    x0, x1 = max(int(xs.min()) - 1, 0), min(int(xs.max()) + 2, w)
    inside = (
        (pairs[:, [0, 2]].min(1) >= y0) & (pairs[:, [0, 2]].max(1) < y1)
        & (pairs[:, [1, 3]].min(1) >= x0) & (pairs[:, [1, 3]].max(1) < x1)
    )  # fmt: skip
    local = pairs[inside] - np.array([y0, x0, y0, x0])
    xc, sc = x[y0:y1, x0:x1], sigma[y0:y1, x0:x1]
    raised = xc.copy()
    raised[ys - y0, xs - x0] += 1
    return energy(raised, sc, local, lam=lam, mu=mu) - energy(xc, sc, local, lam=lam, mu=mu)


# ------------------------------------------------------------------------------ instances


@dataclass(frozen=True, eq=False)
class InstanceSet:
    """Instances of an occlusion-order labelling.

    Attributes
    ----------
    instances
        ``H×W int32`` instance ids (0 = background, 1..K instances).
    order
        ``(K,)`` occlusion-order label of each instance (index ``i - 1`` for id ``i``).
    classes
        ``(K,)`` majority semantic class (``-1`` without a semantic map).
    scores
        ``(K,)`` confidence from the boundary probability (:mod:`occseg.occlusion.scores`: the
        outline contrast, or the paper's ad-hoc score of Sec. 5.4); the area without a boundary
        map.
    """

    instances: np.ndarray
    order: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    @property
    def ids(self) -> np.ndarray:
        return np.arange(1, len(self.order) + 1)


def extract_instances(
    labels: np.ndarray,
    semantic: np.ndarray | None = None,
    boundary_prob: np.ndarray | None = None,
    *,
    min_area: int = 1,
    score: str = DEFAULT_SCORE,
) -> InstanceSet:
    """Instances = 4-connected components of equal positive labels (Sec. 3.2).

    Parameters
    ----------
    labels
        ``H×W`` occlusion-order labels from :func:`order_labeling`.
    semantic
        Optional ``H×W`` int class map; an instance's class is its majority vote.
    boundary_prob
        Optional ``H×W`` occlusion-boundary probability for the instances' confidence.
    min_area
        Components smaller than this become background (id 0).
    score
        The confidence computed from ``boundary_prob``, a name of
        :data:`occseg.occlusion.scores.SCORES`: ``"outline_contrast"`` (default) or ``"paper"``
        (Sec. 5.4's ad-hoc score).
    """
    labels = np.asarray(labels)
    comp = _cc_label(labels, background=0, connectivity=1).astype(np.int64)
    n = int(comp.max())
    area = np.bincount(comp.ravel(), minlength=n + 1)
    keep = area >= min_area
    keep[0] = False
    remap = np.zeros(n + 1, np.int64)
    remap[keep] = np.arange(1, int(keep.sum()) + 1)
    inst = remap[comp].astype(np.int32)
    k = int(keep.sum())
    order = np.zeros(k, np.int64)
    if k:
        flat = inst.ravel()
        first = np.zeros(k + 1, np.int64)
        first[flat] = np.arange(flat.size)  # any pixel of each id
        order = labels.ravel()[first[1:]].astype(np.int64)
    return describe_instances(inst, order, semantic, boundary_prob, score=score)


def describe_instances(
    instances: np.ndarray,
    order: np.ndarray,
    semantic: np.ndarray | None = None,
    boundary_prob: np.ndarray | None = None,
    *,
    score: str = DEFAULT_SCORE,
) -> InstanceSet:
    """The :class:`InstanceSet` of an instance map (ids 1..K) with its order labels: each
    instance's majority class in ``semantic`` and its confidence from ``boundary_prob``
    (parameters as for :func:`extract_instances`)."""
    inst = np.asarray(instances).astype(np.int32)
    order = np.asarray(order, np.int64)
    k = len(order)
    flat = inst.ravel()
    classes = np.full(k, -1, np.int64)
    if semantic is not None and k:
        sem = np.asarray(semantic).astype(np.int64).ravel()
        fg = flat > 0
        n_cls = int(sem.max()) + 1 if sem.size else 1
        votes = np.bincount((flat[fg] - 1) * n_cls + sem[fg], minlength=k * n_cls)
        classes = votes.reshape(k, n_cls).argmax(1)
    if boundary_prob is None:
        scores = np.bincount(flat, minlength=k + 1)[1:].astype(np.float64)
    else:
        scores = instance_scores(inst, boundary_prob, score)
    return InstanceSet(inst, order, classes, scores)
