"""One loop config shared by every kind: flat YAML keys, the kind's defaults, one loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from occseg.errors import ConfigError
from occseg.train.config import (
    CONFIGS,
    BoundaryTrainConfig,
    LoopConfig,
    OrderTrainConfig,
    TrainConfig,
    load_config,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = {
    "clicknet-default.yaml": "clicks",
    "clicknet-hrnet18s-cpu.yaml": "clicks",
    "clicknet-lite0-late.yaml": "clicks",
    "clicknet-lite0-late-320.yaml": "clicks",
    "clicknet-lite0-dither.yaml": "clicks",
    "clicknet-lite0-gpu.yaml": "clicks",
    "clicknet-lite0-early.yaml": "clicks",
    "clicknet-lite0-flat.yaml": "clicks",
    "clicknet-lite0-mixed.yaml": "clicks",
    "clicknet-resnet18-cpu.yaml": "clicks",
    "clicknet-tiny-test.yaml": "clicks",
    "mis-lite0-finetune10.yaml": "clicks",
    "mis-lite0-late.yaml": "clicks",
    "mis-lite0-scratch10.yaml": "clicks",
    "obnet-cpu.yaml": "boundaries",
    "obnet-lite0.yaml": "boundaries",
    "obnet-lite0-synth-ft.yaml": "boundaries",
    "obnet-lite0-wide.yaml": "boundaries",
    "obnet-lite0-w48.yaml": "boundaries",
    "obnet-lite0-w48-more.yaml": "boundaries",
    "ordernet-cpu.yaml": "order",
    "ordernet-lite0.yaml": "order",
    "ordernet-lite0-decoder.yaml": "order",
    "ordernet-lite0-gpu.yaml": "order",
    "ordernet-lite0-gpu-decay.yaml": "order",
    "ordernet-lite0-more-data.yaml": "order",
    "ordernet-lite0-scales.yaml": "order",
    "ordernet-lite0-full-scene.yaml": "order",
    "ordernet-lite0-photos.yaml": "order",
    "ordernet-lite0-selfocc.yaml": "order",
    "twoinone-lite0.yaml": "twoinone",
    "twoinone-lite0-refine.yaml": "twoinone",
    "twoinone-lite0-residual.yaml": "twoinone",
    "twoinone-lite0-pnr.yaml": "twoinone",
}


def test_every_shipped_config_is_listed_and_loads():
    assert sorted(p.name for p in CONFIG_DIR.glob("*.yaml")) == sorted(SHIPPED)
    for name, kind in SHIPPED.items():
        cfg = load_config(kind, CONFIG_DIR / name)
        assert isinstance(cfg, CONFIGS[kind])
        assert cfg.loop.out.startswith("runs/")
        again = type(cfg).from_dict(cfg.to_dict())  # the flat form round-trips
        assert again == cfg


def test_loop_keys_sit_beside_the_kind_keys_and_fill_the_loop():
    cfg = load_config("boundaries", CONFIG_DIR / "obnet-cpu.yaml", steps=7, out="elsewhere")
    assert cfg.loop.steps == 7 and cfg.loop.out == "elsewhere"
    assert cfg.loop.batch_size == 4 and cfg.loop.lr_milestones == (0.8,)
    assert cfg.fp_scribble_weight == 10.0
    flat = cfg.to_dict()
    assert flat["steps"] == 7 and flat["fp_scribble_weight"] == 10.0 and "loop" not in flat


def test_each_kind_keeps_its_loop_defaults():
    clicks = TrainConfig()
    assert clicks.loop.backbone_lr_mult == 0.1 and clicks.loop.lr_milestones == (0.9, 0.96)
    bounds = BoundaryTrainConfig.from_dict({"seed": 3})
    assert bounds.loop.batch_size == 4 and bounds.loop.steps == 2000 and bounds.loop.seed == 3
    order = OrderTrainConfig.from_dict({"data": ["d"]})
    assert order.loop.out == "runs/ordernet" and order.loop.batch_size == 8


@pytest.mark.parametrize(
    ("key", "value"),
    [("steps", 0), ("batch_size", -1), ("lr", 0), ("lr_gamma", -0.1), ("seed", -1),
     ("workers", -2), ("threads", 0), ("log_every", 0), ("checkpoint_every", 0),
     ("lr_milestones", [0.5, 1.5]), ("steps", "many"), ("out", " ")],
)  # fmt: skip
def test_bad_loop_values_name_the_option(key, value):
    with pytest.raises(ConfigError, match=key):
        TrainConfig.from_dict({key: value})
    with pytest.raises(ConfigError, match=key):
        LoopConfig(**{key: value})


def test_unknown_keys_and_kinds_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown option\(s\) stepz; known: .*checkpoint_every"):
        OrderTrainConfig.from_dict({"data": ["d"], "stepz": 1})
    with pytest.raises(ConfigError, match="unknown training kind 'segments'"):
        load_config("segments", CONFIG_DIR / "obnet-cpu.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_dict(["steps", 3])  # type: ignore[arg-type]
