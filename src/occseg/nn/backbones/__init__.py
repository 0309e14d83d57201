"""Backbones written here (no torchvision): ResNet-18/34/50 + DeepLabV3+ decoder, HRNet + OCR,
EfficientNet-Lite0/1/2 (ImageNet weights from registry packages) + FPN.

:func:`build_body` makes one by name; every body follows :class:`SegmentationBody`.
:func:`build_trunk` makes the bare trunk, whose ``forward_levels`` gives five feature levels
(for decoders with side outputs, e.g. :class:`occseg.nn.obnet.OBNet`); :func:`trunk_normalize`
the input normalisation that trunk expects.
"""

from __future__ import annotations

from occseg.nn.backbones.base import ImageNormalize, SegmentationBody
from occseg.nn.backbones.efficientnet import (
    EFFICIENTNET_MEAN,
    EFFICIENTNET_STD,
    LITE_SPECS,
    EfficientNetFPN,
    EfficientNetLite,
)
from occseg.nn.backbones.hrnet import HRNET_SPECS, HRNet, HRNetOCR, OCRHead
from occseg.nn.backbones.resnet import RESNET_SPECS, ResNet, ResNetDeepLab

#: Names accepted by :func:`build_body`.
BODY_NAMES = tuple([f"resnet{d}" for d in RESNET_SPECS] + list(HRNET_SPECS) + list(LITE_SPECS))


def build_body(
    name: str, width_mult: float = 1.0, in_channels: int = 3, ocr_width: int | None = None
) -> SegmentationBody:
    """Build a segmentation body by name (``resnet18/34/50``, ``hrnet18s/18/32``,
    ``efficientnet_lite0/1/2``).

    Parameters
    ----------
    name
        One of :data:`BODY_NAMES`.
    width_mult
        Multiplies every layer width (1.0 = the paper's widths; e.g. 0.5 for CPU).
    in_channels
        Input channels of the first convolution (3, or more for Conv1E).
    ocr_width
        HRNet only: OCR width; default the paper's 48/64/128 times ``width_mult``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name.startswith("resnet") and name[6:].isdigit() and int(name[6:]) in RESNET_SPECS:
        return ResNetDeepLab(int(name[6:]), width_mult, in_channels)
    if name in HRNET_SPECS:
        return HRNetOCR(name, width_mult, in_channels, ocr_width)
    if name in LITE_SPECS:
        return EfficientNetFPN(name, width_mult, in_channels)
    raise ValueError(f"unknown backbone {name!r}; choose one of: {', '.join(BODY_NAMES)}")


def build_trunk(
    name: str, width_mult: float = 1.0, in_channels: int = 3
) -> ResNet | HRNet | EfficientNetLite:
    """Build a bare trunk by name (one of :data:`BODY_NAMES`), without neck or head.

    The trunk's ``forward_levels(x)`` returns five feature maps (strides 2, 4, 8, 16, 16 for
    ResNet; 2, 4, 8, 16, 32 for HRNet and EfficientNet-Lite) with ``level_channels`` channels.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if name.startswith("resnet") and name[6:].isdigit() and int(name[6:]) in RESNET_SPECS:
        return ResNet(int(name[6:]), width_mult, in_channels)
    if name in HRNET_SPECS:
        return HRNet(HRNET_SPECS[name], width_mult, in_channels)
    if name in LITE_SPECS:
        return EfficientNetLite(name, in_channels, classifier=False)  # width_mult n/a
    raise ValueError(f"unknown backbone {name!r}; choose one of: {', '.join(BODY_NAMES)}")


def trunk_normalize(name: str) -> ImageNormalize:
    """The input normalisation of the trunk ``name`` for RGB in [0, 1].

    EfficientNet-Lite: ``(255 x - 127) / 128``, the one its packaged ImageNet weights were
    trained with; the trunks written here without packaged weights (ResNet, HRNet): ImageNet's
    channel mean and standard deviation.
    """
    if name in LITE_SPECS:
        return ImageNormalize(EFFICIENTNET_MEAN, EFFICIENTNET_STD)
    return ImageNormalize()


def load_trunk_imagenet(trunk: object, name: str) -> None:
    """Load the packaged ImageNet weights into ``trunk`` (built by :func:`build_trunk` from
    ``name``; input channels beyond RGB start at zero).

    Raises
    ------
    ValueError
        If the trunk has no packaged weights (only EfficientNet-Lite trunks do).
    """
    if not isinstance(trunk, EfficientNetLite):
        raise ValueError(
            f"backbone {name!r} has no packaged ImageNet weights; "
            "use an efficientnet_lite* backbone or pretrained: false"
        )
    trunk.load_imagenet()


__all__ = [
    "BODY_NAMES",
    "HRNET_SPECS",
    "LITE_SPECS",
    "RESNET_SPECS",
    "EfficientNetFPN",
    "EfficientNetLite",
    "HRNet",
    "HRNetOCR",
    "OCRHead",
    "ResNet",
    "ResNetDeepLab",
    "SegmentationBody",
    "build_body",
    "build_trunk",
    "load_trunk_imagenet",
    "trunk_normalize",
]
