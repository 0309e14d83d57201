"""HRNet (Wang et al., TPAMI 2020) with the OCR head (Yuan et al., ECCV 2020), as used by RITM.

RITM (Sec. 5, "Segmentation backbones") uses HRNet-W18-C-Small-v2, HRNet-W18-C and HRNet-W32-C
("HRNet-18s/18/32") and narrows the OCR module so that it outputs 48, 64 and 128 channels
respectively. Stage layouts (modules per stage 2-4, blocks per branch) follow the published
configurations: 18s = (1, 3, 2) modules with 2 blocks, 18/32 = (1, 4, 3) modules with 4 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from occseg.nn.backbones.base import SegmentationBody, resize_to
from occseg.nn.backbones.blocks import BasicBlock, Bottleneck, conv_bn_relu, make_stage, scaled


@dataclass(frozen=True)
class HRNetSpec:
    """One HRNet variant: base width, blocks per branch, modules in stages 2-4, OCR width."""

    width: int
    stage1_blocks: int
    blocks: int
    modules: tuple[int, int, int]
    ocr_width: int


HRNET_SPECS: dict[str, HRNetSpec] = {
    "hrnet18s": HRNetSpec(18, 2, 2, (1, 3, 2), 48),
    "hrnet18": HRNetSpec(18, 4, 4, (1, 4, 3), 64),
    "hrnet32": HRNetSpec(32, 4, 4, (1, 4, 3), 128),
}


class HighResolutionModule(nn.Module):
    """Parallel branches of basic blocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, channels: list[int], blocks: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(make_stage(BasicBlock, c, c, blocks) for c in channels)
        self.fuse = nn.ModuleList()
        for i, ci in enumerate(channels):
            row = nn.ModuleList()
            for j, cj in enumerate(channels):
                if j > i:  # lower resolution → 1×1 conv, upsampled in forward
                    row.append(conv_bn_relu(cj, ci, 1, relu=False))
                elif j == i:
                    row.append(nn.Identity())
                else:  # higher resolution → (i - j) stride-2 3×3 convs
                    steps = [conv_bn_relu(cj, cj, 3, 2) for _ in range(i - j - 1)]
                    steps.append(conv_bn_relu(cj, ci, 3, 2, relu=False))
                    row.append(nn.Sequential(*steps))
            self.fuse.append(row)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        out = []
        for i, row in enumerate(self.fuse):
            y = xs[i]
            for j, layer in enumerate(cast(nn.ModuleList, row)):
                if j != i:
                    y = y + resize_to(layer(xs[j]), xs[i])
            out.append(self.relu(y))
        return out


class HRNet(nn.Module):
    """The HRNet trunk; returns all branches concatenated at 1/4 resolution.

    Parameters
    ----------
    spec
        The variant (see :data:`HRNET_SPECS`).
    width_mult
        Multiplies every width (stem 64, stage-1 planes 64, branches ``width · 2^i``).
    in_channels
        Input channels of the first stem convolution.
    """

    def __init__(self, spec: HRNetSpec, width_mult: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        stem = scaled(64, width_mult)
        self.stem_channels = stem
        self.conv1 = conv_bn_relu(in_channels, stem, 3, 2)
        self.conv2 = conv_bn_relu(stem, stem, 3, 2)
        self.layer1 = make_stage(Bottleneck, stem, stem, spec.stage1_blocks)
        prev = [stem * Bottleneck.expansion]
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        for stage, n_modules in enumerate(spec.modules):
            channels = [scaled(spec.width * 2**i, width_mult) for i in range(stage + 2)]
            self.transitions.append(self._transition(prev, channels))
            self.stages.append(
                nn.Sequential(
                    *(HighResolutionModule(channels, spec.blocks) for _ in range(n_modules))
                )
            )
            prev = channels
        self.out_channels = sum(prev)
        self.level_channels = [stem, *prev]

    @staticmethod
    def _transition(prev: list[int], channels: list[int]) -> nn.ModuleList:
        layers = nn.ModuleList()
        for i, c in enumerate(channels):
            if i < len(prev):
                layers.append(nn.Identity() if prev[i] == c else conv_bn_relu(prev[i], c))
            else:  # a new, lower-resolution branch from the lowest existing one
                layers.append(conv_bn_relu(prev[-1], c, 3, 2))
        return layers

    def forward_levels(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Five feature levels: the first stem block (stride 2) and the four branches of the
        last stage (strides 4, 8, 16, 32). Channels are :attr:`level_channels`."""
        x = self.conv1(x)
        if stem_extra is not None:
            x = x + stem_extra
        xs = [self.layer1(self.conv2(x))]
        for transition, stage in zip(self.transitions, self.stages, strict=True):
            steps = cast(nn.ModuleList, transition)
            xs = [t(xs[min(i, len(xs) - 1)]) for i, t in enumerate(steps)]
            xs = stage(xs)
        return [x, *xs]

    def forward(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> torch.Tensor:
        """All branches concatenated at stride 4."""
        xs = self.forward_levels(x, stem_extra)[1:]
        return torch.cat([xs[0]] + [resize_to(x, xs[0]) for x in xs[1:]], dim=1)


def _conv_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(inplace=True))


class OCRHead(nn.Module):
    """Object-contextual representations (Yuan et al., ECCV 2020, Sec. 3.2-3.3).

    Soft object regions from an auxiliary head weight the pixel features into one
    representation per region (spatial gather); each pixel attends to the region
    representations (object attention) and the result is concatenated with its own feature.
    RITM narrows every layer: ``ocr_width`` key channels and ``2 · ocr_width`` output channels.
    """

    def __init__(self, in_channels: int, ocr_width: int, classes: int = 1) -> None:
        super().__init__()
        mid, key = 2 * ocr_width, ocr_width
        self.aux = nn.Sequential(
            conv_bn_relu(in_channels, in_channels, 1), nn.Conv2d(in_channels, classes, 1)
        )
        self.conv = conv_bn_relu(in_channels, mid, 3)
        self.query = nn.Sequential(conv_bn_relu(mid, key, 1), conv_bn_relu(key, key, 1))
        # The region representations are B×C×K×1 (K = 1 here): BatchNorm over them would fail
        # for a batch of one, so their 1×1 layers use a bias instead (a deviation from OCR).
        self.key = nn.Sequential(_conv_relu(mid, key), _conv_relu(key, key))
        self.value = _conv_relu(mid, key)
        self.up = conv_bn_relu(key, mid, 1)
        self.out = nn.Sequential(conv_bn_relu(2 * mid, mid, 1), nn.Dropout2d(0.05))
        self.key_channels = key
        self.out_channels = mid

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        aux = self.aux(feats)  # B×K×h×w soft object regions (logits)
        x = self.conv(feats)  # B×C×h×w
        b, _, h, w = x.shape
        regions = torch.softmax(aux.flatten(2), dim=2)  # B×K×hw
        proxy = torch.bmm(regions, x.flatten(2).transpose(1, 2))  # B×K×C
        proxy = proxy.transpose(1, 2).unsqueeze(3)  # B×C×K×1
        q = self.query(x).flatten(2).transpose(1, 2)  # B×hw×key
        k = self.key(proxy).flatten(2)  # B×key×K
        v = self.value(proxy).flatten(2).transpose(1, 2)  # B×K×key
        sim = torch.softmax(torch.bmm(q, k) * self.key_channels**-0.5, dim=2)  # B×hw×K
        ctx = torch.bmm(sim, v).transpose(1, 2).reshape(b, self.key_channels, h, w)
        return self.out(torch.cat([self.up(ctx), x], dim=1)), aux


class HRNetOCR(SegmentationBody):
    """HRNet trunk + OCR head: OCR features (``2 · ocr_width`` channels) and aux logits at 1/4."""

    def __init__(
        self,
        variant: str = "hrnet18s",
        width_mult: float = 1.0,
        in_channels: int = 3,
        ocr_width: int | None = None,
    ) -> None:
        super().__init__()
        if variant not in HRNET_SPECS:
            raise ValueError(f"HRNet variant must be one of {sorted(HRNET_SPECS)}, got {variant}")
        spec = HRNET_SPECS[variant]
        self.backbone = HRNet(spec, width_mult, in_channels)
        width = ocr_width if ocr_width is not None else scaled(spec.ocr_width, width_mult)
        self.ocr = OCRHead(self.backbone.out_channels, width)
        self.in_channels = in_channels
        self.stem_channels = self.backbone.stem_channels
        self.out_channels = self.ocr.out_channels

    def forward(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.ocr(self.backbone(x, stem_extra))
