"""ONNX serialisation of the click model (bytes; writing files is :mod:`occseg.predict.onnx`).

The exported graph takes ``image`` (``B×3×H×W`` float in [0, 1]), ``maps`` (``B×C×H×W``) and
``prev`` (``B×1×H×W``) and returns ``logits`` (``B×1×H×W``); with ``dynamic=True`` batch, height
and width are free. Needs the optional ``onnx`` and ``onnxruntime`` packages (``occseg[export]``).
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from occseg.nn.clicknet import ClickNet


class _LogitsOnly(nn.Module):
    def __init__(self, model: ClickNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return self.model.forward_with_aux(image, maps, prev)[0]


def example_inputs(
    model: ClickNet, height: int, width: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random ``(image, maps, prev)`` inputs of one ``height``×``width`` image for ``model``."""
    g = torch.Generator().manual_seed(seed)
    c = model.config.interaction_channels
    image = torch.rand(1, 3, height, width, generator=g)
    maps = (torch.rand(1, c, height, width, generator=g) > 0.98).float()
    prev = torch.rand(1, 1, height, width, generator=g)
    return image, maps, prev


def export_onnx_bytes(
    model: ClickNet, *, height: int = 320, width: int = 480, dynamic: bool = True, opset: int = 17
) -> bytes:
    """Serialise ``model`` (eval mode) to ONNX and return the bytes."""
    model = model.eval()
    buf = io.BytesIO()
    axes = {"image": {0: "batch", 2: "height", 3: "width"}}
    axes.update({k: {0: "batch", 2: "height", 3: "width"} for k in ("maps", "prev", "logits")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            _LogitsOnly(model),
            example_inputs(model, height, width),
            buf,  # type: ignore[arg-type]  # the exporter writes to file objects too
            input_names=["image", "maps", "prev"],
            output_names=["logits"],
            dynamic_axes=axes if dynamic else None,
            opset_version=opset,
            dynamo=False,
        )
    return buf.getvalue()
