"""Boykov–Jolly interactive graph cut on clicks (Boykov & Jolly, ICCV 2001)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import maxflow
import numpy as np

from occseg.classical.common import (
    ClickPredictorBase,
    ColourHistogram,
    prob_from_mask,
    seed_masks,
)
from occseg.encode import click_distance
from occseg.types import Click

__all__ = [
    "GraphCutPredictor",
    "contrast_weights",
    "grid_graph",
    "hard_capacity",
    "settled_labels",
]

# (dy, dx) of each undirected neighbour direction, one add_grid_edges call each
_DIRECTIONS_4 = ((0, 1), (1, 0))
_DIRECTIONS_8 = ((0, 1), (1, 0), (1, 1), (1, -1))


def contrast_weights(
    lab: np.ndarray, connectivity: int = 8
) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Contrast-sensitive n-link weights ``exp(-||I_p - I_q||² / 2β) / dist(p, q)``.

    Boykov & Jolly (ICCV 2001), Eq. (3)/Sec. 3, with ``β`` the mean squared colour difference over
    all neighbouring pairs (as in Rother et al., GrabCut, 2004, Eq. 5).

    Parameters
    ----------
    lab : ndarray
        ``H×W×3`` image (float or uint8; the predictor passes CIE Lab).
    connectivity : {4, 8}
        Neighbourhood system.

    Returns
    -------
    list of ((dy, dx), ndarray)
        One ``H×W float32`` weight array per direction; entry ``[y, x]`` is the weight of the edge
        between ``(y, x)`` and ``(y + dy, x + dx)`` (entries without that neighbour are 0).
    """
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    img = lab.astype(np.float32)
    h, w = img.shape[:2]
    dirs = _DIRECTIONS_4 if connectivity == 4 else _DIRECTIONS_8
    sq = []
    for dy, dx in dirs:
        d = np.zeros((h, w), np.float32)
        ys = slice(0, h - dy)
        xs_src = slice(max(0, -dx), w - max(0, dx))
        xs_dst = slice(max(0, dx), w - max(0, -dx) if dx < 0 else w)
        diff = img[ys, xs_src] - img[dy:, xs_dst]
        d[ys, xs_src] = np.einsum("ijk,ijk->ij", diff, diff)
        valid = np.zeros((h, w), bool)
        valid[ys, xs_src] = True
        sq.append((d, valid))
    beta = np.mean(np.concatenate([d[v] for d, v in sq])) + 1e-6
    out = []
    for (dy, dx), (d, valid) in zip(dirs, sq, strict=True):
        wgt = np.exp(-d / (2.0 * beta)) / np.hypot(dy, dx)
        out.append(((dy, dx), np.where(valid, wgt, 0.0).astype(np.float32)))
    return out


def grid_graph(
    shape: tuple[int, int], edges: Sequence[tuple[tuple[int, int], np.ndarray]]
) -> tuple[maxflow.GraphFloat, np.ndarray]:
    """A PyMaxflow graph with a node per pixel of ``shape`` and the n-links ``edges`` (the
    ``((dy, dx), H×W weights)`` of :func:`contrast_weights`, scaled as wanted), symmetric;
    returns ``(graph, node ids)``. The t-links are the caller's."""
    g = maxflow.GraphFloat()
    nodes = g.add_grid_nodes(shape)
    for (dy, dx), wgt in edges:
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1
        g.add_grid_edges(nodes, weights=wgt, structure=structure, symmetric=True)
    return g, nodes


def hard_capacity(
    shape: tuple[int, int], edges: Sequence[tuple[tuple[int, int], np.ndarray]]
) -> float:
    """The t-link capacity of a hard constraint, Boykov & Jolly's ``K = 1 + max_p Σ_q B_pq``
    (Sec. 2.3) for the n-links ``edges`` of :func:`grid_graph`: a seed pixel's other t-link is 0,
    so labelling it against its seed costs more than cutting all its n-links could save.

    A finite ``K`` of this size (a few hundred) also keeps the dynamic cut exact: when a click is
    taken back, its pixels' capacities drop by ``K`` on the kept graph without rounding away the
    other terms, as a huge constant would in single precision.
    """
    h, w = shape
    total = np.zeros(shape, np.float64)
    for (dy, dx), wgt in edges:  # a pair's weight sits at its first pixel p, the other is p + d
        total += wgt
        ys, xs = slice(dy, h), slice(max(0, dx), w + min(0, dx))
        total[ys, xs] += wgt[: h - dy, max(0, -dx) : w - max(0, dx)]
    return 1.0 + float(total.max())


def settled_labels(prob: np.ndarray, clicks: Sequence[Click], band: int) -> np.ndarray:
    """Which pixels a band-limited cut leaves to the probability: ``H×W int8``, -1 where the
    cut decides (within ``band`` pixels of the boundary of ``prob > 0.5`` or of a click), else
    the label ``prob > 0.5`` gives (1 object, 0 background).

    The band follows the mask's boundary, not the probability's values: a network trained with
    the normalized focal loss is rarely confident (the shipped one puts most pixels between 0.15
    and 0.9), so thresholds on the probability would free the whole image.
    """
    mask = (prob > 0.5).astype(np.uint8)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2)
    free = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, disk, borderType=cv2.BORDER_REPLICATE)
    for click in clicks:
        cv2.circle(free, (click.x, click.y), band, 1, -1)
    return np.where(free > 0, -1, mask).astype(np.int8)


class GraphCutPredictor(ClickPredictorBase):
    """Boykov–Jolly graph cut (ICCV 2001) driven by clicks, solved with PyMaxflow.

    Energy (Boykov & Jolly, Eq. 1-2): ``E(L) = Σ_p D_p(L_p) + λ Σ_{pq} w_pq [L_p ≠ L_q]`` with

    * data term ``D_p`` = ``-log`` colour likelihood under a smoothed Lab histogram
      (:class:`~occseg.classical.common.ColourHistogram`) of the object / background; the object
      model is fitted on disks of ``colour_radius`` around positive clicks (and on the previous
      mask when given and ``prev_colour``), the background model on disks around negative clicks,
      a border strip of ``border`` pixels and the previous background;
    * a distance prior ``mu · (d_pos / (d_pos + d_neg))`` on the object label, where ``d_pos`` /
      ``d_neg`` are distances to the nearest positive / negative click (zero without negative
      clicks: a border-based version hurt objects touching the border in tuning);
    * an optional term ``kappa`` pulling each pixel towards the previous mask (``prev_prob``);
    * n-link weights ``w_pq = exp(-||I_p - I_q||² / 2β) / dist(p, q)`` (:func:`contrast_weights`);
    * hard constraints (Eq. 4): infinite t-links on disks of ``seed_radius`` around the clicks.

    After the first cut the colour models are re-fitted on the result and the cut is repeated
    ``n_iter - 1`` times (the iterated estimation of GrabCut, Rother et al. 2004, Sec. 3.1).

    Parameters
    ----------
    lam : float
        Weight λ of the pairwise (boundary) term.
    connectivity : {4, 8}
        Pixel neighbourhood.
    seed_radius : float
        Radius in pixels of the hard-constraint disks around clicks.
    colour_radius : float
        Radius in pixels of the disks around clicks used to fit the colour models.
    border : int
        Width of the border strip that seeds the background colour model (3, Boykov–Jolly).
    mu : float
        Weight of the distance-to-clicks prior (0 disables it, the default).
    kappa : float
        Weight of the previous-mask unary (0 disables it, the default: it made the cut sticky.
        On every 5th COCO-MVal-dev object, NoC@85/90 were 12.00/13.72 with 1.0 and 10.28/12.40
        with 0; the previous mask still seeds the colour models when ``prev_colour``).
    prev_colour : bool
        Fit the colour models on the previous mask too (not only on the click disks; off by
        default).

    The defaults are the plain Boykov–Jolly cut (:data:`BOYKOV_JOLLY`): the distance prior,
    previous-mask colour seeds and an 8-pixel border (``mu=10, prev_colour=True, border=8``),
    tuned on COCO-MVal dev alone, tied with it on every 5th COCO-MVal-dev object (NoC@90 12.40
    vs 12.36) and lost on every 8th ``bsds500_objects`` object (15.18 vs 11.52), so they are
    opt-in.
    bins : int
        Histogram bins per Lab channel.
    n_iter : int
        Number of cut / colour re-estimation rounds.
    softness : float
        Width in pixels of the soft transition of the returned probability
        (:func:`~occseg.classical.common.prob_from_mask`).

    Notes
    -----
    The result is deterministic. The returned probability is the binary cut softened across its
    boundary; thresholding it at 0.49 (or 0.5) gives back the cut exactly.
    """

    def __init__(
        self,
        lam: float = 50.0,
        connectivity: int = 8,
        seed_radius: float = 5.0,
        colour_radius: float = 15.0,
        border: int = 3,
        mu: float = 0.0,
        kappa: float = 0.0,
        prev_colour: bool = False,
        bins: int = 16,
        n_iter: int = 1,
        softness: float = 2.0,
    ) -> None:
        if connectivity not in (4, 8):
            raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
        self.lam = float(lam)
        self.connectivity = int(connectivity)
        self.seed_radius = float(seed_radius)
        self.colour_radius = float(colour_radius)
        self.border = int(border)
        self.mu = float(mu)
        self.kappa = float(kappa)
        self.prev_colour = bool(prev_colour)
        self.bins = int(bins)
        self.n_iter = max(1, int(n_iter))
        self.softness = float(softness)

    _object_prior: tuple[np.ndarray, float, int | None, np.ndarray] | None = None

    def predict_with_prior(
        self,
        clicks: Sequence[Click],
        object_prob: np.ndarray,
        weight: float = 1.0,
        prev_prob: np.ndarray | None = None,
        band: int | None = None,
        band_around: np.ndarray | None = None,
    ) -> np.ndarray:
        """:meth:`predict` with one more data term, ``-weight · log`` of an object probability
        (e.g. a network's) for the object label and of its complement for the background.

        This is how a learned model and the cut combine (issue 4, item 7): the network brings
        shape and objectness, the colour models and contrast n-links bring the image evidence,
        the clicks stay hard constraints.

        With ``band`` the cut decides only the pixels within ``band`` pixels of the boundary of
        ``object_prob > 0.5`` or of a click; the others keep the label the probability gives
        them (:func:`settled_labels`). The graph shrinks to that band: the cut snaps the
        network's outline to the image's edges, faster, but cannot move it further.
        ``band_around`` (a probability of the same shape) puts the band around the boundary of
        ``band_around > 0.5`` instead and settles the other pixels by it, e.g. a cut of the
        shrunk image (the multilevel banded graph cut of Lombaert et al., ICCV 2005).
        """
        shape = None if self.image is None else self.image.shape[:2]
        for name, array in (("object_prob", object_prob), ("band_around", band_around)):
            if shape is not None and array is not None and np.shape(array) != shape:
                raise ValueError(f"{name} {np.shape(array)} != image {shape}")
        around = np.asarray(object_prob if band_around is None else band_around)
        self._object_prior = (np.asarray(object_prob), float(weight), band, around)
        try:
            return self.predict(clicks, prev_prob)
        finally:
            self._object_prior = None

    def _prepare(self, image: np.ndarray) -> None:
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
        self._hist = ColourHistogram(lab, bins=self.bins)
        self._edges = [(d, self.lam * w) for d, w in contrast_weights(lab, self.connectivity)]
        self._hard = hard_capacity(image.shape[:2], self._edges)
        h, w = image.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        self._d_border = np.minimum(np.minimum(yy, h - 1 - yy), np.minimum(xx, w - 1 - xx)) + 1.0
        self._flow: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._grid: tuple[Any, np.ndarray] | None = None

    def prepare_grid(self) -> None:
        """Build the image's whole-grid graph (its n-links) now, before the first click, so that
        the first cut only adds its t-links and solves. Cuts of a band
        (:meth:`predict_with_prior` with ``band``) never use it; without this call the first
        whole-image cut builds it."""
        if self.image is None:
            raise RuntimeError("call set_image(image) before prepare_grid()")
        if self._flow is None and self._grid is None:
            self._grid = grid_graph(self.image.shape[:2], self._edges)

    def _grid_cut(self, d_fg: np.ndarray, d_bg: np.ndarray) -> np.ndarray:
        """Minimum cut of the whole grid, reusing the previous cut's flow where it can.

        The n-links depend on the image only, so from the second cut of an image on the graph of
        the previous one is kept and only its t-links change (by the difference of the
        capacities), and the max-flow continues from the previous flow and search trees: the
        dynamic graph cut of Kohli & Torr (ICCV 2005), the same minimum cut several times
        faster as clicks are added, and as they are taken back (hard constraints are the paper's
        finite ``K``, :func:`hard_capacity`). The graph (about 300 bytes a pixel) is held until
        the next image.
        """
        flow = self._flow
        if flow is not None:
            g, nodes, source, sink = flow
            g.add_grid_tedges(nodes, d_bg - source, d_fg - sink)
            g.mark_grid_nodes(nodes)
            g.maxflow(reuse_trees=True)
        else:
            g, nodes = self._grid or grid_graph(d_fg.shape, self._edges)
            self._grid = None
            # source = object: a pixel labelled object cuts its sink link, so sink capacity = D(obj)
            g.add_grid_tedges(nodes, d_bg, d_fg)
            g.maxflow()
        self._flow = (g, nodes, d_bg, d_fg)
        return ~g.get_grid_segments(nodes)

    def _cut(
        self, d_fg: np.ndarray, d_bg: np.ndarray, settled: np.ndarray | None = None
    ) -> np.ndarray:
        """Minimum cut; returns the object mask (source side).

        With ``settled`` (``H×W int8``: -1 where the cut decides, 0/1 a pixel's fixed label) the
        graph holds only the undecided pixels; an n-link to a settled neighbour becomes a t-link
        of the same weight. That is the full cut's energy with the settled pixels clamped, so a
        settled map of all -1 gives the full cut exactly.
        """
        if settled is None:
            return self._grid_cut(d_fg, d_bg)
        # work on the free pixels' coordinates only: the band is a small part of the image
        ys, xs = np.nonzero(settled < 0)
        g = maxflow.GraphFloat()
        nodes = g.add_nodes(len(ys))
        ids = np.full(settled.shape, -1, np.int64)
        ids[ys, xs] = nodes
        source, sink = d_bg[ys, xs].astype(np.float64), d_fg[ys, xs].astype(np.float64)
        h, w = settled.shape
        for (dy, dx), wgt in self._edges:
            # a free pixel's pairs along this direction: (p, p + d) forward, (p - d, p) backward;
            # a pair's weight sits at its first pixel
            for step in (1, -1):
                ny, nx = ys + step * dy, xs + step * dx
                inside = np.flatnonzero((ny >= 0) & (ny < h) & (nx >= 0) & (nx < w))
                ny, nx = ny[inside], nx[inside]
                first = (ys[inside], xs[inside]) if step == 1 else (ny, nx)
                weight, other = wgt[first], settled[ny, nx]
                if step == 1:  # a free pair is added once, from its first pixel
                    both = other < 0
                    g.add_edges(inside[both], ids[ny, nx][both], weight[both], weight[both])
                # object neighbour: labelling this pixel background cuts the link (source side)
                to_obj, to_bg = other == 1, other == 0
                source[inside[to_obj]] += weight[to_obj]
                sink[inside[to_bg]] += weight[to_bg]
        g.add_grid_tedges(nodes, source, sink)
        g.maxflow()
        mask = settled == 1
        mask[ys, xs] = ~g.get_grid_segments(nodes)
        return mask

    def _predict(
        self, shape: tuple[int, int], clicks: list[Click], prev_prob: np.ndarray | None
    ) -> np.ndarray:
        prev = None if prev_prob is None else prev_prob > 0.5
        colour_prev = prev if self.prev_colour else None
        # the seeds need distances up to the disks' radii only; the prior needs them all, and so
        # does a border keep-out given as a fraction of the image (colour_radius below 1)
        exact = self.mu > 0 or self.colour_radius < 1
        within = None if exact else max(self.seed_radius, self.colour_radius)
        distances = (
            click_distance(clicks, shape, True, within),
            click_distance(clicks, shape, False, within),
        )
        fg_seed, bg_seed = seed_masks(clicks, shape, self.seed_radius, distances=distances)
        fg_col, bg_col = seed_masks(
            clicks,
            shape,
            self.colour_radius,
            border=self.border,
            prev_mask=colour_prev,
            border_keepout=self.colour_radius,
            distances=distances,
        )
        if colour_prev is not None:
            fg_col = (fg_col | colour_prev) & ~bg_seed
            bg_col = (bg_col | ~colour_prev) & ~fg_seed

        prior: float | np.ndarray = 0.0
        if self.mu > 0:  # the distance prior (off in the plain cut)
            d_pos, d_neg = distances
            prior = self.mu * d_pos / (d_pos + d_neg + 1e-6)
        extra_fg = np.zeros(shape, np.float32) + prior
        extra_bg = np.zeros(shape, np.float32)
        settled = None
        if self._object_prior is not None:
            p, weight, band, around = self._object_prior
            if band is not None:
                settled = settled_labels(around, clicks, band)
            p = np.clip(p.astype(np.float64), 1e-4, 1.0 - 1e-4)
            extra_fg += (weight * -np.log(p)).astype(np.float32)
            extra_bg += (weight * -np.log1p(-p)).astype(np.float32)
        if prev is not None and self.kappa > 0:
            extra_fg += self.kappa * ~prev
            extra_bg += self.kappa * prev

        mask = np.zeros(shape, bool)
        for iteration in range(self.n_iter):
            if iteration:
                fg_col = (mask | fg_seed) & ~bg_seed
                bg_col = (~mask | bg_seed) & ~fg_seed
            d_fg = self._hist.neg_log_likelihood(fg_col) + extra_fg
            d_bg = self._hist.neg_log_likelihood(bg_col) + extra_bg
            d_fg[fg_seed], d_bg[fg_seed] = 0.0, self._hard
            d_fg[bg_seed], d_bg[bg_seed] = self._hard, 0.0
            mask = self._cut(d_fg, d_bg, settled)
        return prob_from_mask(mask, self.softness)


#: The plain Boykov–Jolly click cut (ICCV 2001): colour histograms from the click disks and a
#: 3-pixel border, contrast n-links, hard click constraints, nothing else. These are the defaults;
#: the ``boykov_jolly`` predictor pins them as the baseline should the defaults change.
BOYKOV_JOLLY = {"mu": 0.0, "kappa": 0.0, "border": 3, "prev_colour": False, "n_iter": 1}
