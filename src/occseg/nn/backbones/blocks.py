"""Residual blocks shared by ResNet and HRNet (He et al., CVPR 2016, Sec. 3-4)."""

from __future__ import annotations

import torch
from torch import nn


def scaled(channels: int, width_mult: float, minimum: int = 4) -> int:
    """``channels × width_mult`` rounded to a multiple of 2 (at least ``minimum``)."""
    return max(minimum, round(channels * width_mult / 2.0) * 2)


def conv_bn_relu(
    cin: int,
    cout: int,
    kernel: int = 3,
    stride: int = 1,
    *,
    relu: bool = True,
    dilation: int = 1,
) -> nn.Sequential:
    """``kernel×kernel`` convolution (no bias, ``dilation`` apart, same size) + BatchNorm
    (+ ReLU)."""
    pad = dilation * (kernel // 2)
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with an identity (or 1×1 projection) shortcut."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, cout, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = conv_bn_relu(cin, cout, 1, stride, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand (×4) with a shortcut (ResNet-50, HRNet stage 1)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = conv_bn_relu(cin, cout, 1, stride, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def make_stage(
    block: type[BasicBlock] | type[Bottleneck],
    cin: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    dilation: int = 1,
) -> nn.Sequential:
    """``blocks`` residual blocks; the first one may change stride and width."""
    layers = [block(cin, planes, stride, dilation)]
    layers += [block(planes * block.expansion, planes, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
