"""The scribble-interactive OB network (paper 000, Sec. 3.2) and its deep-supervision loss."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from occseg.checkpoint import load_obnet, read_checkpoint, save_checkpoint
from occseg.nn.backbones import LITE_SPECS, build_trunk
from occseg.nn.backbones.efficientnet import EFFICIENTNET_MEAN, imagenet_state_dict
from occseg.nn.losses import class_balanced_bce, deep_supervision_loss
from occseg.nn.obnet import N_SIDES, OBNet, OBNetConfig

TINY = {"width_mult": 0.25, "channels": 4, "boundary_channels": 4, "strip_kernel": 5}
LITE = {"channels": 8, "boundary_channels": 4, "strip_kernel": 5}
SHIPPED = Path(__file__).parents[2] / "src" / "occseg" / "models" / "obnet.pt"


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"upsample": "pixel_shuffle"},
        {"backbone": "hrnet18s"},
        {"prev_output": False},
        {"backbone": "efficientnet_lite0", "pretrained": True},
    ],
)
def test_shapes_and_gradients(options: dict) -> None:
    torch.manual_seed(0)
    net = OBNet(OBNetConfig(**{**TINY, **options}))
    if net.config.pretrained:
        net.load_pretrained()  # the stem's interaction channels start at zero ...
    image = torch.rand(2, 3, 64, 48)
    maps = torch.zeros(2, 2, 64, 48)
    maps[:, 0, 10:20, 10:20] = 1
    prev = torch.rand(2, 1, 64, 48)
    fused, sides = net(image, maps, prev, with_sides=True)
    assert fused.shape == (2, 1, 64, 48)
    assert sides.shape == (2, N_SIDES, 64, 48)
    target = torch.zeros(2, 1, 64, 48)
    target[:, :, 30, :] = 1
    loss = deep_supervision_loss(fused, sides, target)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # the image and the interaction maps both reach the first convolution (... and learn)
    first = next(m for m in net.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 6 and first.weight.grad[:, 3:].abs().sum() > 0


@pytest.mark.parametrize("name", sorted(LITE_SPECS))
def test_pretrained_lite_trunk_holds_the_packaged_weights(name: str) -> None:
    net = OBNet(OBNetConfig(backbone=name, pretrained=True, **LITE))
    assert net.config.level_strides == (2, 4, 8, 16, 32)
    state = imagenet_state_dict(name)
    key = f"_blocks.{len(net.backbone._blocks) - 1}._project_conv.weight"
    assert not torch.equal(net.backbone.state_dict()[key], state[key])  # built untrained
    net.load_pretrained()
    assert torch.equal(net.backbone.state_dict()[key], state[key])
    stem = net.backbone.state_dict()["_conv_stem.weight"]
    assert torch.equal(stem[:, :3], state["_conv_stem.weight"]) and not stem[:, 3:].any()
    # normalised as the trunk was trained: (255 x - 127) / 128
    assert net.normalize.mean.flatten().tolist() == pytest.approx(list(EFFICIENTNET_MEAN))
    with torch.no_grad():
        out = net.eval()(torch.rand(1, 3, 40, 56), torch.zeros(1, 2, 40, 56))
    assert out.shape == (1, 1, 40, 56) and torch.isfinite(out).all()


def test_pretrained_needs_packaged_weights() -> None:
    with pytest.raises(ValueError, match="no packaged ImageNet weights"):
        OBNetConfig(backbone="resnet18", pretrained=True)
    with pytest.raises(ValueError, match="no packaged ImageNet weights"):
        OBNet(OBNetConfig(**TINY)).load_pretrained()


def test_checkpoint_round_trip_of_a_pretrained_lite_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = OBNet(OBNetConfig(backbone="efficientnet_lite0", pretrained=True, **LITE))
    net.load_pretrained()
    save_checkpoint(tmp_path / "ob.pt", net)
    back = load_obnet(tmp_path / "ob.pt")
    assert back.config == net.config and back.config.pretrained
    image, maps = torch.rand(1, 3, 48, 64), torch.zeros(1, 2, 48, 64)
    maps[:, 1, 10:20, 30:40] = 1
    with torch.no_grad():
        torch.testing.assert_close(back(image, maps), net.eval()(image, maps), rtol=0, atol=0)


def test_checkpoints_written_before_the_backbone_option_load(tmp_path: Path) -> None:
    # the shipped model records its ImageNet start (rebuilding it never loads those weights)
    assert read_checkpoint(SHIPPED, "occseg.obnet")["model_config"]["pretrained"] is True
    shipped = load_obnet(SHIPPED)
    assert shipped.config.backbone == "efficientnet_lite0" and shipped.config.pretrained
    assert shipped.normalize.mean.flatten().tolist() == pytest.approx(list(EFFICIENTNET_MEAN))
    # an old-style payload (no ``pretrained`` key) of a default model rebuilds the same weights
    net = OBNet(OBNetConfig(**TINY))
    save_checkpoint(tmp_path / "new.pt", net)
    payload = torch.load(tmp_path / "new.pt", weights_only=True)
    del payload["model_config"]["pretrained"]
    torch.save(payload, tmp_path / "old.pt")
    old = load_obnet(tmp_path / "old.pt")
    assert old.config == net.config
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in old.state_dict().items())


def test_odd_size_and_plain_forward() -> None:
    net = OBNet(OBNetConfig(**TINY)).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 37, 51), torch.zeros(1, 2, 37, 51))
    assert out.shape == (1, 1, 37, 51)


def test_interaction_maps_change_the_output() -> None:
    torch.manual_seed(0)
    net = OBNet(OBNetConfig(**TINY)).eval()
    image = torch.rand(1, 3, 64, 64)
    maps = torch.zeros(1, 2, 64, 64)
    with torch.no_grad():
        a = net(image, maps)
        maps[:, 0, 20:40, 20:40] = 1
        b = net(image, maps)
    assert not torch.allclose(a, b)


def test_prev_ignored_without_prev_output() -> None:
    net = OBNet(OBNetConfig(**TINY, prev_output=False)).eval()
    image, maps = torch.rand(1, 3, 32, 32), torch.zeros(1, 2, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(image, maps, torch.ones(1, 1, 32, 32)), net(image, maps))


def test_trunk_levels() -> None:
    for name, strides in (("resnet18", (2, 4, 8, 16, 16)), ("hrnet18s", (2, 4, 8, 16, 32))):
        trunk = build_trunk(name, 0.25, in_channels=6)
        levels = trunk.forward_levels(torch.rand(1, 6, 64, 64))
        assert [lv.shape[1] for lv in levels] == trunk.level_channels
        assert [64 // lv.shape[-1] for lv in levels] == list(strides)


def test_config_validation_and_round_trip() -> None:
    cfg = OBNetConfig(**TINY)
    assert OBNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model option"):
        OBNetConfig.from_dict({"chanels": 3})
    with pytest.raises(ValueError, match="strip_kernel"):
        OBNetConfig(strip_kernel=4)
    with pytest.raises(ValueError, match="upsample"):
        OBNetConfig(upsample="nearest")


def test_class_balanced_bce() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[..., 0, :] = 1
    logits = torch.zeros(1, 1, 4, 4)
    # β = 12/16; every pixel has -log p = log 2
    expected = (0.75 * 4 + 0.25 * 12) * torch.log(torch.tensor(2.0)) / 16
    assert torch.isclose(class_balanced_bce(logits, target), expected)
    # ignored pixels neither count nor change β
    weight = torch.ones_like(target)
    weight[..., 3, :] = 0
    got = class_balanced_bce(logits, target, weight)
    expected = (8 / 12 * 4 + 4 / 12 * 8) * torch.log(torch.tensor(2.0)) / 12
    assert torch.isclose(got, expected)


def test_class_balanced_bce_per_pixel_negative_weight() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[..., 0, :] = 1
    logits = torch.zeros(1, 1, 4, 4)
    lam = torch.ones_like(target)
    lam[..., 2:, :] = 10.0  # 8 negatives weigh 10×, the positives are untouched
    expected = (0.75 * 4 + 0.25 * (4 + 10 * 8)) * torch.log(torch.tensor(2.0)) / 16
    assert torch.isclose(class_balanced_bce(logits, target, neg_weight=lam), expected)
    lam[..., 0, :] = 100.0  # λ on positive pixels has no effect
    assert torch.isclose(class_balanced_bce(logits, target, neg_weight=lam), expected)


def test_deep_supervision_sums_sides_and_fused() -> None:
    target = (torch.rand(2, 1, 8, 8) > 0.8).float()
    fused = torch.randn(2, 1, 8, 8)
    sides = torch.randn(2, 3, 8, 8)
    got = deep_supervision_loss(fused, sides, target[:, 0], side_weight=0.5)
    want = class_balanced_bce(fused, target) + 0.5 * sum(
        class_balanced_bce(sides[:, k : k + 1], target) for k in range(3)
    )
    assert torch.isclose(got, want)
