"""The joint semantic / oriented-boundary network of OOSIS (paper 001, Sec. 3.1) and its loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from occseg.nn.losses import oosis_loss
from occseg.nn.ordernet import OrderNet, OrderNetConfig, bilinear_deconv, oriented


def _tiny(**kw) -> OrderNet:
    torch.manual_seed(0)
    return OrderNet(OrderNetConfig(width_mult=0.125, class_names=("bg", "a", "b"), **kw))


@pytest.mark.parametrize("stride", [8, 16])
def test_shapes_any_input_size(stride):
    net = _tiny(output_stride=stride).eval()
    out = net(torch.rand(2, 3, 45, 61))
    assert out.s.shape == (2, 3, 45, 61)
    assert out.b.shape == (2, 1, 45, 61)
    assert out.e.shape == (2, 4, 45, 61)


@pytest.mark.parametrize("depthwise", [True, False])
def test_bilinear_initialisation_is_bilinear_upsampling(depthwise):
    for factor in (8, 16):
        up = bilinear_deconv(5, factor, depthwise=depthwise)
        x = torch.randn(2, 5, 4, 6)
        got = up(x)
        ref = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        m = factor // 2  # the border half-cell differs (interpolate clamps, deconv pads with 0)
        assert got.shape == ref.shape
        torch.testing.assert_close(got[..., m:-m, m:-m], ref[..., m:-m, m:-m])


def test_semantic_upsampling_is_per_channel_and_boundary_upsampling_mixes_channels():
    net = _tiny()
    assert net.up_s.groups == net.config.n_classes
    assert net.up_be.groups == 1 and net.up_be.weight.shape[:2] == (5, 5)


def test_gradients_reach_every_parameter():
    net = _tiny().train()
    out = net(torch.rand(2, 3, 32, 32))
    sem = torch.randint(0, 3, (2, 32, 32))
    bnd = torch.zeros(2, 32, 32)
    bnd[:, 10, :] = 1
    ori = torch.zeros(2, 4, 32, 32)
    ori[:, 3, 10, :] = 1
    loss, parts = oosis_loss(out.s, out.b, out.e, sem, bnd, ori)
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"s", "b", "e"}
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing


def test_oriented_is_a_distribution_eq3():
    b = torch.rand(1, 1, 3, 3)
    e = torch.softmax(torch.randn(1, 4, 3, 3), 1)
    o = oriented(b, e)
    assert o.shape == (1, 5, 3, 3)
    torch.testing.assert_close(o.sum(1), torch.ones(1, 3, 3))
    torch.testing.assert_close(o[:, 4:], 1 - b)


def test_loss_terms_eq4():
    # two pixels: a boundary pixel occluding its left neighbour, and a non-boundary pixel
    s = torch.zeros(1, 2, 1, 2)
    b = torch.zeros(1, 1, 1, 2)  # sigmoid 0.5
    e = torch.zeros(1, 4, 1, 2)  # uniform orientation
    sem = torch.tensor([[[1, 0]]])
    bnd = torch.tensor([[[1.0, 0.0]]])
    ori = torch.zeros(1, 4, 1, 2)
    ori[0, 0, 0, 0] = 1
    loss, parts = oosis_loss(s, b, e, sem, bnd, ori, w=0.9)
    ln2, ln4 = torch.log(torch.tensor(2.0)), torch.log(torch.tensor(4.0))
    assert parts["s"] == pytest.approx(float(ln2))
    assert parts["b"] == pytest.approx(float((0.9 + 0.1) * ln2 / 2))
    assert parts["e"] == pytest.approx(float(ln4 / 2))  # only the boundary pixel counts
    assert float(loss) == pytest.approx(sum(parts.values()))


def test_config_round_trip_and_errors():
    cfg = OrderNetConfig(width_mult=0.25, class_names=("bg", "box"))
    assert OrderNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        OrderNetConfig(backbone="hrnet18s")
    with pytest.raises(ValueError):
        OrderNetConfig(class_names=("bg",))
    with pytest.raises(ValueError):
        OrderNetConfig.from_dict({"bogus": 1})
