"""The occlusion-boundary map of one image (``occseg boundaries IMAGE``), with the shipped model.

:func:`boundary_map` runs an OB model (:class:`~occseg.predict.boundaries.OBPredictor`) on an
image, automatically or refined by FN/FP scribbles, optionally as the final binary output;
:func:`write_boundary_map` saves it as an 8-bit PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from occseg.errors import ConfigError
from occseg.predict.shipped import MODELS_DIR, shipped_model
from occseg.types import Scribble

__all__ = [
    "DEFAULT_OBNET",
    "DEFAULT_OB_NAME",
    "boundary_map",
    "default_ob_model",
    "write_boundary_map",
]

#: The shipped OB model: DNMMSI on an ImageNet EfficientNet-Lite0 trunk trained on synthetic
#: scenes and BSDS500 train+val boundaries (``configs/obnet-lite0-w48.yaml``, decoder widths
#: 48 / 24, 800 steps, then ``configs/obnet-lite0-w48-more.yaml``, 480 more; half-precision
#: weights; README "Interactive occlusion boundaries").
DEFAULT_OBNET = MODELS_DIR / "obnet.pt"
#: The name that stands for the shipped OB model (``occseg eval boundaries --method obnet``).
DEFAULT_OB_NAME = "obnet"


def default_ob_model() -> Path:
    """The shipped OB model's checkpoint (:data:`DEFAULT_OBNET`).

    Raises
    ------
    ConfigError
        If it is not installed (the message names the training command).
    """
    return shipped_model(
        DEFAULT_OBNET,
        "default occlusion-boundary model",
        "train one with `occseg train boundaries --config configs/obnet-lite0-w48.yaml` and pass "
        "the path of its model.pt",
    )


def boundary_map(
    image: NDArray[np.uint8],
    *,
    model: str | os.PathLike | None = None,
    scribbles: Sequence[Scribble] = (),
    threshold: float | None = None,
    flip: bool = False,
    max_side: int | None = None,
) -> NDArray[np.float32]:
    """The OB probability map of an ``H×W×3 uint8`` RGB image (paper 000).

    ``model`` is an OB checkpoint (default: :func:`default_ob_model`). Without ``scribbles`` the
    map is the automatic one; with them it is refined in a second step. With ``threshold`` the
    result is the final binary output (edge NMS, then ``>= threshold``; the paper uses 0.7).
    ``flip`` averages the maps with those of the mirrored inputs (twice the time). With
    ``max_side`` the network sees the image at most that many pixels long, as in the app
    (:class:`~occseg.predict.transforms.NetworkView`, scribbles mapped to its pixels), and the
    map comes back at the image's size.

    Raises
    ------
    ConfigError
        If ``threshold`` is not in (0, 1) or no model is given and none is installed.
    InteractionError
        If a scribble point lies outside the image.
    """
    from occseg.predict.boundaries import OBPredictor, previous_output
    from occseg.predict.transforms import NetworkView

    if threshold is not None and not 0 < threshold < 1:
        raise ConfigError(f"--threshold must be in (0, 1), got {threshold}")
    predictor = OBPredictor(model if model is not None else default_ob_model(), flip=flip)
    view = NetworkView(image, max_side)
    mapped = [Scribble(view.points(s.points), s.kind) for s in scribbles]
    predictor.set_image(view.image)
    prob = view.to_image(predictor.predict(mapped))
    if threshold is not None:
        prob = previous_output(prob, threshold, binary=True)
    return prob


def write_boundary_map(path: str | os.PathLike, prob: NDArray[np.floating]) -> None:
    """Save a map with values in ``[0, 1]`` as an 8-bit grey PNG (0-255)."""
    from occseg.io import write_png

    write_png(path, np.round(np.asarray(prob) * 255).astype(np.uint8))
