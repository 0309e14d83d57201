"""Joint semantic segmentation and oriented occlusion boundaries (OOSIS, paper 001, Sec. 3.1).

A PSPNet (Zhao et al., CVPR 2017) on a dilated trunk: the pyramid pooling module pools the
deepest features over 1×1, 2×2, 3×3 and 6×6 bins, and a 3×3 convolution fuses them with the
features (supplement 1.1, "Features"). The trunk is a ResNet (the paper: ResNet-50, Sec. 5.3;
here from scratch by default) or EfficientNet-Lite0/1/2, which can start from its packaged
ImageNet weights (:meth:`OrderNet.load_pretrained`); both are dilated to the output stride as
PSPNet dilates its ResNet, and the image is normalised as the trunk expects. Three separate 1×1
("linear") layers give the logits of the three heads (supplement 1.1, "Logits"):

* ``s`` - semantic classes (softmax), class 0 is the background;
* ``b`` - occlusion-boundary probability ``Pr(B_p = 1)`` (sigmoid);
* ``e`` - conditional orientation ``Pr(O_p = d | B_p = 1)`` over |D| = 4 bins: the pixel
  occludes its left, right, top or bottom neighbour (softmax).

Upsampling to the input size (supplement 1.1, "Upsampling"): the ``s`` logits by a per-channel
("2D", depthwise) transposed convolution; the ``b`` and ``e`` logits concatenated and upsampled
by one transposed convolution whose kernel spans the 5 channels as well as space ("3D"), so
that every upsampled channel sees all boundary and orientation logits. Both start as bilinear
upsampling (the 3-D kernel as bilinear on its channel diagonal, zero elsewhere).

The oriented boundary prediction is ``o_p = [b_p ⊙ e_p, 1 - b_p]`` (Eq. 3, :func:`oriented`).

An extension, off by default (``decoder_width``): the heads at stride 4 instead of the output
stride, after DeepLabv3+'s decoder (Chen et al., ECCV 2018, Sec. 3.2: the pyramid features
reduced by a 1×1 convolution, upsampled bilinearly to stride 4, concatenated with the trunk's
stride-4 features reduced to 48 channels, two 3×3 convolutions), and the transposed convolutions
upsample by 4. At stride 16 without it the boundary head of a Lite0 model is a blurred band with
the 16-pixel grid of its upsampling; the CRF's occlusion pairs then fall inside objects as often
as on their boundaries (measured on held-out synthetic scenes: 3 094 of 5 863 pairs more than
3 px from any object boundary) and split every object into fragments.

:class:`OrderNetConfig` describes a model completely; checkpoints store it
(:func:`occseg.checkpoint.load_ordernet`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from occseg.nn.backbones import (
    LITE_SPECS,
    EfficientNetLite,
    load_trunk_imagenet,
    trunk_normalize,
)
from occseg.nn.backbones.blocks import conv_bn_relu, make_stage, scaled
from occseg.nn.backbones.resnet import RESNET_SPECS, ResNet

__all__ = [
    "N_ORIENTATIONS",
    "OrderNet",
    "OrderNetConfig",
    "OrderNetOutput",
    "bilinear_deconv",
    "bilinear_kernel",
    "oriented",
]

#: |D|: the orientation bins left, right, top, bottom (the ``ob_occludes`` channel order).
N_ORIENTATIONS = 4


@dataclass(frozen=True)
class OrderNetConfig:
    """Everything needed to rebuild an :class:`OrderNet` (stored in every checkpoint).

    Attributes
    ----------
    backbone
        ``resnet18``, ``resnet34`` or ``resnet50`` (the paper: ResNet-50), or
        ``efficientnet_lite0/1/2``.
    width_mult
        Width multiplier of a ResNet trunk (1.0 = the paper's widths) and of the fusion after
        the pyramid pooling (512 channels at 1.0); EfficientNet-Lite keeps its ImageNet widths.
    output_stride
        8 (PSPNet: the last two stages dilated) or 16 (only the last one).
    class_names
        Semantic classes; the first one is the background (the CRF's label 0).
    pool_bins
        Bin counts of the pyramid pooling module (PSPNet: 1, 2, 3, 6).
    dropout
        Dropout before the heads (PSPNet: 0.1).
    pretrained
        The trainer initialises the trunk from its packaged ImageNet weights
        (:meth:`OrderNet.load_pretrained`; EfficientNet-Lite only). Recorded in the checkpoint;
        rebuilding a model from a checkpoint never loads them (it holds the trained weights).
    decoder_width
        0 (the paper): the heads read the pyramid features at the output stride. Otherwise the
        width of a DeepLabv3+ decoder to stride 4 that the heads read (module notes; DeepLabv3+
        uses 256).
    """

    backbone: str = "resnet18"
    width_mult: float = 1.0
    output_stride: int = 8
    class_names: tuple[str, ...] = ("background", "object")
    pool_bins: tuple[int, ...] = (1, 2, 3, 6)
    dropout: float = 0.1
    pretrained: bool = False
    decoder_width: int = 0

    def __post_init__(self) -> None:
        depth = self.backbone[6:] if self.backbone.startswith("resnet") else ""
        resnet = depth.isdigit() and int(depth) in RESNET_SPECS
        if not resnet and self.backbone not in LITE_SPECS:
            names = ", ".join([f"resnet{d}" for d in RESNET_SPECS] + list(LITE_SPECS))
            raise ValueError(f"backbone must be one of {names}, got {self.backbone!r}")
        if self.pretrained and self.backbone not in LITE_SPECS:
            raise ValueError(
                f"backbone {self.backbone!r} has no packaged ImageNet weights; use one of "
                f"{sorted(LITE_SPECS)} or pretrained: false"
            )
        if self.output_stride not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {self.output_stride}")
        if len(self.class_names) < 2:
            raise ValueError("class_names needs the background and at least one object class")
        if not self.pool_bins or min(self.pool_bins) < 1:
            raise ValueError(f"pool_bins must be positive bin counts, got {self.pool_bins}")
        if self.width_mult <= 0 or not 0 <= self.dropout < 1:
            raise ValueError("width_mult must be > 0 and dropout in [0, 1)")
        if self.decoder_width < 0:
            raise ValueError(f"decoder_width must be >= 0 (0 = none), got {self.decoder_width}")

    @property
    def depth(self) -> int:
        """Depth of the ResNet trunk (ResNet backbones only)."""
        return int(self.backbone[6:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["class_names"] = list(self.class_names)
        d["pool_bins"] = list(self.pool_bins)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderNetConfig:
        """Build from a mapping; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model option(s) {unknown}; known: {sorted(known)}")
        data = dict(data)
        for key in ("class_names", "pool_bins"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


class OrderNetOutput(NamedTuple):
    """Logits at the input resolution: ``s`` B×C×H×W, ``b`` B×1×H×W, ``e`` B×4×H×W."""

    s: torch.Tensor
    b: torch.Tensor
    e: torch.Tensor


def bilinear_kernel(factor: int) -> torch.Tensor:
    """``2f × 2f`` kernel of a stride-``f`` transposed convolution equal to bilinear upsampling.

    With padding ``f // 2`` (``f`` even) the transposed convolution reproduces
    ``F.interpolate(..., scale_factor=f, mode="bilinear", align_corners=False)`` away from the
    image border (the FCN initialisation, Long et al. 2015).
    """
    size = 2 * factor
    centre = factor - 0.5
    t = 1.0 - (torch.arange(size, dtype=torch.float32) - centre).abs() / factor
    return t[:, None] * t[None, :]


def bilinear_deconv(channels: int, factor: int, *, depthwise: bool) -> nn.ConvTranspose2d:
    """Stride-``factor`` transposed convolution initialised as bilinear upsampling.

    ``depthwise``: one 2-D kernel per channel (groups = channels); otherwise every output
    channel has a channels × 2f × 2f kernel, bilinear on its own channel and zero elsewhere.
    """
    up = nn.ConvTranspose2d(
        channels,
        channels,
        2 * factor,
        stride=factor,
        padding=factor // 2,
        groups=channels if depthwise else 1,
        bias=False,
    )
    with torch.no_grad():
        up.weight.zero_()
        k = bilinear_kernel(factor)
        for c in range(channels):
            up.weight[c, 0 if depthwise else c] = k
    return up


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling module: pooled branches upsampled and concatenated to the input."""

    def __init__(self, cin: int, bins: tuple[int, ...]) -> None:
        super().__init__()
        cout = max(4, cin // len(bins))
        self.bins = bins
        self.branches = nn.ModuleList(conv_bn_relu(cin, cout, 1) for _ in bins)
        self.out_channels = cin + cout * len(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [
            F.interpolate(
                branch(F.adaptive_avg_pool2d(x, b)), size=size, mode="bilinear", align_corners=False
            )
            for b, branch in zip(self.bins, self.branches, strict=True)
        ]
        return torch.cat([x, *pooled], dim=1)


class SkipDecoder(nn.Module):
    """DeepLabv3+'s decoder (Chen et al., ECCV 2018, Sec. 3.2) from deep features and the
    trunk's stride-4 features to ``width`` channels at stride 4."""

    #: Channels of the reduced stride-4 features (DeepLabv3+: 48).
    LOW_CHANNELS = 48

    def __init__(self, cin: int, clow: int, width: int) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(cin, width, 1)
        self.low = conv_bn_relu(clow, self.LOW_CHANNELS, 1)
        self.fuse = nn.Sequential(
            conv_bn_relu(width + self.LOW_CHANNELS, width, 3), conv_bn_relu(width, width, 3)
        )

    def forward(self, deep: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(
            self.reduce(deep), size=low.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.fuse(torch.cat([up, self.low(low)], dim=1))


class OrderNet(nn.Module):
    """PSPNet with the s, b and e heads of OOSIS (module notes).

    ``forward(image)`` takes ``B×3×H×W`` RGB in [0, 1] (normalised inside) and returns
    :class:`OrderNetOutput` logits at ``H×W``.
    """

    def __init__(self, config: OrderNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or OrderNetConfig()
        self.trunk: ResNet | EfficientNetLite
        if config.backbone in LITE_SPECS:
            self.trunk = EfficientNetLite(
                config.backbone, classifier=False, output_stride=config.output_stride
            )
        else:
            self.trunk = _dilated_resnet(config.depth, config.width_mult, config.output_stride)
        self.ppm = PyramidPooling(self.trunk.level_channels[-1], config.pool_bins)
        width = scaled(512, config.width_mult)
        self.fuse = nn.Sequential(
            conv_bn_relu(self.ppm.out_channels, width, 3), nn.Dropout2d(config.dropout)
        )
        self.decoder: SkipDecoder | None = None
        f = config.output_stride
        if config.decoder_width:
            self.decoder = SkipDecoder(width, self.trunk.level_channels[1], config.decoder_width)
            width, f = config.decoder_width, 4
        self.head_s = nn.Conv2d(width, config.n_classes, 1)
        self.head_b = nn.Conv2d(width, 1, 1)
        self.head_e = nn.Conv2d(width, N_ORIENTATIONS, 1)
        self.up_s = bilinear_deconv(config.n_classes, f, depthwise=True)
        self.up_be = bilinear_deconv(1 + N_ORIENTATIONS, f, depthwise=False)
        self.normalize = trunk_normalize(config.backbone)

    def load_pretrained(self) -> None:
        """Load the trunk's packaged ImageNet weights (EfficientNet-Lite trunks only).

        Raises
        ------
        ValueError
            If the trunk has no packaged weights.
        """
        load_trunk_imagenet(self.trunk, self.config.backbone)

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the trunk."""
        return list(self.trunk.parameters())

    def other_parameters(self) -> list[nn.Parameter]:
        """Parameters of the pyramid pooling, the decoder, the heads and the upsampling."""
        ids = {id(p) for p in self.trunk.parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def forward(self, image: torch.Tensor) -> OrderNetOutput:
        h, w = image.shape[-2:]
        x = self.normalize(image)
        levels = self.trunk.forward_levels(x)
        feats = self.fuse(self.ppm(levels[-1]))
        if self.decoder is not None:
            feats = self.decoder(feats, levels[1])
        s = self.up_s(self.head_s(feats))[..., :h, :w]
        be = self.up_be(torch.cat([self.head_b(feats), self.head_e(feats)], dim=1))[..., :h, :w]
        return OrderNetOutput(s, be[:, :1], be[:, 1:])


def _dilated_resnet(depth: int, width_mult: float, output_stride: int) -> ResNet:
    """The ResNet trunk at ``output_stride`` 16 (its own last-stage dilation) or 8 (PSPNet's
    dilated ResNet: stage 3 keeps stride 8 with dilation 2, stage 4 dilation 4)."""
    trunk = ResNet(depth, width_mult)
    if output_stride == 8:
        block, counts = RESNET_SPECS[depth]
        ch = trunk.channels
        planes = [c // block.expansion for c in ch]
        trunk.layer3 = make_stage(block, ch[1], planes[2], counts[2], 1, 2)
        trunk.layer4 = make_stage(block, ch[2], planes[3], counts[3], 1, 4)
    return trunk


def oriented(b: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Oriented boundary distribution ``o_p = [b_p ⊙ e_p, 1 - b_p]`` (Eq. 3).

    Parameters
    ----------
    b
        ``B×1×H×W`` boundary probabilities (after the sigmoid).
    e
        ``B×4×H×W`` conditional orientation probabilities (after the softmax).

    Returns
    -------
    torch.Tensor
        ``B×5×H×W``: ``Pr(O_p = d)`` for left, right, top, bottom, then ``Pr(O_p = ∅)``; sums
        to 1 over the channels.
    """
    return torch.cat([b * e, 1.0 - b], dim=1)
