"""Training the OOSIS network (paper 001, Sec. 3.1) on tiny synthetic scenes: a smoke test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import load_ordernet, read_checkpoint
from occseg.errors import ConfigError
from occseg.train.config import OrderTrainConfig, load_config
from occseg.train.order import OrderTrainSet, train_order, training_targets


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    from occseg.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, n=2, width=64, height=64, seed=3, progress=False)
    return root


def _config(root: Path, out: Path, **kw) -> OrderTrainConfig:
    options = {
        "model": {"width_mult": 0.125, "pool_bins": [1, 2]},
        "data": [str(root)],
        "crop_size": [48, 48],
        "batch_size": 2,
        "steps": 2,
        "log_every": 1,
        "checkpoint_every": 1,
        "threads": 1,
        "out": str(out),
        **kw,
    }
    return OrderTrainConfig.from_dict(options)


def test_targets_of_a_scene(scenes):
    cfg = _config(scenes, scenes / "unused")
    data = OrderTrainSet(cfg)
    sample = data.sets[0][0]
    semantic, boundary, orientation = training_targets(sample, cfg.model_config().class_names)
    assert semantic.shape == boundary.shape == sample.instances.shape
    assert (semantic[sample.instances == 0] == 0).all() and (semantic > 0).any()
    assert not boundary[sample.instances == 0].any()  # the room occludes nothing
    np.testing.assert_allclose(orientation[boundary].sum(1), 1.0)
    item = data[5]
    assert item["image"].shape == (3, 48, 48) and item["orientation"].shape == (4, 48, 48)
    again = data[5]
    assert all((item[k] == again[k]).all() for k in item)  # seeded by the sample number


def test_two_steps_finite_loss_checkpoint_and_resume(scenes, tmp_path):
    summary = train_order(_config(scenes, tmp_path), progress=False)
    assert np.isfinite(summary["first_loss"]) and np.isfinite(summary["last_loss"])
    log = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    assert {"loss", "loss_s", "loss_b", "loss_e", "pixel_acc", "lr"} <= set(log[0])
    net = load_ordernet(tmp_path / "model.pt")
    assert net.config.class_names[0] == "background"
    payload = read_checkpoint(tmp_path / "last.pt", "occseg.ordernet")
    assert payload["step"] == 2 and tuple(payload["train_config"]["crop_size"]) == (48, 48)
    with torch.no_grad():
        out = net(torch.rand(1, 3, 40, 56))
    assert out.s.shape == (1, len(net.config.class_names), 40, 56)
    resumed = train_order(_config(scenes, tmp_path, steps=3), progress=False)
    assert resumed["start_step"] == 2
    assert read_checkpoint(tmp_path / "last.pt", "occseg.ordernet")["step"] == 3


def test_config_errors(tmp_path, scenes):
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({"data": [str(scenes)], "bogus": 1})
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({"data": [str(scenes)], "model": {"backbone": "vgg"}})
    with pytest.raises(ConfigError):
        OrderTrainConfig.from_dict({})
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {scenes}\nsteps: 5\n")
    assert load_config("order", path, steps=7).loop.steps == 7


def test_shipped_config_loads():
    cfg = load_config("order", Path(__file__).parents[2] / "configs" / "ordernet-cpu.yaml")
    assert cfg.model_config().backbone == "resnet18"
