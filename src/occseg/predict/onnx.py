"""Export the click model to ONNX files, and check ONNX Runtime against torch.

The graphs are built by :mod:`occseg.nn.export`: one file for an early-fusion model, an
``-encoder`` / ``-decoder`` pair for an encode-once model. Needs the optional ``onnx`` and
``onnxruntime`` packages (``occseg[export]``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from occseg.errors import ConfigError
from occseg.io import atomic_write_bytes
from occseg.nn.clicknet import ClickNet
from occseg.nn.export import example_inputs, export_onnx_bytes, export_onnx_parts

Graph = str | os.PathLike | bytes


def onnx_files(model: ClickNet, path: str | os.PathLike) -> list[Path]:
    """The files :func:`export_onnx` writes for ``model`` at ``path``: ``path`` itself, or for
    an encode-once model ``<stem>-encoder.onnx`` and ``<stem>-decoder.onnx`` beside it."""
    path = Path(path)
    if not model.encodes_once:
        return [path]
    return [path.with_name(f"{path.stem}-{part}{path.suffix}") for part in ("encoder", "decoder")]


def export_onnx(
    model: ClickNet,
    path: str | os.PathLike,
    *,
    height: int = 320,
    width: int = 480,
    dynamic: bool = True,
) -> list[Path]:
    """Export ``model`` to ONNX (files of :func:`onnx_files`, written atomically); returns them."""
    graphs: tuple[bytes, ...]
    if model.encodes_once:
        graphs = export_onnx_parts(model, height=height, width=width, dynamic=dynamic)
    else:
        graphs = (export_onnx_bytes(model, height=height, width=width, dynamic=dynamic),)
    files = onnx_files(model, path)
    for file, graph in zip(files, graphs, strict=True):
        atomic_write_bytes(file, graph)
    return files


def check_onnx(
    model: ClickNet,
    graphs: Graph | Sequence[Graph],
    *,
    height: int = 320,
    width: int = 480,
    seed: int = 1,
) -> float:
    """Max absolute difference of logits between ONNX Runtime and torch on a random input.

    ``graphs`` is the one graph of an early-fusion model, or the ``(encoder, decoder)`` pair of
    an encode-once model (files or bytes); the pair is run chained, as an application would.

    Raises
    ------
    ConfigError
        If ``onnxruntime`` is not installed.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ConfigError("onnxruntime is not installed: pip install 'occseg[export]'") from None
    parts = [graphs] if isinstance(graphs, str | bytes | os.PathLike) else list(graphs)
    sessions = [
        ort.InferenceSession(
            g if isinstance(g, bytes) else str(g), providers=["CPUExecutionProvider"]
        )
        for g in parts
    ]
    image, maps, prev = (t.numpy() for t in example_inputs(model, height, width, seed))
    if len(sessions) == 1:
        (got,) = sessions[0].run(["logits"], {"image": image, "maps": maps, "prev": prev})
    else:
        encoder, decoder = sessions
        (features,) = encoder.run(["features"], {"image": image})
        feeds = {"features": features, "image": image, "maps": maps, "prev": prev}
        (got,) = decoder.run(["logits"], feeds)
    with torch.inference_mode():
        tensors = (torch.from_numpy(a) for a in (image, maps, prev))
        want = model.eval()(*tensors).numpy()
    return float(np.abs(got - want).max())
