"""ResNet-18/34/50 (He et al., CVPR 2016) with a DeepLabV3+-style decoder (Chen et al., 2018).

RITM (Sec. 3.1, 5) compares DeepLabV3+ on ResNet-34 with HRNet+OCR; this is the ResNet side. The
last stage is dilated (output stride 16), the ASPP is reduced to a 1×1 branch and two dilated
3×3 branches (rates 3 and 6, suited to crops of a few hundred pixels) and the decoder fuses the
1/4-resolution stage-1 features (48 channels at width 1) as in DeepLabV3+.
"""

from __future__ import annotations

import torch
from torch import nn

from occseg.nn.backbones.base import SegmentationBody, resize_to
from occseg.nn.backbones.blocks import BasicBlock, Bottleneck, conv_bn_relu, make_stage, scaled

#: depth → (block, blocks per stage)
RESNET_SPECS: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
}


class ResNet(nn.Module):
    """The ResNet trunk: returns stage outputs at strides 4, 8, 16 and 16 (last stage dilated).

    Parameters
    ----------
    depth
        18, 34 or 50.
    width_mult
        Multiplies every width (64, 128, 256, 512 planes at 1.0).
    in_channels
        Input channels of the 7×7 stem convolution.
    """

    def __init__(self, depth: int = 34, width_mult: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        if depth not in RESNET_SPECS:
            raise ValueError(f"ResNet depth must be one of {sorted(RESNET_SPECS)}, got {depth}")
        block, counts = RESNET_SPECS[depth]
        planes = [scaled(p, width_mult) for p in (64, 128, 256, 512)]
        self.stem_channels = planes[0]
        self.conv1 = nn.Conv2d(in_channels, planes[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = planes[0]
        stages = []
        for i, (p, n) in enumerate(zip(planes, counts, strict=True)):
            stride = 1 if i in (0, 3) else 2
            dilation = 2 if i == 3 else 1
            stages.append(make_stage(block, cin, p, n, stride, dilation))
            cin = p * block.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.channels = [p * block.expansion for p in planes]
        self.level_channels = [planes[0], *self.channels]

    def forward_levels(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Five feature levels: the stem (stride 2) and the four stages (strides 4, 8, 16, 16).

        Channels are :attr:`level_channels`.
        """
        x = self.relu(self.bn1(self.conv1(x)))
        if stem_extra is not None:
            x = x + stem_extra
        c2 = self.layer1(self.maxpool(x))
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [x, c2, c3, c4, c5]

    def forward(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """The four stage outputs (strides 4, 8, 16, 16)."""
        return self.forward_levels(x, stem_extra)[1:]


class DeepLabDecoder(nn.Module):
    """Reduced ASPP on the deepest features + fusion with the 1/4-resolution features."""

    def __init__(self, low_channels: int, high_channels: int, width_mult: float) -> None:
        super().__init__()
        mid = scaled(256, width_mult)
        low = scaled(48, width_mult)
        self.aspp = nn.ModuleList(
            [conv_bn_relu(high_channels, mid, 1)]
            + [
                nn.Sequential(
                    nn.Conv2d(high_channels, mid, 3, padding=r, dilation=r, bias=False),
                    nn.BatchNorm2d(mid),
                    nn.ReLU(inplace=True),
                )
                for r in (3, 6)
            ]
        )
        self.project = conv_bn_relu(3 * mid, mid, 1)
        self.low = conv_bn_relu(low_channels, low, 1)
        self.fuse = nn.Sequential(conv_bn_relu(mid + low, mid), conv_bn_relu(mid, mid))
        self.out_channels = mid

    def forward(self, c2: torch.Tensor, c5: torch.Tensor) -> torch.Tensor:
        high = self.project(torch.cat([branch(c5) for branch in self.aspp], dim=1))
        return self.fuse(torch.cat([resize_to(high, c2), self.low(c2)], dim=1))


class ResNetDeepLab(SegmentationBody):
    """ResNet trunk + DeepLabV3+-style decoder: features at 1/4 resolution."""

    def __init__(self, depth: int = 34, width_mult: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        self.backbone = ResNet(depth, width_mult, in_channels)
        self.decoder = DeepLabDecoder(
            self.backbone.channels[0], self.backbone.channels[3], width_mult
        )
        self.in_channels = in_channels
        self.stem_channels = self.backbone.stem_channels
        self.out_channels = self.decoder.out_channels

    def forward(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        c2, _, _, c5 = self.backbone(x, stem_extra)
        return self.decoder(c2, c5), None
