"""The interface every segmentation body (backbone + neck) offers to the interactive models."""

from __future__ import annotations

import torch
from torch import nn

#: ImageNet channel statistics of RGB in [0, 1] (the normalisation of ImageNet-trained backbones).
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


class ImageNormalize(nn.Module):
    """``(image - mean) / std`` per channel for ``B×3×H×W`` RGB in [0, 1] (no learned weights)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        mean: tuple[float, float, float] = IMAGE_MEAN,
        std: tuple[float, float, float] = IMAGE_STD,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (image - self.mean) / self.std


class SegmentationBody(nn.Module):
    """A backbone with its neck: image → features at 1/4 of the input resolution.

    Attributes
    ----------
    in_channels
        Channels of the input the first convolution takes (3, or ``3 + C`` for Conv1E).
    stem_channels
        Channels of the first convolution block's output (stride 2). A Conv1S block
        (RITM, Sec. 3.1) must output exactly this many channels; see :meth:`forward`.
    out_channels
        Channels of the returned feature map.

    ``forward(x, stem_extra=None)`` returns ``(features, aux_logits)``: features ``B×out×H/4×W/4``
    and, for bodies with an auxiliary head (HRNet+OCR), ``B×1×H/4×W/4`` logits, else None.
    ``stem_extra`` (``B×stem_channels×H/2×W/2``) is added to the first convolution block's
    output (Conv1S fusion).
    """

    in_channels: int
    stem_channels: int
    out_channels: int
    #: The input normalisation the backbone was pre-trained with (see :class:`ImageNormalize`).
    image_mean: tuple[float, float, float] = IMAGE_MEAN
    image_std: tuple[float, float, float] = IMAGE_STD

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the backbone proper (trained at a lower rate; RITM Sec. 5)."""
        return list(self.backbone.parameters())  # type: ignore[union-attr]

    def forward(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:  # pragma: no cover - interface
        raise NotImplementedError


def resize_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinearly resize ``x`` to the spatial size of ``ref``.

    Always calls ``interpolate`` (an identity at equal size) so that traced/ONNX graphs keep
    dynamic sizes instead of freezing a Python-level size comparison.
    """
    return nn.functional.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)
