"""The learned click predictor: a :class:`~occseg.nn.ClickNet` behind the ``Predictor`` protocol.

Test-time procedure of RITM (Sec. 5, following f-BRS, Sofiiuk et al. 2020):

* **previous-probability feedback** (Sec. 3.3): the last prediction is the model's third
  interaction channel (zeros for the first click);
* **zoom-in**: from the second click on, the model sees only a crop around the current object
  (predicted mask ∪ positive clicks, its box expanded 1.4×, at least 200 pixels a side), resized
  so that its longer side is 400 pixels; the crop is kept while the new box overlaps it with IoU
  ≥ 0.5, recomputed otherwise; the probability outside the crop is 0;
* **flip averaging**: the mean of the predictions on the image and its horizontal mirror;
* the evaluation threshold is 0.49 (:attr:`ClickNetPredictor.threshold`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from occseg.errors import ConfigError
from occseg.nn.clicknet import ClickNet
from occseg.predictor import check_clicks, check_image
from occseg.types import Click

#: A box ``(y0, y1, x0, x1)``, end-exclusive.
Box = tuple[int, int, int, int]


class Refiner(Protocol):
    """Post-processing of the network's probability, e.g. a graph cut with the network
    probability as unaries and the clicks as hard constraints (issue 4, item 7).

    Called on the whole image at its own resolution with the network's probability pasted in
    (0.5 outside the zoom-in crop, where the network says nothing):
    ``refine(image_uint8 H×W×3, prob H×W float32, clicks) -> prob``.
    """

    def __call__(
        self, image: np.ndarray, prob: np.ndarray, clicks: Sequence[Click]
    ) -> np.ndarray: ...


class GraphCutRefiner:
    """Graph cut on the network's probability: ``-log p`` / ``-log(1 - p)`` as unaries,
    contrast-sensitive n-links (Boykov & Jolly 2001, Eq. 1-3) and disks around the clicks as
    hard constraints (Eq. 4) — the combination suggested by issue 4 (item 7) for a network
    trained from scratch. Returns the cut softened across its boundary.

    Parameters
    ----------
    lam
        Weight of the pairwise term relative to the unaries (in nats).
    seed_radius
        Radius of the hard-constraint disks around clicks.
    connectivity
        4 or 8.
    eps
        Probabilities are clipped to ``[eps, 1 - eps]`` before the logarithm.
    """

    def __init__(
        self, lam: float = 2.0, seed_radius: float = 3.0, connectivity: int = 8, eps: float = 1e-4
    ) -> None:
        self.lam, self.seed_radius = float(lam), float(seed_radius)
        self.connectivity, self.eps = int(connectivity), float(eps)

    def __call__(self, image: np.ndarray, prob: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        import maxflow

        from occseg.classical.common import prob_from_mask, seed_masks
        from occseg.classical.graphcut import contrast_weights

        p = np.clip(prob.astype(np.float64), self.eps, 1.0 - self.eps)
        d_fg, d_bg = -np.log(p), -np.log1p(-p)
        fg_seed, bg_seed = seed_masks(list(clicks), prob.shape, self.seed_radius)
        hard = 1e9
        d_fg[fg_seed], d_bg[fg_seed] = 0.0, hard
        d_fg[bg_seed], d_bg[bg_seed] = hard, 0.0
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
        g = maxflow.GraphFloat()
        nodes = g.add_grid_nodes(prob.shape)
        for (dy, dx), wgt in contrast_weights(lab, self.connectivity):
            structure = np.zeros((3, 3))
            structure[1 + dy, 1 + dx] = 1
            g.add_grid_edges(nodes, weights=self.lam * wgt, structure=structure, symmetric=True)
        g.add_grid_tedges(nodes, d_bg, d_fg)  # source = object: its sink capacity is D(object)
        g.maxflow()
        return prob_from_mask(~g.get_grid_segments(nodes))


class HybridRefiner:
    """The classical click graph cut (:class:`~occseg.classical.GraphCutPredictor`: colour models
    from the clicks, distance prior, contrast n-links, hard click constraints) with the network's
    probability as one more data term of weight ``weight`` (issue 4, item 7)."""

    def __init__(self, weight: float = 1.0, **graphcut: float) -> None:
        from occseg.classical import GraphCutPredictor

        self.weight = float(weight)
        self.cut = GraphCutPredictor(**graphcut)

    def __call__(self, image: np.ndarray, prob: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        if self.cut.image is not image:  # colour space and n-links once per image
            self.cut.set_image(image)
        return self.cut.predict_with_prior(clicks, prob, self.weight)


#: Refiners by name (``ClickNetPredictor(..., refine="graphcut")``).
REFINERS: dict[str, type] = {"graphcut": GraphCutRefiner, "hybrid": HybridRefiner}


@dataclass(frozen=True)
class ZoomIn:
    """Zoom-in parameters (f-BRS / RITM defaults)."""

    target_size: int = 400
    expansion: float = 1.4
    min_crop: int = 200
    skip_clicks: int = 1
    recompute_iou: float = 0.5
    threshold: float = 0.49


def box_iou(a: Box, b: Box) -> float:
    """IoU of two end-exclusive boxes ``(y0, y1, x0, x1)``."""
    h = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    w = max(0, min(a[3], b[3]) - max(a[2], b[2]))
    inter = h * w
    area = (a[1] - a[0]) * (a[3] - a[2]) + (b[1] - b[0]) * (b[3] - b[2]) - inter
    return inter / area if area > 0 else 0.0


def _expand(lo: int, hi: int, ratio: float, minimum: int, size: int) -> tuple[int, int]:
    """Expand the end-exclusive span ``[lo, hi)`` around its centre, clamped to ``[0, size)``."""
    centre = 0.5 * (lo + hi)
    length = min(size, max((hi - lo) * ratio, minimum))
    n = round(length)
    start = min(max(0, round(centre - 0.5 * length)), size - n)
    return max(0, start), min(size, start + n)


def object_roi(
    mask: np.ndarray, clicks: Sequence[Click], expansion: float = 1.4, min_crop: int = 200
) -> Box:
    """Zoom-in box around ``mask`` ∪ positive clicks, expanded and at least ``min_crop`` wide."""
    h, w = mask.shape
    region = mask.copy()
    for c in clicks:
        if c.positive:
            region[c.y, c.x] = True
    ys, xs = np.nonzero(region.any(1))[0], np.nonzero(region.any(0))[0]
    if ys.size == 0:
        return 0, h, 0, w
    y0, y1 = _expand(int(ys[0]), int(ys[-1]) + 1, expansion, min_crop, h)
    x0, x1 = _expand(int(xs[0]), int(xs[-1]) + 1, expansion, min_crop, w)
    return y0, y1, x0, x1


class ClickNetPredictor:
    """Click predictor over a trained :class:`~occseg.nn.ClickNet`.

    Parameters
    ----------
    model
        A model, or the path of a checkpoint (see :mod:`occseg.checkpoint`).
    zoom_in
        :class:`ZoomIn` parameters, True for the defaults, False to always use the full image.
    flip
        Average with the horizontally flipped prediction.
    max_size
        If set, the full-image pass (first click, or no zoom-in) downsizes images whose longer
        side exceeds this.
    refine
        Optional :class:`Refiner` (or a name in :data:`REFINERS`, e.g. ``"graphcut"``) applied
        to the network's probability before it is pasted back into the image.
    refine_options
        Keyword arguments of a refiner given by name, e.g. ``{"weight": 0.5}`` for ``"hybrid"``.
    threads
        If set, ``torch.set_num_threads(threads)`` (process-wide). On a busy CPU one thread is
        often several times faster than oversubscribed cores (or set ``OMP_NUM_THREADS=1``).

    Examples
    --------
    >>> p = ClickNetPredictor("model.pt")                    # doctest: +SKIP
    >>> p.set_image(image)                                   # doctest: +SKIP
    >>> prob = p.predict([Click(120, 200, True)])            # doctest: +SKIP
    >>> clicks = [Click(120, 200, True), Click(40, 60, False)]
    >>> prob = p.predict(clicks, prev_prob=prob)             # doctest: +SKIP
    """

    threshold = 0.49

    def __init__(
        self,
        model: ClickNet | str | os.PathLike,
        *,
        zoom_in: ZoomIn | bool = True,
        flip: bool = True,
        max_size: int | None = None,
        refine: Refiner | str | None = None,
        refine_options: dict[str, Any] | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        if not isinstance(model, ClickNet):
            from occseg.checkpoint import load_clicknet

            model = load_clicknet(model)
        self.model = model.eval()
        self.encoder = model.config.make_encoder()
        self.zoom = ZoomIn() if zoom_in is True else (zoom_in or None)
        self.flip = flip
        self.max_size = max_size
        if isinstance(refine, str):
            if refine not in REFINERS:
                raise ConfigError(f"unknown refiner {refine!r}; choose one of {sorted(REFINERS)}")
            try:
                refine = REFINERS[refine](**(refine_options or {}))
            except TypeError as exc:
                raise ConfigError(f"bad options for refiner {refine!r}: {exc}") from None
        self.refine: Refiner | None = refine
        self._image: np.ndarray | None = None
        self._roi: Box | None = None

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` image (resets the zoom-in crop)."""
        self._image_u8 = check_image(image).copy()  # a new object per image (refiner caches)
        self._image = self._image_u8.astype(np.float32) / 255.0
        self._roi = None

    def _choose_roi(self, clicks: Sequence[Click], prev_prob: np.ndarray | None) -> Box | None:
        zoom = self.zoom
        if zoom is None or len(clicks) <= zoom.skip_clicks or prev_prob is None:
            return None
        box = object_roi(prev_prob > zoom.threshold, clicks, zoom.expansion, zoom.min_crop)
        if self._roi is None or box_iou(box, self._roi) < zoom.recompute_iou:
            self._roi = box
        return self._roi

    def _target_size(self, h: int, w: int, zoomed: bool) -> tuple[int, int]:
        if zoomed:
            side = self.zoom.target_size  # type: ignore[union-attr]
        elif self.max_size is not None and max(h, w) > self.max_size:
            side = self.max_size
        else:
            return h, w
        scale = side / max(h, w)
        return max(1, round(h * scale)), max(1, round(w * scale))

    @torch.inference_mode()
    def _run(self, image: np.ndarray, maps: np.ndarray, prev: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
        m = torch.from_numpy(maps)[None]
        p = torch.from_numpy(prev)[None, None]
        if self.flip:
            x, m, p = (torch.cat([t, t.flip(-1)]) for t in (x, m, p))
        prob = torch.sigmoid(self.model(x, m, p))[:, 0]
        prob = 0.5 * (prob[0] + prob[1].flip(-1)) if self.flip else prob[0]
        return prob.numpy()

    def predict(self, clicks: Sequence[Click], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Object probability (``H×W float32``) for all clicks so far (see the module doc)."""
        if self._image is None:
            raise RuntimeError("call set_image() before predict()")
        image = self._image
        h, w = image.shape[:2]
        check_clicks(clicks, (h, w))
        if prev_prob is not None and prev_prob.shape != (h, w):
            raise ValueError(f"prev_prob has shape {prev_prob.shape}, expected {(h, w)}")
        roi = self._choose_roi(clicks, prev_prob)
        y0, y1, x0, x1 = roi if roi is not None else (0, h, 0, w)
        ch, cw = y1 - y0, x1 - x0
        th, tw = self._target_size(ch, cw, roi is not None)
        crop = image[y0:y1, x0:x1]
        prev = np.zeros((ch, cw), np.float32) if prev_prob is None else prev_prob[y0:y1, x0:x1]
        if (th, tw) != (ch, cw):
            crop = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_LINEAR)
            prev = cv2.resize(prev.astype(np.float32), (tw, th), interpolation=cv2.INTER_LINEAR)
        sy, sx = th / ch, tw / cw
        # Any point interaction (Click, BoundaryClick) is mapped into the crop the same way.
        local = [
            replace(c, y=math.floor((c.y - y0 + 0.5) * sy), x=math.floor((c.x - x0 + 0.5) * sx))
            for c in clicks
        ]
        maps = self.encoder.encode(local, (th, tw))
        prob = self._run(crop, maps, np.ascontiguousarray(prev, np.float32))
        if (th, tw) != (ch, cw):
            prob = cv2.resize(prob, (cw, ch), interpolation=cv2.INTER_LINEAR)
        if self.refine is not None:
            # on the whole image: the cut sees objects the zoom-in crop cut off; outside the
            # crop the network says nothing (0.5)
            full = np.full((h, w), 0.5, np.float32)
            full[y0:y1, x0:x1] = prob
            return np.asarray(self.refine(self._image_u8, full, list(clicks)), np.float32)
        if roi is None:
            return np.ascontiguousarray(prob, np.float32)
        out = np.zeros((h, w), np.float32)
        out[y0:y1, x0:x1] = prob
        return out

    def __repr__(self) -> str:
        cfg: Any = self.model.config
        return (
            f"ClickNetPredictor(backbone={cfg.backbone!r}, width_mult={cfg.width_mult}, "
            f"zoom_in={self.zoom is not None}, flip={self.flip})"
        )
