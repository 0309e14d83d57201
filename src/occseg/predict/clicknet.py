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

Zoom-in and flip are the test-time transforms of :mod:`occseg.predict.transforms`, worn by the
bare network (:class:`NetworkPredictor`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np
import torch

from occseg.errors import ConfigError, InteractionError
from occseg.nn.clicknet import ClickNet
from occseg.nn.late_fusion import click_window
from occseg.predict.transforms import (
    Flip,
    LimitLongestSide,
    Transform,
    View,
    ZoomIn,
    with_transforms,
)
from occseg.predictor import check_image
from occseg.types import Click

if TYPE_CHECKING:
    from occseg.classical import GraphCutPredictor


class Refiner(Protocol):
    """Post-processing of the network's probability, e.g. a graph cut with the network
    probability as unaries and the clicks as hard constraints (issue 4, item 7).

    Called on the whole image at its own resolution with the network's probability pasted in
    (0.5 outside the zoom-in crop, where the network says nothing):
    ``refine(image_uint8 H×W×3, prob H×W float32, clicks) -> prob``. A refiner may also have
    ``set_image(image_uint8)``, which :class:`ClickNetPredictor` calls with each new image to do
    its per-image work before the first click.
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
        from occseg.classical.common import prob_from_mask, seed_masks
        from occseg.classical.graphcut import contrast_weights, grid_graph, hard_capacity

        lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab)
        edges = [(d, self.lam * wgt) for d, wgt in contrast_weights(lab, self.connectivity)]
        p = np.clip(prob.astype(np.float64), self.eps, 1.0 - self.eps)
        d_fg, d_bg = -np.log(p), -np.log1p(-p)
        fg_seed, bg_seed = seed_masks(list(clicks), prob.shape, self.seed_radius)
        hard = hard_capacity(prob.shape, edges)
        d_fg[fg_seed], d_bg[fg_seed] = 0.0, hard
        d_fg[bg_seed], d_bg[bg_seed] = hard, 0.0
        g, nodes = grid_graph(prob.shape, edges)
        g.add_grid_tedges(nodes, d_bg, d_fg)  # source = object: its sink capacity is D(object)
        g.maxflow()
        return prob_from_mask(~g.get_grid_segments(nodes))


#: Where :class:`HybridRefiner`'s colour models come from.
COLOUR_SEEDS = ("clicks", "first_click")


class HybridRefiner:
    """The classical click graph cut (:class:`~occseg.classical.GraphCutPredictor`: colour models
    from the clicks, contrast n-links, hard click constraints) with the network's probability as
    one more data term of weight ``weight`` (issue 4, item 7).

    With ``band`` the cut decides only the pixels within ``band`` pixels of the network's
    outline or of a click (:meth:`~occseg.classical.GraphCutPredictor.predict_with_prior`);
    with ``max_side`` it cuts the image shrunk to at most that many pixels long
    (:class:`~occseg.predict.transforms.LimitLongestSide`, the network's probability shrunk
    with it) and the result comes back bilinearly resized. With ``coarse_side`` and ``band``
    the cut runs twice, as the multilevel banded graph cut of Lombaert et al. (ICCV 2005): on
    the image shrunk to at most ``coarse_side`` pixels long, then at full resolution on the
    pixels within ``band`` pixels of that coarse cut's outline or of a click, the others keeping
    the coarse label. The coarse cut can move the network's outline anywhere; the band puts the
    boundary back at full resolution.

    ``coarse_connectivity`` (4 or 8, default: the cut's ``connectivity``) is the neighbourhood of
    the coarse cut alone (without ``coarse_side`` there is none, and it is not used). A
    4-neighbourhood has half the n-links; to measure the same Euclidean boundary length as the
    8-neighbourhood its weights are doubled (the Cauchy–Crofton weights ``w_k = δ² Δφ_k / 2|e_k|``
    of Boykov & Kolmogorov, ICCV 2003, with ``Δφ_k`` π/2 instead of π/4), so both levels
    approximate one energy. The full-resolution band keeps the cut's own neighbourhood.

    ``colour_seeds`` says where the cut's colour models come from: ``"clicks"`` (Boykov–Jolly:
    disks around the clicks, the image border for the background) or ``"first_click"`` (ours: at
    the first click also the network's mask ``prob > 0.5`` for the object and its complement
    for the background, as GrabCut fits its models on a first labelling; from the second click
    on, the clicks alone). With one click inside an object of several colours, the click's disk
    sees one colour of it, and the cut shrinks the object to that colour whatever the network
    says; the network's mask sees them all. (Seeding from the network's mask at every click lost
    a click or more at NoC@90 on COCO-MVal dev; see the README.)
    """

    def __init__(
        self,
        weight: float = 1.0,
        band: int | None = None,
        max_side: int | None = None,
        colour_seeds: str = "clicks",
        coarse_side: int | None = None,
        coarse_connectivity: int | None = None,
        **graphcut: Any,
    ) -> None:
        from occseg.classical import GraphCutPredictor

        if band is not None and int(band) < 1:
            raise ConfigError(f"band must be at least 1 pixel (None: the whole image), got {band}")
        if coarse_side is not None and (band is None or max_side is not None):
            raise ConfigError(
                "coarse_side needs band (the full-resolution band around the coarse cut) and "
                "replaces max_side; give coarse_side and band only"
            )
        if colour_seeds not in COLOUR_SEEDS:
            raise ConfigError(
                f"colour_seeds must be one of {', '.join(COLOUR_SEEDS)}, got {colour_seeds!r}"
            )
        if colour_seeds == "first_click" and graphcut.get("prev_colour"):
            raise ConfigError("colour_seeds='first_click' replaces prev_colour; leave it out")
        self.weight = float(weight)
        self.band = None if band is None else int(band)
        self.limit = None if max_side is None else LimitLongestSide(max_side)
        self.coarse = None if coarse_side is None else LimitLongestSide(coarse_side)
        self.colour_seeds = colour_seeds
        if colour_seeds == "first_click":  # the network's mask is the cut's "previous mask"
            graphcut["prev_colour"] = True
        self.cut = GraphCutPredictor(**graphcut)
        self.coarse_cut = GraphCutPredictor(**coarse_options(graphcut, coarse_connectivity))

    def set_image(self, image: np.ndarray) -> None:
        """The cuts' per-image work before the first click, as an encoder's: colour space,
        histograms and n-links at each level, and the coarse cut's graph (or the whole-image
        cut's). ``image`` must be the object later passed to the calls, or it is redone there."""
        view = View(image, (), None)
        if self.limit is not None:
            (view,), _ = self.limit.apply(view)
        self.cut.set_image(view.image)
        if self.coarse is not None:
            (small,), _ = self.coarse.apply(view)
            self.coarse_cut.set_image(small.image)
            self.coarse_cut.prepare_grid()
        elif self.band is None:
            self.cut.prepare_grid()

    def __call__(self, image: np.ndarray, prob: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
        view, inverse = View(image, tuple(clicks), prob), None
        if self.limit is not None:  # the probability rides in the view's prev_prob slot
            (view,), inverse = self.limit.apply(view)
        if self.coarse is None:
            out = self._cut(self.cut, view, self.band)
            return out if inverse is None else inverse([out])
        (small,), upsample = self.coarse.apply(view)
        coarse = upsample([self._cut(self.coarse_cut, small, None)])
        return self._cut(self.cut, view, self.band, band_around=coarse)

    def _cut(
        self,
        cut: GraphCutPredictor,
        view: View,
        band: int | None,
        band_around: np.ndarray | None = None,
    ) -> np.ndarray:
        """``cut`` on the view, the network's probability in its ``prev_prob`` slot."""
        if cut.image is not view.image:  # colour space and n-links once per image
            cut.set_image(view.image)
        assert view.prev_prob is not None
        first = self.colour_seeds == "first_click" and len(view.clicks) == 1
        seeds = view.prev_prob if first else None
        return cut.predict_with_prior(
            list(view.clicks),
            view.prev_prob,
            self.weight,
            prev_prob=seeds,
            band=band,
            band_around=band_around,
        )


def coarse_options(graphcut: dict[str, Any], connectivity: int | None) -> dict[str, Any]:
    """The options of :class:`HybridRefiner`'s coarse cut: ``graphcut`` with the neighbourhood
    ``connectivity`` (None: the same) and ``lam`` scaled so that its n-links measure the same
    Euclidean boundary length (the Cauchy–Crofton weights of Boykov & Kolmogorov, ICCV 2003: each
    direction's weight is proportional to the angle it covers, π/2 in a 4- and π/4 in an
    8-neighbourhood)."""
    from occseg.classical import GraphCutPredictor

    if connectivity is None:
        return graphcut
    if connectivity not in (4, 8):
        raise ConfigError(f"coarse_connectivity must be 4 or 8, got {connectivity!r}")
    defaults = GraphCutPredictor()
    if connectivity == graphcut.get("connectivity", defaults.connectivity):
        return graphcut
    lam = float(graphcut.get("lam", defaults.lam)) * (2.0 if connectivity == 4 else 0.5)
    return {**graphcut, "connectivity": connectivity, "lam": lam}


#: Refiners by name (``ClickNetPredictor(..., refine="graphcut")``).
REFINERS: dict[str, type] = {"graphcut": GraphCutRefiner, "hybrid": HybridRefiner}


def dither(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` (``H×W×3`` float) plus a fixed Gaussian pattern of standard deviation ``sigma``:
    the same pattern for every image of that size, so predictions stay deterministic."""
    pattern = np.random.default_rng(0).standard_normal(image.shape, np.float32)
    return image + sigma * pattern


class NetworkPredictor:
    """The bare network behind the ``Predictor`` protocol: the whole view, no checks.

    ``set_image`` takes the ``H×W×3`` image as ``float32`` in [0, 1] (or ``uint8``); clicks
    outside the view are left out of the input maps. :class:`ClickNetPredictor` dresses it with
    the test-time transforms and the input checks.

    An encode-once model (``fusion="late"``) encodes each image once, in :meth:`set_image`,
    and then runs only the decoder per click, with the full-resolution refinement in a window of
    ``refine_window`` pixels around the latest click. A model with ``input_dither`` sees the
    image plus a fixed Gaussian pattern of that many grey levels (:func:`dither`).
    """

    threshold = 0.49

    def __init__(self, model: ClickNet) -> None:
        self.model = model.eval()
        self.encoder = model.config.make_encoder()
        self._image: np.ndarray | None = None
        self._features: torch.Tensor | None = None

    @torch.inference_mode()
    def set_image(self, image: np.ndarray) -> None:
        """Hold ``image`` (``uint8`` is scaled to [0, 1]); an encode-once model encodes it."""
        self._image = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image
        if self.model.config.input_dither > 0:
            self._image = dither(self._image, self.model.config.input_dither / 255.0)
        self._features = None
        if self.model.encodes_once:
            self._features = self.model.encode(self._tensor())

    def _tensor(self) -> torch.Tensor:
        assert self._image is not None
        return torch.from_numpy(np.ascontiguousarray(self._image.transpose(2, 0, 1)))[None]

    @torch.inference_mode()
    def predict(self, clicks: Sequence[Click], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """The network's probability (``H×W float32``) for the clicks and previous probability."""
        if self._image is None:
            raise InteractionError("call set_image(image) before predict(clicks)")
        h, w = self._image.shape[:2]
        prev = np.zeros((h, w), np.float32) if prev_prob is None else prev_prob
        maps = self.encoder.encode(list(clicks), (h, w))
        x = self._tensor()
        m = torch.from_numpy(maps)[None]
        p = torch.from_numpy(np.ascontiguousarray(prev, np.float32))[None, None]
        if self._features is None:
            return torch.sigmoid(self.model(x, m, p))[0, 0].numpy()
        latest = clicks[-1] if clicks else Click(h // 2, w // 2, True)
        size = self.model.config.refine_window
        window = click_window((h, w), (latest.y, latest.x), size)
        return torch.sigmoid(self.model.decode(self._features, x, m, p, window))[0, 0].numpy()


class ClickNetPredictor:
    """Click predictor over a trained :class:`~occseg.nn.ClickNet`.

    The network wears the test-time transforms of :mod:`occseg.predict.transforms`
    (:class:`~occseg.predict.transforms.ZoomIn`, then :class:`~occseg.predict.transforms.Flip`)
    on the image as floats; to bound the image size, wrap the predictor:
    ``with_transforms(ClickNetPredictor(...), [LimitLongestSide(1280)])``.

    Parameters
    ----------
    model
        A model, or the path of a checkpoint (see :mod:`occseg.checkpoint`).
    zoom_in
        :class:`~occseg.predict.transforms.ZoomIn` parameters, True for the defaults, False to
        always use the full image.
    flip
        Average with the horizontally flipped prediction.
    refine
        Optional :class:`Refiner` (or a name in :data:`REFINERS`, e.g. ``"graphcut"``) applied
        to the network's probability on the whole image (0.5 outside the zoom-in crop).
    refine_options
        Keyword arguments of a refiner given by name, e.g. ``{"weight": 0.5}`` for ``"hybrid"``.
    max_side
        If set, the network sees the image with its longest side at most this long
        (:class:`~occseg.predict.transforms.LimitLongestSide`, inside the zoom-in: on the whole
        image before the zoom starts and on each crop after); the probability comes back at full
        size, where the refiner works. A model trained on small
        crops sees large objects at the scale it learned.
    coarse_clicks
        With ``max_side``: shrink only for the first ``coarse_clicks`` clicks, then run at full
        resolution from the previous probability (the click that switches encodes the image
        once more).
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

    #: The mask is ``prob > threshold`` (RITM's evaluation threshold).
    threshold = 0.49

    def __init__(
        self,
        model: ClickNet | str | os.PathLike,
        *,
        zoom_in: ZoomIn | bool = True,
        flip: bool = True,
        refine: Refiner | str | None = None,
        refine_options: dict[str, Any] | None = None,
        threads: int | None = None,
        max_side: int | None = None,
        coarse_clicks: int | None = None,
    ) -> None:
        if threads is not None:
            torch.set_num_threads(int(threads))
        if not isinstance(zoom_in, bool | ZoomIn):
            raise ConfigError(f"zoom_in must be true, false or a ZoomIn, got {zoom_in!r}")
        if coarse_clicks is not None and int(coarse_clicks) < 1:
            raise ConfigError(f"coarse_clicks must be at least 1, got {coarse_clicks}")
        if not isinstance(model, ClickNet):
            from occseg.checkpoint import load_clicknet

            model = load_clicknet(model)
        self.model = model.eval()
        if isinstance(refine, str):
            if refine not in REFINERS:
                raise ConfigError(f"unknown refiner {refine!r}; choose one of {sorted(REFINERS)}")
            try:
                self.refine: Refiner | None = REFINERS[refine](**(refine_options or {}))
            except TypeError as exc:
                raise ConfigError(f"bad options for refiner {refine!r}: {exc}") from None
        else:
            self.refine = refine
        zoom = ZoomIn() if zoom_in is True else (zoom_in or None)
        transforms: list[Transform] = []
        if zoom is not None:
            # a copy: the crop is this predictor's state; a refiner sees "no idea" outside it
            transforms.append(replace(zoom, fill=0.5) if refine is not None else replace(zoom))
        if max_side is not None:  # inside the zoom-in: the whole image and each crop
            transforms.append(LimitLongestSide(max_side, coarse_clicks))
        if flip:
            transforms.append(Flip())
        self.network = with_transforms(NetworkPredictor(self.model), transforms)
        self._image_u8: np.ndarray | None = None

    @property
    def zoom(self) -> ZoomIn | None:
        """The zoom-in transform (None when off)."""
        return next((t for t in self.network.transforms if isinstance(t, ZoomIn)), None)

    @property
    def flip(self) -> bool:
        """Whether predictions are flip-averaged."""
        return any(isinstance(t, Flip) for t in self.network.transforms)

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``H×W×3 uint8`` image (resets the zoom-in crop)."""
        self._image_u8 = check_image(image).copy()  # a new object per image (refiner caches)
        self.network.set_image(self._image_u8.astype(np.float32) / 255.0)
        prepare = getattr(self.refine, "set_image", None)
        if prepare is not None:  # e.g. the cut's graph, before the first click
            prepare(self._image_u8)

    def predict(self, clicks: Sequence[Click], prev_prob: np.ndarray | None = None) -> np.ndarray:
        """Object probability (``H×W float32``) for all clicks so far (see the module doc).

        Raises
        ------
        InteractionError
            Before :meth:`set_image`, without clicks, for a click outside the image or a
            ``prev_prob`` of another shape than the image.
        """
        if self._image_u8 is None:
            raise InteractionError("call set_image(image) before predict(clicks)")
        if not clicks:
            raise InteractionError("predict needs at least one click")
        prob = self.network.predict(clicks, prev_prob)  # checks the clicks and prev_prob
        if self.refine is not None:
            # on the whole image: the cut sees objects the zoom-in crop cut off
            return np.asarray(self.refine(self._image_u8, prob, list(clicks)), np.float32)
        return np.ascontiguousarray(prob, np.float32)

    def get_state(self) -> Any:
        """The zoom-in crop of the current object (see :class:`~occseg.predict.session.Session`)."""
        return self.network.get_state()

    def set_state(self, state: Any) -> None:
        """Restore a state returned by :meth:`get_state`."""
        self.network.set_state(state)

    def __repr__(self) -> str:
        cfg: Any = self.model.config
        return (
            f"ClickNetPredictor(backbone={cfg.backbone!r}, width_mult={cfg.width_mult}, "
            f"zoom_in={self.zoom is not None}, flip={self.flip})"
        )
