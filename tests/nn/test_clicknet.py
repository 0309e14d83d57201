"""The click model: input variants, output shape, gradients, config round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from occseg.nn import ClickNet, ClickNetConfig
from occseg.types import Click

torch.set_num_threads(1)


@pytest.mark.parametrize(
    "options",
    [
        {"fusion": "conv1s"},
        {"fusion": "conv1e"},
        {"fusion": "conv1s", "encoding": "distance", "prev_mask": False},
        {"backbone": "resnet18", "fusion": "conv1s"},
    ],
)
def test_forward_shapes_and_gradients(options: dict) -> None:
    torch.manual_seed(0)
    cfg = ClickNetConfig(width_mult=0.125, **{"backbone": "hrnet18s", **options})
    model = ClickNet(cfg)
    encoder = cfg.make_encoder()
    maps = encoder.encode([Click(5, 7, True), Click(20, 30, False)], (26, 38))
    assert maps.shape == (2, 26, 38)
    image = torch.rand(2, 3, 26, 38)
    maps_t = torch.from_numpy(np.stack([maps, maps]))
    prev = torch.rand(2, 1, 26, 38)
    logits, aux = model.forward_with_aux(image, maps_t, prev)
    assert logits.shape == (2, 1, 26, 38)
    assert (aux is not None) == cfg.backbone.startswith("hrnet")
    logits.mean().backward()
    assert all(p.grad is not None for p in model.other_parameters() if p is not model.head.bias)


def test_maps_change_the_output() -> None:
    torch.manual_seed(0)
    model = ClickNet(ClickNetConfig(width_mult=0.125)).eval()
    model.maps_block[-1].scale.data.fill_(1.0)  # make the tiny random model sensitive
    image = torch.rand(1, 3, 32, 32)
    a = model(image, torch.zeros(1, 2, 32, 32))
    b = model(image, torch.ones(1, 2, 32, 32))
    assert not torch.allclose(a, b)


def test_backbone_parameter_split() -> None:
    model = ClickNet(ClickNetConfig(width_mult=0.125))
    bb, other = model.backbone_parameters(), model.other_parameters()
    assert len(bb) + len(other) == len(list(model.parameters()))
    assert {id(p) for p in model.maps_block.parameters()} <= {id(p) for p in other}


def test_config_dict_round_trip_and_validation() -> None:
    cfg = ClickNetConfig(backbone="resnet34", width_mult=0.5, fusion="conv1e")
    assert ClickNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model option"):
        ClickNetConfig.from_dict({"backbon": "resnet34"})
    with pytest.raises(ValueError, match="fusion"):
        ClickNetConfig(fusion="dmf")
    with pytest.raises(ValueError, match="encoding"):
        ClickNetConfig(encoding="square")
