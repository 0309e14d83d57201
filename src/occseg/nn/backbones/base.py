"""The interface every segmentation body (backbone + neck) offers to the interactive models."""

from __future__ import annotations

import torch
from torch import nn


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
