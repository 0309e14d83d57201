"""The scribble-interactive occlusion-boundary network (DNMMSI, paper ``000``, Sec. 3.2, Fig. 2).

Inputs (Sec. 3.2, "Overall Pipeline" (i)): the RGB image, the FN-FP map (two binary channels: the
FN-scribbles and the FP-scribbles, each dilated by a disk) and the previous output (one channel;
zero for the automatic first pass), stacked into six channels and sent to the backbone, which
gives hierarchical features at five levels.

The backbone is a trunk written here: a ResNet or HRNet trained from scratch (the default, CPU
sized), or EfficientNet-Lite0/1/2, which can start from its packaged ImageNet weights
(:meth:`OBNet.load_pretrained`; the paper's main backbone is a Swin transformer, Sec. 4.1, whose
initialisation it does not state). The stem of a pretrained trunk takes the three interaction
channels with zero weights at first, so the scribbles and the previous output reach the decoder
through the interaction path until training gives the stem a use for them. The image is
normalised as the trunk expects (:func:`occseg.nn.backbones.trunk_normalize`).

* **Upsampling modules** (one per level) reduce each level to ``channels`` features and bring
  it to the decoder resolution (1/2 of the input): bilinear upsampling (the paper's default
  version *v1*) or pixel shuffle (version *v2*, Sec. 4.1 "Different versions").
* **Interaction path** (Sec. 3.2 (ii), Table 9): a small convolution stack over the FN-FP map and
  the previous output whose features are added to every upsampled level before OPMv2.
* **OPMv2 modules** (Sec. 3.2 (i)): "mainly composed of strip convolution layers"; here a
  horizontal ``1×k``-then-``k×1`` branch and a vertical ``k×1``-then-``1×k`` branch, fused by a
  ``1×1`` convolution and added to the input (residual). The paper gives the module only in its
  supplement; this is our reading of "strip convolutions" (long, thin receptive fields along
  boundaries), sized for a CPU.
* **Boundary path** (Sec. 3.2 (ii)): two full-resolution convolutions over the RGB image alone,
  giving the fusion pixel-accurate low-level cues.
* **Decoder** (Sec. 3.2 (iii)): top-down aggregation of the five OPMv2 outputs; each step gives
  one side output (five OB maps, deep supervision), and the five side outputs together with the
  boundary-path features are fused into the final OB map.

The outputs are logits; the probability map is their sigmoid. NMS and thresholding (Sec. 3.2
(iv)-(v)) happen outside the network (:mod:`occseg.occlusion.nms`).

:class:`OBNetConfig` describes a model completely, so a checkpoint holding it rebuilds the model
alone (:mod:`occseg.checkpoint`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, cast

import torch
from torch import nn

from occseg.nn.backbones import (
    BODY_NAMES,
    LITE_SPECS,
    build_trunk,
    load_trunk_imagenet,
    trunk_normalize,
)
from occseg.nn.backbones.base import resize_to
from occseg.nn.backbones.blocks import conv_bn_relu

#: Number of side outputs (one per backbone level; Sec. 3.2 (iii): "five OB probability maps").
N_SIDES = 5

#: Strides of the five levels of the ResNet trunk (first level: the stride-2 stem block; the last
#: stage is dilated) and of the HRNet and EfficientNet-Lite trunks.
_RESNET_STRIDES = (2, 4, 8, 16, 16)
_LEVEL_STRIDES = (2, 4, 8, 16, 32)

#: Stride of the decoder (the resolution at which OPMv2 and the side outputs work).
DECODER_STRIDE = 2

UPSAMPLE_MODES = ("bilinear", "pixel_shuffle")


@dataclass(frozen=True)
class OBNetConfig:
    """Everything needed to rebuild an :class:`OBNet` (stored in every checkpoint).

    Attributes
    ----------
    backbone
        A name of :data:`occseg.nn.backbones.BODY_NAMES` (``resnet18`` by default; the paper's
        main backbone is a Swin transformer, with ResNet-34/HRNet as alternatives, Table 2):
        ``resnet18/34/50``, ``hrnet18s/18/32`` or ``efficientnet_lite0/1/2``.
    width_mult
        Width multiplier of a ResNet/HRNet backbone (0.5 = a CPU-sized ResNet-18);
        EfficientNet-Lite keeps its ImageNet widths.
    channels
        Width of the upsampling modules, the interaction path, OPMv2 and the decoder.
    boundary_channels
        Width of the boundary path.
    strip_kernel
        Length ``k`` of the OPMv2 strip convolutions (``1×k`` and ``k×1``).
    upsample
        ``"bilinear"`` (the paper's v1, default) or ``"pixel_shuffle"`` (v2).
    prev_output
        Feed the previous output (the paper's default; False = the "w/t prev" ablation of
        Table 2, the channel is then always zero).
    scribble_radius
        Radius of the disk that dilates scribbles into the FN/FP maps (12, Sec. 4.1).
    prev_threshold, binary_prev
        How an output becomes the next previous output (Sec. 4.1, "thresholding"): the
        NMS-thinned map with values below ``prev_threshold`` (``T`` = 0.7, Table 7) set to 0
        (the non-binary version, default) or thresholded to {0, 1} (``binary_prev``).

    pretrained
        The trainer initialises the backbone from its packaged ImageNet weights
        (:meth:`OBNet.load_pretrained`; EfficientNet-Lite backbones only). Recorded in the
        checkpoint; rebuilding a model from a checkpoint never loads them (it holds the trained
        weights).

    ``scribble_radius``, ``prev_threshold`` and ``binary_prev`` describe the model's inputs, so
    they travel with it: interaction maps must be encoded at inference exactly as in training.
    """

    backbone: str = "resnet18"
    width_mult: float = 0.5
    channels: int = 16
    boundary_channels: int = 8
    strip_kernel: int = 9
    upsample: str = "bilinear"
    prev_output: bool = True
    scribble_radius: int = 12
    prev_threshold: float = 0.7
    binary_prev: bool = False
    pretrained: bool = False

    def __post_init__(self) -> None:
        if self.backbone not in BODY_NAMES:
            raise ValueError(f"backbone must be one of {BODY_NAMES}, got {self.backbone!r}")
        if self.pretrained and self.backbone not in LITE_SPECS:
            raise ValueError(
                f"backbone {self.backbone!r} has no packaged ImageNet weights; use one of "
                f"{sorted(LITE_SPECS)} or pretrained: false"
            )
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        if not self.width_mult > 0:
            raise ValueError(f"width_mult must be positive, got {self.width_mult}")
        if self.channels < 1 or self.boundary_channels < 1:
            raise ValueError("channels and boundary_channels must be >= 1")
        if not 0 < self.prev_threshold < 1:
            raise ValueError(f"prev_threshold must be in (0, 1), got {self.prev_threshold}")
        if self.scribble_radius < 0:
            raise ValueError(f"scribble_radius must be >= 0, got {self.scribble_radius}")
        if self.strip_kernel < 1 or self.strip_kernel % 2 == 0:
            raise ValueError(f"strip_kernel must be odd and >= 1, got {self.strip_kernel}")

    @property
    def level_strides(self) -> tuple[int, ...]:
        """Strides of the backbone's five feature levels."""
        return _RESNET_STRIDES if self.backbone.startswith("resnet") else _LEVEL_STRIDES

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (JSON/YAML-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OBNetConfig:
        """Build from a dict, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


class UpsampleModule(nn.Module):
    """One level's features → ``cout`` channels at ``factor`` × their resolution.

    ``mode="bilinear"``: ``1×1`` conv-BN-ReLU, then bilinear interpolation to the reference size
    (paper v1). ``mode="pixel_shuffle"``: ``1×1`` conv to ``cout · factor²`` channels and pixel
    shuffle (Shi et al., CVPR 2016; paper v2), then BN-ReLU.
    """

    def __init__(self, cin: int, cout: int, factor: int, mode: str = "bilinear") -> None:
        super().__init__()
        if mode == "pixel_shuffle" and factor > 1:
            self.body: nn.Module = nn.Sequential(
                nn.Conv2d(cin, cout * factor * factor, 1, bias=False),
                nn.PixelShuffle(factor),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            )
        else:
            self.body = conv_bn_relu(cin, cout, 1)

    def forward(self, x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return resize_to(self.body(x), ref)


def _strip(cin: int, cout: int, kh: int, kw: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, (kh, kw), padding=(kh // 2, kw // 2), bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class OPMv2(nn.Module):
    """Strip-convolution module: horizontal and vertical strip branches, ``1×1`` fusion, residual.

    Horizontal branch: ``1×k`` then ``k×1``; vertical branch: ``k×1`` then ``1×k`` (each
    conv-BN-ReLU), so both see a ``k×k`` window with ``4k`` weights per channel pair but favour
    long straight structures (paper ``000``, Sec. 3.2 (i): "OPMv2 modules, which are mainly
    composed of the strip convolution layers").
    """

    def __init__(self, channels: int, kernel: int = 9) -> None:
        super().__init__()
        k = kernel
        self.horizontal = nn.Sequential(
            _strip(channels, channels, 1, k), _strip(channels, channels, k, 1)
        )
        self.vertical = nn.Sequential(
            _strip(channels, channels, k, 1), _strip(channels, channels, 1, k)
        )
        self.fuse = conv_bn_relu(2 * channels, channels, 1, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fuse(torch.cat([self.horizontal(x), self.vertical(x)], dim=1))
        return self.relu(x + y)


class InteractionPath(nn.Module):
    """FN map, FP map and previous output → one feature map per level at the decoder stride.

    A stride-2 ``3×3`` conv-BN-ReLU and a ``3×3`` conv-BN-ReLU shared by all levels, then one
    ``1×1`` projection per level (added to that level's upsampled backbone features; Table 9).
    """

    def __init__(self, cin: int, channels: int, levels: int = N_SIDES) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            conv_bn_relu(cin, channels, 3, DECODER_STRIDE), conv_bn_relu(channels, channels, 3)
        )
        self.project = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(levels))

    def forward(self, maps: torch.Tensor, ref: torch.Tensor) -> list[torch.Tensor]:
        x = resize_to(self.trunk(maps), ref)
        return [p(x) for p in self.project]


class OBNet(nn.Module):
    """Scribble-interactive OB network (DNMMSI). Build with ``OBNet(OBNetConfig(...))``.

    ``forward(image, maps, prev=None)`` takes ``image`` ``B×3×H×W`` in [0, 1], ``maps``
    ``B×2×H×W`` (FN map, FP map; binary disks) and ``prev`` ``B×1×H×W`` (the thresholded previous
    output; zeros if None) and returns the fused logits ``B×1×H×W``. With ``with_sides=True`` it
    returns ``(fused, sides)`` where ``sides`` is ``B×5×H×W`` (the side-output logits, finest
    level first) for the deep-supervision loss (:func:`occseg.nn.losses.deep_supervision_loss`).
    Any input size works; multiples of 32 avoid resampling between levels.

    Examples
    --------
    >>> import torch
    >>> net = OBNet(OBNetConfig(width_mult=0.25, channels=8)).eval()
    >>> fused, sides = net(torch.rand(1, 3, 64, 64), torch.zeros(1, 2, 64, 64), with_sides=True)
    >>> tuple(fused.shape), tuple(sides.shape)
    ((1, 1, 64, 64), (1, 5, 64, 64))
    """

    def __init__(self, config: OBNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or OBNetConfig()
        c = config.channels
        self.backbone = build_trunk(config.backbone, config.width_mult, in_channels=6)
        self.upsample = nn.ModuleList(
            UpsampleModule(cin, c, max(1, stride // DECODER_STRIDE), config.upsample)
            for cin, stride in zip(self.backbone.level_channels, config.level_strides, strict=True)
        )
        self.interaction = InteractionPath(3, c)
        self.opm = nn.ModuleList(OPMv2(c, config.strip_kernel) for _ in range(N_SIDES))
        # decoder: top-down, each step merges one level with the result of the deeper ones
        self.merge = nn.ModuleList(conv_bn_relu(2 * c, c, 3) for _ in range(N_SIDES - 1))
        self.side = nn.ModuleList(nn.Conv2d(c, 1, 1) for _ in range(N_SIDES))
        b = config.boundary_channels
        self.boundary = nn.Sequential(conv_bn_relu(3, b, 3), conv_bn_relu(b, b, 3))
        # fusion: HED's weighted sum of the side outputs + a refinement with boundary features
        self.fuse_sides = nn.Conv2d(N_SIDES, 1, 1)
        nn.init.constant_(self.fuse_sides.weight, 1.0 / N_SIDES)
        nn.init.zeros_(cast(torch.Tensor, self.fuse_sides.bias))
        self.fuse_detail = nn.Sequential(conv_bn_relu(N_SIDES + b, b, 3), nn.Conv2d(b, 1, 1))
        self.normalize = trunk_normalize(config.backbone)

    def load_pretrained(self) -> None:
        """Load the backbone's packaged ImageNet weights (EfficientNet-Lite backbones only; the
        stem's interaction channels start at zero).

        Raises
        ------
        ValueError
            If the backbone has no packaged weights.
        """
        load_trunk_imagenet(self.backbone, self.config.backbone)

    def backbone_parameters(self) -> list[nn.Parameter]:
        """The backbone's parameters (may be trained at a lower rate)."""
        return list(self.backbone.parameters())

    def other_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not in :meth:`backbone_parameters`."""
        ids = {id(p) for p in self.backbone_parameters()}
        return [p for p in self.parameters() if id(p) not in ids]

    def forward_with_sides(
        self, image: torch.Tensor, maps: torch.Tensor, prev: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(fused, sides)`` logits at input resolution (``B×1×H×W``, ``B×5×H×W``)."""
        if prev is None or not self.config.prev_output:
            prev = image.new_zeros((image.shape[0], 1, *image.shape[2:]))
        rgb = self.normalize(image)
        inter = torch.cat([maps, prev], dim=1)
        levels = self.backbone.forward_levels(torch.cat([rgb, inter], dim=1))
        ref = levels[0]  # the stride-2 level fixes the decoder's size
        extra = self.interaction(inter, ref)
        feats = [
            opm(up(level, ref) + e)
            for opm, up, level, e in zip(self.opm, self.upsample, levels, extra, strict=True)
        ]
        decoded = [feats[-1]]
        for merge, f in zip(reversed(self.merge), reversed(feats[:-1]), strict=True):
            decoded.append(merge(torch.cat([f, decoded[-1]], dim=1)))
        decoded.reverse()  # finest level first
        sides = torch.cat(
            [resize_to(side(d), image) for side, d in zip(self.side, decoded, strict=True)], dim=1
        )
        detail = self.fuse_detail(torch.cat([sides, self.boundary(rgb)], dim=1))
        return self.fuse_sides(sides) + detail, sides

    def forward(
        self,
        image: torch.Tensor,
        maps: torch.Tensor,
        prev: torch.Tensor | None = None,
        with_sides: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Fused logits ``B×1×H×W``; with ``with_sides``, ``(fused, sides)`` as
        :meth:`forward_with_sides` (so that a ``DistributedDataParallel`` wrapper, which only
        synchronises calls through ``forward``, trains the side outputs too)."""
        fused, sides = self.forward_with_sides(image, maps, prev)
        return (fused, sides) if with_sides else fused
