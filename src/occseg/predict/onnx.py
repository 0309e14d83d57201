"""Export the click model to an ONNX file, and check ONNX Runtime against torch.

The graph itself is built by :func:`occseg.nn.export.export_onnx_bytes`. Needs the optional
``onnx`` and ``onnxruntime`` packages (``occseg[export]``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from occseg.errors import ConfigError
from occseg.io import atomic_write_bytes
from occseg.nn.clicknet import ClickNet
from occseg.nn.export import example_inputs, export_onnx_bytes


def export_onnx(
    model: ClickNet,
    path: str | os.PathLike,
    *,
    height: int = 320,
    width: int = 480,
    dynamic: bool = True,
) -> None:
    """Export ``model`` to an ONNX file at ``path`` (written atomically)."""
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
    image, maps, prev = example_inputs(model, height, width, seed)
    feeds = {"image": image.numpy(), "maps": maps.numpy(), "prev": prev.numpy()}
    (got,) = session.run(["logits"], feeds)
    with torch.inference_mode():
        want = model.eval()(image, maps, prev).numpy()
    return float(np.abs(got - want).max())
