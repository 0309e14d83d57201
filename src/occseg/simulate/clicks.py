"""Simulated clicks for training: random first clicks and iterative error-region clicks.

RITM (Sofiiuk et al., 2022, Sec. 3.2) trains with a combination of two samplers:

* **random sampling** of the first clicks, as Xu et al. (Deep Interactive Object Selection,
  CVPR 2016, Sec. 3.2): positive clicks inside the object away from its boundary and at least
  ``d_step`` apart, negative clicks in the background by one of three strategies —
  (1) random pixels in a band around the object, (2) pixels on other objects, (3) pixels spread
  over the band by farthest-point sampling (Xu's "cover the boundary" strategy). Simplification:
  strategy 2 samples from the union of the other objects rather than per object, and the counts
  decay geometrically (RITM's ``prob_gamma`` 0.8) instead of being uniform;
* **iterative sampling**: each next click lies in the error region of the model's own prediction,
  sampled uniformly from the region eroded until its area is 4× smaller (not its centre, which
  RITM found to overfit the NoC clicker).

Both follow the :class:`InteractionSimulator` protocol so that another interaction type (boundary
clicks, the two-in-one refinement paper) is a new class, not an edit: see :data:`SIMULATORS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from occseg.distances import distance_to_outside, distance_to_region
from occseg.types import Click


@runtime_checkable
class InteractionSimulator(Protocol):
    """A simulated user for training: first interactions, then corrections of a prediction."""

    def first(
        self,
        gt: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        others: np.ndarray | None = None,
    ) -> list[Any]:
        """Initial interactions for target ``gt`` (``H×W bool``); ``others``: other objects."""

    def next(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        history: Sequence[Any] = (),
    ) -> list[Any]:
        """Interactions correcting ``pred`` (``H×W bool``); empty when there is nothing to fix."""


def _count(rng: np.random.Generator, low: int, high: int, gamma: float) -> int:
    """A count in ``[low, high]`` with ``P(k) ∝ gamma^(k - low)``."""
    if high <= low:
        return low
    p = gamma ** np.arange(high - low + 1, dtype=np.float64)
    return low + int(rng.choice(len(p), p=p / p.sum()))


def _spread_sample(
    candidates: np.ndarray, n: int, d_step: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Up to ``n`` random pixels of ``candidates`` at least ``d_step`` apart (Xu et al.)."""
    free = candidates.copy()
    h, w = free.shape
    r = int(np.ceil(d_step))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = yy * yy + xx * xx < d_step * d_step
    out = []
    for _ in range(n):
        idx = np.flatnonzero(free)
        if idx.size == 0:
            break
        y, x = divmod(int(idx[rng.integers(idx.size)]), w)
        out.append((y, x))
        y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
        free[y0:y1, x0:x1] &= ~disk[y0 - y + r : y1 - y + r, x0 - x + r : x1 - x + r]
    return out


def _farthest_sample(
    candidates: np.ndarray, n: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Farthest-point sampling of ``n`` pixels of ``candidates`` (random first pixel)."""
    ys, xs = np.nonzero(candidates)
    if ys.size == 0 or n == 0:
        return []
    pts = np.stack([ys, xs], 1).astype(np.float32)
    i = int(rng.integers(len(pts)))
    chosen = [i]
    d2 = np.square(pts - pts[i]).sum(1)
    for _ in range(min(n, len(pts)) - 1):
        i = int(np.argmax(d2))
        chosen.append(i)
        d2 = np.minimum(d2, np.square(pts - pts[i]).sum(1))
    return [(int(ys[i]), int(xs[i])) for i in chosen]


class RandomClickSampler:
    """First clicks by random sampling (Xu et al. 2016, Sec. 3.2; RITM Sec. 3.2).

    Parameters
    ----------
    max_positive, max_negative
        Counts: positives in ``[1, max_positive]``, negatives in ``[0, max_negative]`` with
        ``P(k) ∝ gamma^k``. Xu et al. use at most 5 positives and 10 negatives.
    gamma
        Decay of the count distribution (0.8, RITM's ``prob_gamma``).
    pos_margin
        Positives are at least this far from the object boundary (reduced for thin objects).
    neg_band
        Strategies 1 and 3 sample background pixels whose distance to the object lies in
        ``[neg_band[0], neg_band[1]]`` (Xu et al.: 5 to 40 pixels).
    d_step
        Minimal distance between clicks of one polarity (Xu et al.: 10 pixels).
    strategies
        Negative strategies to choose from uniformly: ``"band"`` (1), ``"others"`` (2, falls back
        to 1 without other objects), ``"cover"`` (3).
    """

    def __init__(
        self,
        max_positive: int = 5,
        max_negative: int = 10,
        gamma: float = 0.8,
        pos_margin: float = 5.0,
        neg_band: tuple[float, float] = (5.0, 40.0),
        d_step: float = 10.0,
        strategies: Sequence[str] = ("band", "others", "cover"),
    ) -> None:
        unknown = set(strategies) - {"band", "others", "cover"}
        if unknown or not strategies:
            raise ValueError(f"unknown negative strategies {sorted(unknown)}")
        self.max_positive = max_positive
        self.max_negative = max_negative
        self.gamma = gamma
        self.pos_margin = pos_margin
        self.neg_band = neg_band
        self.d_step = d_step
        self.strategies = tuple(strategies)

    def positives(
        self, gt: np.ndarray, rng: np.random.Generator, ignore: np.ndarray | None = None
    ) -> list[Click]:
        """Positive clicks inside ``gt``, away from its boundary."""
        dist = distance_to_outside(gt)
        if ignore is not None:
            dist[ignore] = 0
        peak = float(dist.max())
        if peak <= 0:
            return []
        candidates = dist >= min(self.pos_margin, peak)
        n = _count(rng, 1, self.max_positive, self.gamma)
        return [Click(y, x, True) for y, x in _spread_sample(candidates, n, self.d_step, rng)]

    def negatives(
        self,
        gt: np.ndarray,
        rng: np.random.Generator,
        ignore: np.ndarray | None = None,
        others: np.ndarray | None = None,
    ) -> list[Click]:
        """Negative clicks in the background by a randomly chosen strategy."""
        n = _count(rng, 0, self.max_negative, self.gamma)
        if n == 0 or gt.all():
            return []
        background = ~gt if ignore is None else ~gt & ~ignore
        dist = distance_to_region(gt)
        band = background & (dist >= self.neg_band[0]) & (dist <= self.neg_band[1])
        if not band.any():
            band = background
        strategy = self.strategies[int(rng.integers(len(self.strategies)))]
        if strategy == "others" and others is not None:
            on_others = others & background & (dist >= self.neg_band[0])
            if on_others.any():
                return [
                    Click(y, x, False) for y, x in _spread_sample(on_others, n, self.d_step, rng)
                ]
        if strategy == "cover":
            return [Click(y, x, False) for y, x in _farthest_sample(band, n, rng)]
        return [Click(y, x, False) for y, x in _spread_sample(band, n, self.d_step, rng)]

    def __call__(
        self,
        gt: np.ndarray,
        rng: np.random.Generator,
        ignore: np.ndarray | None = None,
        others: np.ndarray | None = None,
    ) -> list[Click]:
        gt = np.asarray(gt, bool)
        return self.positives(gt, rng, ignore) + self.negatives(gt, rng, ignore, others)


def error_regions(
    gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """False-negative and false-positive masks (``H×W bool``), ignored pixels removed."""
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    fn, fp = gt & ~pred, ~gt & pred
    if ignore is not None:
        fn &= ~ignore
        fp &= ~ignore
    return fn, fp


def _erosion_level(values: np.ndarray, fraction: float) -> float:
    """The distance ``t`` such that ``#(values >= t)`` is closest to ``fraction · #values``.

    Distances take few distinct values, so the exact fraction is rarely reachable; the level is
    chosen by the smallest ``|log(area / target)|`` among the non-empty erosions.
    """
    levels, counts = np.unique(values, return_counts=True)
    areas = np.cumsum(counts[::-1])[::-1]  # areas[i] = #(values >= levels[i]), all > 0
    target = max(fraction * values.size, 1.0)
    return float(levels[int(np.argmin(np.abs(np.log(areas / target))))])


class ErrorRegionClicker:
    """Iterative clicks from eroded error regions (RITM Sec. 3.2).

    The error type whose region reaches deepest (largest interior distance; a false negative
    must be strictly deeper, as in the standard clicker) gives the click's polarity; its
    connected component containing that deepest pixel is eroded with a Euclidean disk until
    ``area_fraction`` (1/4) of it remains, and the click is drawn uniformly from what remains.
    Erosion by a disk of radius ``t`` keeps exactly the pixels whose interior distance is at
    least ``t``, so ``t`` is (about) the ``1 - area_fraction`` quantile of the component's
    distances; see :func:`_erosion_level`.

    Parameters
    ----------
    area_fraction
        Fraction of the error component's area kept by the erosion (RITM: 1/4).
    """

    def __init__(self, area_fraction: float = 0.25) -> None:
        if not 0.0 < area_fraction <= 1.0:
            raise ValueError(f"area_fraction must be in (0, 1], got {area_fraction}")
        self.area_fraction = area_fraction

    def eroded_region(
        self, gt: np.ndarray, pred: np.ndarray, ignore: np.ndarray | None = None
    ) -> tuple[np.ndarray, bool] | None:
        """The eroded error region the next click is drawn from, and its polarity (or None)."""
        fn, fp = error_regions(gt, pred, ignore)
        d_fn, d_fp = distance_to_outside(fn), distance_to_outside(fp)
        m_fn, m_fp = float(d_fn.max()), float(d_fp.max())
        if max(m_fn, m_fp) <= 0:
            return None
        positive = m_fn > m_fp
        region, dist = (fn, d_fn) if positive else (fp, d_fp)
        _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
        peak = np.unravel_index(int(np.argmax(dist)), dist.shape)
        component = labels == labels[peak]
        dist = distance_to_outside(component)
        return component & (dist >= _erosion_level(dist[component], self.area_fraction)), positive

    def __call__(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        rng: np.random.Generator,
        ignore: np.ndarray | None = None,
    ) -> list[Click]:
        found = self.eroded_region(gt, pred, ignore)
        if found is None:
            return []
        region, positive = found
        idx = np.flatnonzero(region)
        y, x = divmod(int(idx[rng.integers(idx.size)]), region.shape[1])
        return [Click(y, x, positive)]


class ClickSimulator:
    """The click user of RITM training: random first clicks, then error-region clicks."""

    def __init__(
        self,
        first_sampler: RandomClickSampler | None = None,
        next_clicker: ErrorRegionClicker | None = None,
    ) -> None:
        self.first_sampler = first_sampler or RandomClickSampler()
        self.next_clicker = next_clicker or ErrorRegionClicker()

    def first(
        self,
        gt: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        others: np.ndarray | None = None,
    ) -> list[Any]:
        return list(self.first_sampler(gt, rng, ignore, others))

    def next(
        self,
        gt: np.ndarray,
        pred: np.ndarray,
        rng: np.random.Generator,
        *,
        ignore: np.ndarray | None = None,
        history: Sequence[Any] = (),
    ) -> list[Any]:
        return list(self.next_clicker(gt, pred, rng, ignore))


def _click_simulator(**options: Any) -> ClickSimulator:
    area = options.pop("area_fraction", 0.25)
    return ClickSimulator(RandomClickSampler(**options), ErrorRegionClicker(area))


#: interaction type → factory ``(**options) -> InteractionSimulator`` (options from the config).
SIMULATORS: dict[str, Callable[..., InteractionSimulator]] = {"clicks": _click_simulator}


def make_simulator(interaction: str, **options: Any) -> InteractionSimulator:
    """Build the training-time simulated user of an interaction type (see :data:`SIMULATORS`)."""
    if interaction not in SIMULATORS:
        raise ValueError(f"no simulator for interaction {interaction!r}; have {sorted(SIMULATORS)}")
    return SIMULATORS[interaction](**options)
