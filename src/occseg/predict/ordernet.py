"""Stage 1 of OOSIS with a trained :class:`~occseg.nn.ordernet.OrderNet` (paper 001, Sec. 3.1).

:class:`OrderNetPredictor` turns an RGB image into the semantic, boundary and orientation
probabilities (:class:`occseg.occlusion.pipeline.OrderMaps`) that
:func:`occseg.occlusion.pipeline.order_maps` labels.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from occseg.nn.ordernet import OrderNet
from occseg.occlusion.pipeline import OrderMaps

__all__ = ["OrderNetPredictor", "load_order_model"]


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


def load_order_model(path: str | os.PathLike) -> OrderNetPredictor:
    """A predictor from a checkpoint written by ``occseg train order``."""
    from occseg.checkpoint import load_ordernet

    return OrderNetPredictor(load_ordernet(path))
