"""Late fusion: encode once per image, decode per click, refine in a window."""

from __future__ import annotations

import pytest
import torch

from occseg.nn.backbones.base import resize_to
from occseg.nn.clicknet import ClickNet, ClickNetConfig
from occseg.nn.late_fusion import LocalRefiner, click_window


@pytest.fixture(scope="module")
def net() -> ClickNet:
    torch.manual_seed(0)
    model = ClickNet(ClickNetConfig(backbone="efficientnet_lite0", fusion="late", width_mult=0.5))
    with torch.no_grad():  # a refiner that does something (it starts as the identity)
        for p in model.refiner.parameters():
            p.normal_(0, 0.1)
    return model.eval()


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, 72, 88, generator=g)
    maps = torch.zeros(1, 2, 72, 88)
    maps[:, 0, 30:36, 40:46] = 1
    return image, maps, torch.rand(1, 1, 72, 88, generator=g)


def test_cached_encoding_gives_the_same_logits(net: ClickNet) -> None:
    image, maps, prev = _inputs()
    with torch.no_grad():
        whole = net(image, maps, prev)
        features = net.encode(image)
        assert features.shape[-2:] == (18, 22)  # 1/4 resolution
        again = net.decode(features, image, maps, prev)
    torch.testing.assert_close(again, whole, atol=0, rtol=0)


def test_windowed_refinement_equals_whole_image_inside(net: ClickNet) -> None:
    image, maps, prev = _inputs()
    ys, xs = click_window((72, 88), (33, 43), 32)
    with torch.no_grad():
        features = net.encode(image)
        whole = net.decode(features, image, maps, prev)
        local = net.decode(features, image, maps, prev, window=(ys, xs))
        coarse = resize_to(net.decoder(features, torch.cat([maps, prev], 1)), image)
    h = LocalRefiner.halo
    inner = (..., slice(ys.start + h, ys.stop - h), slice(xs.start + h, xs.stop - h))
    torch.testing.assert_close(local[inner], whole[inner], atol=1e-6, rtol=0)
    outside = torch.ones_like(local, dtype=torch.bool)
    outside[..., ys, xs] = False
    assert torch.equal(local[outside], coarse[outside])  # no refinement outside the window
    assert not torch.allclose(whole, coarse)  # the refiner does change the logits


def test_late_fusion_trains_end_to_end() -> None:
    torch.manual_seed(0)
    model = ClickNet(ClickNetConfig(backbone="resnet18", fusion="late", width_mult=0.25)).train()
    image, maps, prev = _inputs()
    model(image, maps, prev).mean().backward()
    for part in (model.body, model.decoder, model.refiner):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads)


def test_early_fusion_cannot_encode_alone() -> None:
    model = ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.25))
    assert not model.encodes_once
    with pytest.raises(ValueError, match="encode"):
        model.encode(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize(
    ("center", "want"), [((5, 5), (0, 20)), ((50, 50), (30, 50)), ((20, 30), (10, 30))]
)
def test_click_window_stays_inside(center: tuple[int, int], want: tuple[int, int]) -> None:
    ys, xs = click_window((50, 60), center, 20)
    assert (ys.start, ys.stop) == want
    assert xs.stop - xs.start == 20 and xs.start >= 0 and xs.stop <= 60
