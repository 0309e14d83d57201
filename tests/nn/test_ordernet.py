"""The joint semantic / oriented-boundary network of OOSIS (paper 001, Sec. 3.1) and its loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from occseg.nn.backbones import LITE_SPECS
from occseg.nn.backbones.base import IMAGE_MEAN
from occseg.nn.backbones.efficientnet import EFFICIENTNET_MEAN, imagenet_state_dict
from occseg.nn.losses import oosis_loss
from occseg.nn.ordernet import OrderNet, OrderNetConfig, bilinear_deconv, oriented


def _tiny(**kw) -> OrderNet:
    torch.manual_seed(0)
    return OrderNet(OrderNetConfig(width_mult=0.125, class_names=("bg", "a", "b"), **kw))


@pytest.mark.parametrize("decoder_width", [0, 8])
@pytest.mark.parametrize("stride", [8, 16])
def test_shapes_any_input_size(stride, decoder_width):
    net = _tiny(output_stride=stride, decoder_width=decoder_width).eval()
    out = net(torch.rand(2, 3, 45, 61))
    assert out.s.shape == (2, 3, 45, 61)
    assert out.b.shape == (2, 1, 45, 61)
    assert out.e.shape == (2, 4, 45, 61)


def test_the_decoder_puts_the_heads_at_stride_4():
    net = _tiny(output_stride=16, decoder_width=8).eval()
    assert net.decoder is not None and net.head_b.in_channels == 8
    assert net.up_s.stride == net.up_be.stride == (4, 4)
    logits: list[torch.Tensor] = []
    net.head_b.register_forward_hook(lambda m, i, o: logits.append(o))
    net(torch.rand(1, 3, 64, 96))
    assert logits[0].shape[-2:] == (16, 24)
    assert _tiny(output_stride=16).up_be.stride == (16, 16)  # the paper: at the output stride
    with pytest.raises(ValueError, match="decoder_width"):
        OrderNetConfig(decoder_width=-1)


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


@pytest.mark.parametrize("decoder_width", [0, 8])
def test_gradients_reach_every_parameter(decoder_width):
    net = _tiny(decoder_width=decoder_width).train()
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
    # a boundary pixel marked as a hard negative keeps w ...
    hard = torch.tensor([[[True, False]]])
    _, same = oosis_loss(s, b, e, sem, bnd, ori, w=0.9, hard_negatives=hard, hard_weight=0.5)
    assert same["b"] == pytest.approx(parts["b"])
    # ... and a non-boundary one weighs hard_weight instead of 1 - w
    _, heavy = oosis_loss(s, b, e, sem, bnd, ori, w=0.9, hard_negatives=~hard, hard_weight=0.5)
    assert heavy["b"] == pytest.approx(float((0.9 + 0.5) * ln2 / 2))
    with pytest.raises(ValueError, match="both"):
        oosis_loss(s, b, e, sem, bnd, ori, hard_negatives=hard)


def test_config_round_trip_and_errors():
    cfg = OrderNetConfig(width_mult=0.25, class_names=("bg", "box"))
    assert OrderNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        OrderNetConfig(backbone="hrnet18s")
    with pytest.raises(ValueError):
        OrderNetConfig(class_names=("bg",))
    with pytest.raises(ValueError):
        OrderNetConfig.from_dict({"bogus": 1})


def _lite(**kw) -> OrderNet:
    torch.manual_seed(0)
    cfg = OrderNetConfig(
        backbone="efficientnet_lite0", width_mult=0.125, class_names=("bg", "a", "b"), **kw
    )
    return OrderNet(cfg)


@pytest.mark.parametrize("stride", [8, 16])
def test_pretrained_lite_trunk_shapes_and_gradients(stride):
    net = _lite(output_stride=stride, pretrained=True)
    net.load_pretrained()
    out = net.train()(torch.rand(2, 3, 45, 61))
    assert out.s.shape == (2, 3, 45, 61) and out.b.shape == (2, 1, 45, 61)
    assert out.e.shape == (2, 4, 45, 61)
    # the deepest level (the pyramid pooling's input) is at the output stride
    assert net.trunk.forward_levels(torch.rand(1, 3, 64, 64))[-1].shape[-1] == 64 // stride
    sem = torch.randint(0, 3, (2, 45, 61))
    bnd = torch.zeros(2, 45, 61)
    bnd[:, 10, :] = 1
    ori = torch.zeros(2, 4, 45, 61)
    ori[:, 3, 10, :] = 1
    loss, _ = oosis_loss(out.s, out.b, out.e, sem, bnd, ori)
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing and torch.isfinite(loss)


@pytest.mark.parametrize("name", sorted(LITE_SPECS))
def test_pretrained_lite_trunk_holds_the_packaged_weights(name):
    net = OrderNet(OrderNetConfig(backbone=name, width_mult=0.125, pretrained=True))
    state = imagenet_state_dict(name)
    key = f"_blocks.{len(net.trunk._blocks) - 1}._depthwise_conv.weight"
    assert not torch.equal(net.trunk.state_dict()[key], state[key])  # built untrained
    net.load_pretrained()
    trunk = net.trunk.state_dict()
    assert all(torch.equal(trunk[k], state[k]) for k in trunk)  # every trunk tensor, head aside
    assert net.normalize.mean.flatten().tolist() == pytest.approx(list(EFFICIENTNET_MEAN))


def test_pretrained_needs_packaged_weights():
    with pytest.raises(ValueError, match="no packaged ImageNet weights"):
        OrderNetConfig(pretrained=True)
    with pytest.raises(ValueError, match="no packaged ImageNet weights"):
        _tiny().load_pretrained()
    assert _tiny().normalize.mean.flatten().tolist() == pytest.approx(list(IMAGE_MEAN))


def test_checkpoint_round_trip_and_old_checkpoints(tmp_path):
    from occseg.checkpoint import load_ordernet, save_checkpoint

    net = _lite(pretrained=True)
    net.load_pretrained()
    save_checkpoint(tmp_path / "lite.pt", net)
    back = load_ordernet(tmp_path / "lite.pt")
    assert back.config == net.config and back.config.pretrained
    image = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        a, b = back(image), net.eval()(image)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    # a checkpoint written by the config class before the backbone option (no ``pretrained``)
    old_net = _tiny()
    save_checkpoint(tmp_path / "new.pt", old_net)
    payload = torch.load(tmp_path / "new.pt", weights_only=True)
    del payload["model_config"]["pretrained"]
    torch.save(payload, tmp_path / "old.pt")
    old = load_ordernet(tmp_path / "old.pt")
    assert old.config == old_net.config and not old.config.pretrained
    assert all(torch.equal(v, old_net.state_dict()[k]) for k, v in old.state_dict().items())
