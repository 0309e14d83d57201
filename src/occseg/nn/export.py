"""ONNX serialisation of the click model (bytes; writing files is :mod:`occseg.predict.onnx`).

The exported graph takes ``image`` (``B×3×H×W`` float in [0, 1]), ``maps`` (``B×C×H×W``) and
``prev`` (``B×1×H×W``) and returns ``logits`` (``B×1×H×W``); with ``dynamic=True`` batch, height
and width are free. An encode-once model (``fusion="late"``) exports as two graphs
(:func:`export_onnx_parts`): the encoder ``image -> features`` and the decoder
``(features, image, maps, prev) -> logits`` (refining the whole image). Needs the optional
``onnx`` and ``onnxruntime`` packages (``occseg[export]``).
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from occseg.nn.clicknet import ClickNet


class _Encoder(nn.Module):
    def __init__(self, model: ClickNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.encode(image)


class _Decoder(nn.Module):
    def __init__(self, model: ClickNet) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, features: torch.Tensor, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor
    ) -> torch.Tensor:
        return self.model.decode(features, image, maps, prev)


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


def _to_onnx(
    module: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    names: tuple[list[str], list[str]],
    dynamic: bool,
    opset: int,
) -> bytes:
    """One ``torch.onnx.export`` into memory; every named tensor has free batch/height/width."""
    buf = io.BytesIO()
    axes = {k: {0: "batch", 2: "height", 3: "width"} for k in names[0] + names[1]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            inputs,
            buf,  # type: ignore[arg-type]  # the exporter writes to file objects too
            input_names=names[0],
            output_names=names[1],
            dynamic_axes=axes if dynamic else None,
            opset_version=opset,
            dynamo=False,
        )
    return buf.getvalue()


def export_onnx_bytes(
    model: ClickNet, *, height: int = 320, width: int = 480, dynamic: bool = True, opset: int = 17
) -> bytes:
    """Serialise ``model`` (eval mode) to one ONNX graph and return the bytes."""
    model = model.eval()
    names = (["image", "maps", "prev"], ["logits"])
    return _to_onnx(_LogitsOnly(model), example_inputs(model, height, width), names, dynamic, opset)


def export_onnx_parts(
    model: ClickNet, *, height: int = 320, width: int = 480, dynamic: bool = True, opset: int = 17
) -> tuple[bytes, bytes]:
    """Serialise an encode-once model as ``(encoder, decoder)`` ONNX graphs.

    Raises
    ------
    ValueError
        If the model does not encode once (``fusion`` is not ``"late"``).
    """
    model = model.eval()
    if not model.encodes_once:
        raise ValueError(f"fusion {model.config.fusion!r} exports as one graph (export_onnx_bytes)")
    image, maps, prev = example_inputs(model, height, width)
    with torch.no_grad():
        features = model.encode(image)
    encoder = _to_onnx(_Encoder(model), (image,), (["image"], ["features"]), dynamic, opset)
    names = (["features", "image", "maps", "prev"], ["logits"])
    decoder = _to_onnx(_Decoder(model), (features, image, maps, prev), names, dynamic, opset)
    return encoder, decoder
