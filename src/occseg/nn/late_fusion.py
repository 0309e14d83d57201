"""Late fusion of clicks for an encode-once click model.

RITM fuses the clicks into the backbone's stem (Conv1S), so the whole network runs at every
click. Here the image is encoded once (features at 1/4 resolution, cacheable per image) and each
click runs only:

1. :class:`ClickDecoder`: the interaction maps and the previous probability at full resolution,
   brought to 1/4 by two strided convolutions, concatenated with the cached features and mixed by
   a small U-Net of depthwise-separable blocks (down to 1/64, with global context) into coarse
   logits at 1/4 resolution;
2. :class:`LocalRefiner`: a small full-resolution network on RGB, the upsampled coarse logits
   and the maps that adds a residual to the logits, in the spirit of FocalClick's target-crop
   refinement (Chen et al., CVPR 2022, Sec. 3.3). Its receptive field is small (7×7), so at
   inference it runs only in a window around the latest click; trained on whole crops.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from occseg.nn.backbones.base import resize_to
from occseg.nn.backbones.blocks import conv_bn_relu


def separable_block(cin: int, cout: int) -> nn.Sequential:
    """Depthwise 3×3 + BN + ReLU, pointwise 1×1 + BN + ReLU (MobileNet, Howard et al. 2017)."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        conv_bn_relu(cin, cout, 1),
    )


class ClickDecoder(nn.Module):
    """Cached features ``B×F×H/4×W/4`` + maps ``B×C×H×W`` → coarse logits ``B×1×H/4×W/4``.

    A click must reach every pixel of its object, however large, so the fused maps go through a
    small U-Net: 1/4 → 1/16 → 1/64 (average pooling), separable blocks and a global-context term
    (the spatial mean, as in ParseNet) at the coarsest level, then back up with skip additions.
    Its receptive field is the whole image, at a per-click cost dominated by the 1/4 level.
    """

    def __init__(self, feature_channels: int, map_channels: int, width: int = 64) -> None:
        super().__init__()
        self.maps_stem = nn.Sequential(
            conv_bn_relu(map_channels, 16, 3, 2), conv_bn_relu(16, 32, 3, 2)
        )
        self.fuse = separable_block(feature_channels + 32, width)
        self.down = nn.ModuleList([separable_block(width, width), separable_block(width, width)])
        self.context = nn.Conv2d(width, width, 1)
        self.up = nn.ModuleList([separable_block(width, width), separable_block(width, width)])
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, features: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        return self.head(self.mix(features, maps))

    def mix(self, features: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """The fused ``B×width×H/4×W/4`` features that :attr:`head` turns into logits."""
        clicks = resize_to(self.maps_stem(maps), features)
        x = self.fuse(torch.cat([features, clicks], dim=1))
        skips = []
        for block in self.down:  # 1/4 -> 1/16 -> 1/64
            skips.append(x)
            x = block(nn.functional.avg_pool2d(x, 4, ceil_mode=True))
        x = x + self.context(x.mean(dim=(2, 3), keepdim=True))
        for block, skip in zip(self.up, reversed(skips), strict=True):
            x = block(resize_to(x, skip) + skip)
        return x


class LocalRefiner(nn.Module):
    """Full-resolution residual on the logits from RGB, coarse logits and the maps (7×7 field)."""

    #: Pixels on each side of a window whose output differs from a whole-image pass.
    halo = 3

    def __init__(self, map_channels: int, width: int = 16) -> None:
        super().__init__()
        last = nn.Conv2d(width, 1, 3, padding=1)
        nn.init.zeros_(last.weight)  # starts as the identity on the coarse logits
        nn.init.zeros_(cast(torch.Tensor, last.bias))
        self.net = nn.Sequential(
            nn.Conv2d(3 + 1 + map_channels, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            last,
        )

    def forward(self, rgb: torch.Tensor, logits: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        return logits + self.net(torch.cat([rgb, logits, maps], dim=1))


def click_window(shape: tuple[int, int], center: tuple[int, int], size: int) -> tuple[slice, slice]:
    """A ``size``×``size`` window around ``center`` (y, x), shifted to lie inside ``shape``."""
    out = []
    for length, c in zip(shape, center, strict=True):
        side = min(size, length)
        start = min(max(c - side // 2, 0), length - side)
        out.append(slice(start, start + side))
    return out[0], out[1]
