"""ONNX export of the click model, and a check of ONNX Runtime against torch.

The exported graph takes ``image`` (``B×3×H×W`` float in [0, 1]), ``maps`` (``B×C×H×W``) and
``prev`` (``B×1×H×W``) and returns ``logits`` (``B×1×H×W``); with ``dynamic=True`` batch, height
and width are free. Needs the optional ``onnx`` and ``onnxruntime`` packages (``occseg[export]``).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from occseg.errors import ConfigError
from occseg.nn.clicknet import ClickNet


class _LogitsOnly(nn.Module):
    def __init__(self, model: ClickNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return self.model.forward_with_aux(image, maps, prev)[0]


def _example(model: ClickNet, height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
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
            _example(model, height, width),
            buf,
            input_names=["image", "maps", "prev"],
            output_names=["logits"],
            dynamic_axes=axes if dynamic else None,
            opset_version=opset,
            dynamo=False,
        )
    return buf.getvalue()


def export_onnx(
    model: ClickNet,
    path: str | os.PathLike,
    *,
    height: int = 320,
    width: int = 480,
    dynamic: bool = True,
) -> None:
    """Export ``model`` to an ONNX file at ``path`` (written atomically)."""
    from occseg.io import atomic_write_bytes

    atomic_write_bytes(path, export_onnx_bytes(model, height=height, width=width, dynamic=dynamic))


def check_onnx(
    model: ClickNet,
    onnx_model: str | os.PathLike | bytes,
    *,
    height: int = 320,
    width: int = 480,
    seed: int = 1,
) -> float:
    """Max absolute difference of logits between ONNX Runtime and torch on a random input.

    Raises
    ------
    ConfigError
        If ``onnxruntime`` is not installed.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("onnxruntime is not installed: pip install 'occseg[export]'") from None
    source = onnx_model if isinstance(onnx_model, bytes) else str(Path(onnx_model))
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    image, maps, prev = _example(model, height, width, seed)
    feeds = {"image": image.numpy(), "maps": maps.numpy(), "prev": prev.numpy()}
    (got,) = session.run(["logits"], feeds)
    with torch.inference_mode():
        want = model.eval()(image, maps, prev).numpy()
    return float(np.abs(got - want).max())
