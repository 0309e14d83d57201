"""Stage 1 of OOSIS with a trained :class:`~occseg.nn.ordernet.OrderNet` (paper 001, Sec. 3.1).

:class:`OrderNetPredictor` turns an RGB image into the semantic, boundary and orientation
probabilities (:class:`occseg.occlusion.pipeline.OrderMaps`) that
:func:`occseg.occlusion.pipeline.order_maps` labels. :func:`load_order_model` loads a checkpoint
of ``occseg train order``, by default the shipped one (:data:`DEFAULT_ORDERNET`, also named
``"ordernet"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from occseg.errors import ConfigError
from occseg.nn.ordernet import OrderNet
from occseg.occlusion.pipeline import OrderMaps
from occseg.predict.shipped import MODELS_DIR, shipped_model

__all__ = [
    "DEFAULT_ORDERNET",
    "DEFAULT_ORDER_NAME",
    "OrderNetPredictor",
    "default_order_model",
    "load_order_model",
    "order_model_path",
]

#: The shipped occlusion-order model: a checkpoint of ``occseg train order --config
#: configs/ordernet-lite0.yaml`` with half-precision weights.
DEFAULT_ORDERNET = MODELS_DIR / "ordernet.pt"
#: The name that stands for the shipped order model (``occseg eval order --model ordernet``).
DEFAULT_ORDER_NAME = "ordernet"


def default_order_model() -> Path:
    """The shipped occlusion-order model's checkpoint (:data:`DEFAULT_ORDERNET`).

    Raises
    ------
    ConfigError
        If it is not installed (the message names the training command).
    """
    return shipped_model(
        DEFAULT_ORDERNET,
        "default occlusion-order model",
        "train one with `occseg train order --config configs/ordernet-lite0.yaml` and pass "
        "the path of its model.pt",
    )


def order_model_path(model: str | os.PathLike | None = None) -> Path:
    """The checkpoint that ``model`` names: the shipped one for None or ``"ordernet"``
    (:func:`default_order_model`; the name wins over a file called so), else the path itself.

    Raises
    ------
    ConfigError
        If the shipped model is not installed, or the path is not a file.
    """
    if model is None or str(model) == DEFAULT_ORDER_NAME:
        return default_order_model()
    path = Path(model)
    if not path.is_file():
        raise ConfigError(
            f"order model {path} does not exist; give the model.pt written by "
            f"`occseg train order` or '{DEFAULT_ORDER_NAME}' (the shipped model)"
        )
    return path


class OrderNetPredictor:
    """``predict_maps(image)``: softmax ``s``, sigmoid ``b``, softmax ``e`` at the image size."""

    def __init__(self, model: OrderNet) -> None:
        self.model = model.eval()
        self.class_names = tuple(model.config.class_names)

    @torch.no_grad()
    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        """Maps of one ``H×W×3 uint8`` RGB image."""
        from occseg.errors import ImageReadError

        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ImageReadError(f"expected an H×W×3 uint8 RGB image, got {img.shape} {img.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None] / 255.0
        out = self.model(x)

        def hwc(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t[0].permute(1, 2, 0).numpy(), np.float32)

        return OrderMaps(
            semantic=hwc(torch.softmax(out.s, 1)),
            boundary=torch.sigmoid(out.b)[0, 0].numpy().astype(np.float32),
            orientation=hwc(torch.softmax(out.e, 1)),
            class_names=self.class_names,
        )


def load_order_model(model: str | os.PathLike | None = None) -> OrderNetPredictor:
    """A predictor from a checkpoint written by ``occseg train order`` (half-precision weights
    are cast back to float32), named as :func:`order_model_path` reads it: by default the
    shipped model.

    Raises
    ------
    ConfigError
        If there is no such checkpoint (:func:`order_model_path`).
    FileFormatError
        If the file is not an order-model checkpoint.
    """
    from occseg.checkpoint import load_ordernet

    return OrderNetPredictor(load_ordernet(order_model_path(model)))
