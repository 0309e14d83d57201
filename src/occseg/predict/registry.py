"""``load_predictor(name_or_path)``: the one way to get a predictor.

Names map to factories; a path to a checkpoint file loads a learned model
(:class:`~occseg.predict.clicknet.ClickNetPredictor`, or
:class:`~occseg.predict.twoinone.TwoInOnePredictor` for a two-in-one checkpoint; the checkpoint
holds its model config).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from occseg.classical.graphcut import BOYKOV_JOLLY
from occseg.errors import ConfigError
from occseg.predict.shipped import MODELS_DIR, shipped_model
from occseg.predictor import Predictor


def _construct(cls: Callable[..., Predictor], *args: Any, **options: Any) -> Predictor:
    """``cls(*args, **options)``, with a :class:`ConfigError` naming the known options."""
    signature = inspect.signature(cls)
    try:
        signature.bind(*args, **options)
    except TypeError:
        known = list(signature.parameters)[len(args) :]
        unknown = sorted(set(options) - set(known)) or sorted(options)
        raise ConfigError(
            f"{getattr(cls, '__name__', cls)} does not take the option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(known)}"
        ) from None
    return cls(*args, **options)


def _classical(name: str, **preset: Any) -> Callable[..., Predictor]:
    def make(**kwargs: Any) -> Predictor:
        from occseg import classical

        return _construct(getattr(classical, name), **{**preset, **kwargs})

    return make


#: Where the shipped default click model lives inside the package.
DEFAULT_CLICKNET = MODELS_DIR / "clicknet-lite0.pt"


def _clicknet_from(path: Path, **kwargs: Any) -> Predictor:
    from occseg.predict.clicknet import ClickNetPredictor

    return _construct(ClickNetPredictor, path, **kwargs)


#: How ``load_predictor("clicknet")`` uses the shipped model, the encode-once EfficientNet-Lite0
#: model of ``configs/clicknet-lite0-late.yaml``, ``configs/clicknet-lite0-late-320.yaml`` then
#: ``configs/clicknet-lite0-dither.yaml`` (issue 13): the network sees the image at most 400 px
#: long (chosen among 320, 400 and full size on both development sets), and its probability is
#: one more data term of the plain click graph cut
#: (:class:`~occseg.predict.clicknet.HybridRefiner`), which beat the network alone on both sets
#: taken together (see the README). The cut is coarse to fine: on the image at most 400 px long,
#: then at full size within 8 px of that cut's outline (chosen among 320-400 px and 4-8 px on
#: both sets; 1.7× faster than the cut on the whole image, and better on both); the coarse cut
#: on a 4-neighbourhood, its n-links doubled to measure the same boundary length (twice as fast
#: again, half a click better on ``bsds500_objects`` at NoC@85, 0.1 worse on COCO). At the first
#: click the cut's colour models come from the network's mask, not from the click's disk alone,
#: so that one click on an object of several colours keeps them all. ``clicknet_lite0`` is the
#: network alone: 20× faster per click (0.01 s), 2-3 clicks behind on COCO-MVal dev.
DEFAULT_CLICKNET_OPTIONS: dict[str, Any] = {
    "refine": "hybrid",
    "refine_options": {
        "coarse_side": 400,
        "band": 8,
        "colour_seeds": "first_click",
        "coarse_connectivity": 4,
    },
    "zoom_in": False,
    "flip": False,
    "max_side": 400,
}


def default_options(refine_defaults: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """:data:`DEFAULT_CLICKNET_OPTIONS` with ``kwargs`` over them; ``refine_options`` are
    merged key by key into ``refine_defaults`` (default: those of
    :data:`DEFAULT_CLICKNET_OPTIONS`) while the refiner is the default's
    (``refine_options={"weight": 2}`` keeps the coarse-to-fine cut; ``{"coarse_side": None,
    "band": None}`` cuts the whole image)."""
    options = {**DEFAULT_CLICKNET_OPTIONS, **kwargs}
    same_refiner = options.get("refine") == DEFAULT_CLICKNET_OPTIONS["refine"]
    if refine_defaults is None:
        refine_defaults = DEFAULT_CLICKNET_OPTIONS["refine_options"]
    base = refine_defaults if same_refiner else {}
    options["refine_options"] = {**base, **(kwargs.get("refine_options") or {})}
    return options


def _default_clicknet(**kwargs: Any) -> Predictor:
    path = shipped_model(
        DEFAULT_CLICKNET,
        "default click model",
        "train one with `occseg train clicks --config configs/clicknet-lite0-late.yaml` and "
        "pass the path of its checkpoint instead of 'clicknet'",
    )
    return _clicknet_from(path, **default_options(**kwargs))


def _clicknet_lite0(**kwargs: Any) -> Predictor:
    return _default_clicknet(**{"refine": None, **kwargs})


#: Where the shipped Two-in-One model (paper ``002``) lives inside the package.
DEFAULT_TWOINONE = MODELS_DIR / "twoinone.pt"


def _twoinone_from(path: Path, max_side: int | None = None, **kwargs: Any) -> Predictor:
    """A :class:`~occseg.predict.twoinone.TwoInOnePredictor`; with ``max_side`` it sees the image
    at most that many pixels long (:class:`~occseg.predict.transforms.LimitLongestSide`)."""
    from occseg.predict.transforms import LimitLongestSide, with_transforms
    from occseg.predict.twoinone import TwoInOnePredictor

    predictor = _construct(TwoInOnePredictor, path, **kwargs)
    return (
        predictor if max_side is None else with_transforms(predictor, [LimitLongestSide(max_side)])
    )


def _default_twoinone(**kwargs: Any) -> Predictor:
    path = shipped_model(
        DEFAULT_TWOINONE,
        "default two-in-one model",
        "train one with `occseg train twoinone --config configs/twoinone-lite0.yaml`, then "
        "`--config configs/twoinone-lite0-refine.yaml`, and pass the path of its model.pt "
        "instead of 'twoinone'",
    )
    return _twoinone_from(path, **kwargs)


#: Where the shipped mask-free click model (MIS, paper ``004``) lives inside the package. Like
#: ``clicknet``, ``mis`` is the network's probability as one more data term of the plain graph
#: cut (nothing in the cut was trained on masks either): on both development sets that beat the
#: network alone and the graph cut alone (see the README); ``refine=None`` is the network alone.
DEFAULT_MIS = MODELS_DIR / "mis.pt"


def _default_mis(**kwargs: Any) -> Predictor:
    path = shipped_model(
        DEFAULT_MIS,
        "mask-free click model",
        "train one with `occseg train clicks --config configs/mis-lite0-late.yaml` and pass the "
        "path of its model.pt instead of 'mis'",
    )
    # the cut's colour models from the clicks: this network's first mask is too rough to seed them
    own_cut = {**DEFAULT_CLICKNET_OPTIONS["refine_options"], "colour_seeds": "clicks"}
    return _clicknet_from(path, **default_options(own_cut, **kwargs))


_FACTORIES: dict[str, Callable[..., Predictor]] = {
    "clicknet": _default_clicknet,
    "clicknet_lite0": _clicknet_lite0,
    "graphcut": _classical("GraphCutPredictor"),
    "boykov_jolly": _classical("GraphCutPredictor", **BOYKOV_JOLLY),
    "grabcut": _classical("GrabCutPredictor"),
    "random_walker": _classical("RandomWalkerPredictor"),
    "geodesic": _classical("GeodesicPredictor"),
    "twoinone": _default_twoinone,
    "mis": _default_mis,
}


def available_methods() -> list[str]:
    """Names accepted by :func:`load_predictor`."""
    return sorted(_FACTORIES)


def load_predictor(name_or_path: str, **kwargs: Any) -> Predictor:
    """Return a fresh predictor by method name (see :func:`available_methods`) or checkpoint path.

    Raises
    ------
    ConfigError
        If the name is unknown and no such file exists, or "clicknet" is asked for before the
        default model is installed.
    FileFormatError
        If the path is not an occseg click-model checkpoint.
    """
    factory = _FACTORIES.get(name_or_path.lower().replace("-", "_"))
    if factory is not None:
        return factory(**kwargs)
    if Path(name_or_path).is_file():
        from occseg.checkpoint import TWOINONE_FORMAT, checkpoint_format

        if checkpoint_format(name_or_path) == TWOINONE_FORMAT:
            return _twoinone_from(Path(name_or_path), **kwargs)
        return _clicknet_from(Path(name_or_path), **kwargs)
    raise ConfigError(
        f"unknown method {name_or_path!r}; choose one of: {', '.join(available_methods())}"
        " (or give the path of a checkpoint file)"
    )
