"""Two-in-One training (paper ``002``, Sec. 3.3-3.4): the two stages on tiny generated shapes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from occseg.boundary_weights import boundary_aware_weights
from occseg.checkpoint import load_twoinone, read_checkpoint, save_checkpoint
from occseg.cli import main
from occseg.errors import ConfigError, FileFormatError
from occseg.nn import ClickNet, ClickNetConfig
from occseg.nn.twoinone import TwoInOne, TwoInOneConfig
from occseg.simulate.boundary_clicks import BoundaryClickSimulator
from occseg.train.config import TwoInOneTrainConfig, load_config
from occseg.train.sources import make_source
from occseg.train.twoinone import (
    TwoInOneTrainSet,
    choose_candidates,
    click_weights,
    train_twoinone,
)
from occseg.types import BoundaryClick, Click

FORMAT = "occseg.twoinone"
MODEL = {"width_mult": 0.25, "crop_size": 12}
DATA = [{"kind": "synthetic_shapes", "n": 16, "size": 48, "seed": 0}]


def _config(out: Path, **options: Any) -> TwoInOneTrainConfig:
    base: dict[str, Any] = {"model": MODEL, "data": DATA, "crop_size": [48, 48], "batch_size": 2}
    base.update(steps=3, log_every=1, checkpoint_every=2, threads=1, out=str(out), device="cpu")
    base.update(options)
    return TwoInOneTrainConfig.from_dict(base)


@pytest.fixture(scope="module")
def selection_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-step selection stage (the init of the refinement stage)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("selection")
    train_twoinone(_config(out), progress=False)
    return out


def test_config_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs init"):
        _config(tmp_path, stage="refinement")
    with pytest.raises(ConfigError, match="stage must be"):
        _config(tmp_path, stage="both")
    with pytest.raises(ConfigError, match="clicks"):
        _config(tmp_path, clicks={"clicks": [0, 2]})
    with pytest.raises(ConfigError, match="clicks"):
        _config(tmp_path, clicks={"jitter": 3})
    with pytest.raises(ConfigError, match="selection_iou"):
        _config(tmp_path, selection_iou=[0.6, 0.2])
    with pytest.raises(ConfigError, match="model"):
        _config(tmp_path, model={"backbone": "resnet18"})
    cfg = _config(tmp_path, stage="refinement", init="x.pt", selection_iou=[0.1, 0.7])
    assert cfg.selection_iou == (0.1, 0.7) and cfg.loop.lr_milestones == ()
    assert TwoInOneTrainConfig.from_dict(cfg.to_dict()) == cfg
    paper = TwoInOneTrainConfig()  # Sec. 3.4 defaults
    assert paper.selection_iou == (0.2, 0.6) and paper.boundary_aware
    assert (paper.click_window, paper.click_weight) == (40, 2.0)
    for switch in ("boundary_aware", "class_balanced"):  # YAML's "maybe" is not a boolean
        with pytest.raises(ConfigError, match=f"{switch} must be true or false, got 'maybe'"):
            _config(tmp_path, **{switch: "maybe"})
    with pytest.raises(ConfigError, match="crop threshold"):
        _config(tmp_path, crop_threshold=1.0)


def test_choose_candidates_takes_the_first_in_range_else_the_nearest() -> None:
    ious = np.array(
        [
            [0.9, 0.3, 0.5],  # first in range: 1
            [0.95, 0.65, 0.1],  # none: 0.65 is 0.05 above, 0.1 is 0.1 below
            [0.7, 0.1, 0.8],  # none, tie at 0.1: the first
            [0.2, 0.6, 0.4],  # the bounds are in range
        ]
    )
    assert choose_candidates(ious, 0.2, 0.6).tolist() == [1, 1, 0, 0]


def test_click_weights_double_a_40_pixel_window() -> None:
    valid = np.ones((100, 120), bool)
    valid[:, 110:] = False
    w = click_weights(
        [BoundaryClick(50, 60), BoundaryClick(55, 65), BoundaryClick(3, 2)], valid, 40, 2.0
    )
    assert w.dtype == np.float32
    expected = np.ones((100, 120), np.float32)
    expected[30:70, 40:80] = 2.0
    expected[35:75, 45:85] = 2.0  # overlapping windows count once
    expected[0:23, 0:22] = 2.0  # clipped at the image border
    expected[:, 110:] = 0.0
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("boundary_aware", [True, False])
def test_samples_carry_a_selection_click_and_the_eq2_weights(
    tmp_path: Path, boundary_aware: bool
) -> None:
    cfg = _config(tmp_path, boundary_aware=boundary_aware)
    data = TwoInOneTrainSet(make_source(cfg.data), cfg, cfg.simulator(), per_item=3)
    items = data[5]
    assert len(items) == 3
    for item in items:
        click = item["click"]
        assert isinstance(click, Click) and click.positive and item["mask"][click.y, click.x]
        if boundary_aware:
            np.testing.assert_array_equal(item["boundary"], boundary_aware_weights(item["mask"]))
        else:
            assert item["boundary"] is None
    again = data[5]
    assert [i["click"] for i in again] == [i["click"] for i in items]  # seeded by the sample


def test_selection_stage_trains_only_the_selection_network(selection_run: Path) -> None:
    log = [json.loads(x) for x in (selection_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) and 0 <= r["iou"] <= 1 for r in log)
    trained = read_checkpoint(selection_run / "model.pt", FORMAT)["model"]
    torch.manual_seed(0)  # the trainer's seed: the same initial weights
    fresh = TwoInOne(TwoInOneConfig(**MODEL)).state_dict()
    for key, value in fresh.items():
        if key.startswith("refinement."):
            assert torch.equal(trained[key], value), key  # frozen
    changed = [
        k for k in fresh if k.startswith("selection.") and not torch.equal(trained[k], fresh[k])
    ]
    assert any(k.startswith("selection.head.") for k in changed)
    assert any(k.startswith("selection.body.") for k in changed)


def test_refinement_stage_freezes_the_selection_and_resumes_exactly(
    selection_run: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    init = str(selection_run / "model.pt")
    options = {"stage": "refinement", "init": init, "candidates": 3, "steps": 4}
    full = train_twoinone(_config(tmp_path / "full", **options), progress=False)
    train_twoinone(_config(tmp_path / "part", **{**options, "steps": 2}), progress=False)
    resumed = train_twoinone(_config(tmp_path / "part", **options), progress=False)
    assert full["start_step"] == 0 and resumed["start_step"] == 2
    a = read_checkpoint(tmp_path / "full" / "last.pt", FORMAT)["model"]
    b = read_checkpoint(tmp_path / "part" / "last.pt", FORMAT)["model"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)
    start = read_checkpoint(init, FORMAT)["model"]
    for key, value in start.items():
        if key.startswith("selection."):  # weights and batch-norm statistics alike
            assert torch.equal(a[key], value), key
    assert any(not torch.equal(a[k], start[k]) for k in start if k.startswith("refinement."))
    log = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    for r in log:
        assert 0 <= r["selection_iou"] <= 1 and 0 <= r["in_range"] <= 1 and r["clicks"] <= 4
        assert 0 <= r["crop_selection_iou"] <= 1
    model = load_twoinone(tmp_path / "full" / "model.pt")
    assert model.config == TwoInOneConfig(**MODEL)


def test_a_residual_refinement_stage_on_a_trained_selection(
    selection_run: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    init = str(selection_run / "model.pt")
    rule = {"crop_threshold": 0.5, "crop_relative_pad": 0.25}
    options = {"stage": "refinement", "init": init, "candidates": 2, "steps": 2, **rule}
    train_twoinone(_config(tmp_path, model={"residual": True}, **options), progress=False)
    model = load_twoinone(tmp_path / "model.pt")
    assert model.config == TwoInOneConfig(**MODEL, residual=True)
    start, trained = read_checkpoint(init, FORMAT)["model"], model.state_dict()
    for key, value in start.items():
        if key.startswith("selection."):
            assert torch.equal(trained[key], value), key
    assert trained["refinement.head.weight"].abs().sum() > 0  # moved from its zero start
    first = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
    assert first["iou"] == first["crop_selection_iou"]  # before its first update: the selection
    train_config = read_checkpoint(tmp_path / "model.pt", FORMAT)["train_config"]
    assert {k: train_config[k] for k in rule} == rule  # the predictor crops the same way


def test_a_pnr_refinement_stage_trains_on_signed_clicks(
    selection_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``refinement_clicks: signed`` (the paper's PNR): the training user clicks inside the
    error regions with a sign, and the network takes them as two channels."""
    torch.set_num_threads(1)
    seen: list[Any] = []
    original = BoundaryClickSimulator.next

    def recording(self: BoundaryClickSimulator, *args: Any, **kwargs: Any) -> list[Any]:
        clicks = original(self, *args, **kwargs)
        seen.extend(clicks)
        return clicks

    monkeypatch.setattr(BoundaryClickSimulator, "next", recording)
    init = str(selection_run / "model.pt")
    options = {"stage": "refinement", "init": init, "candidates": 2, "steps": 2}
    train_twoinone(_config(tmp_path, model={"refinement_clicks": "signed"}, **options))
    model = load_twoinone(tmp_path / "model.pt")
    assert model.config.signed_clicks and model.refinement.blocks[0][0].in_channels == (
        model.selection.out_channels + 2
    )
    assert seen and all(isinstance(c, Click) for c in seen)


def test_refinement_refuses_other_model_options(selection_run: Path, tmp_path: Path) -> None:
    cfg = _config(
        tmp_path, stage="refinement", init=str(selection_run / "model.pt"), model={"sigma": 5.0}
    )
    with pytest.raises(ConfigError, match="init checkpoint"):
        train_twoinone(cfg, progress=False)
    not_twoinone = tmp_path / "other.pt"
    save_checkpoint(not_twoinone, ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125)))
    cfg = _config(tmp_path, stage="refinement", init=str(not_twoinone))
    with pytest.raises(FileFormatError, match="occseg train twoinone"):
        train_twoinone(cfg, progress=False)


def test_a_selection_stage_starts_from_an_encode_once_click_model(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(3)
    click_config = ClickNetConfig(backbone="efficientnet_lite0", width_mult=0.25, fusion="late")
    clicknet = ClickNet(click_config)
    save_checkpoint(tmp_path / "click.pt", clicknet)
    model = {**MODEL, "fusion": "late"}
    init = str(tmp_path / "click.pt")
    cfg = _config(tmp_path / "run", model=model, encoder_init=init, steps=1, lr=1e-9)
    train_twoinone(cfg, progress=False)
    trained = read_checkpoint(tmp_path / "run" / "model.pt", FORMAT)["model"]
    start = clicknet.state_dict()
    for key in ("body.backbone._conv_stem.weight", "decoder.fuse.3.0.weight", "decoder.head.bias"):
        torch.testing.assert_close(trained[f"selection.{key}"], start[key], rtol=0, atol=1e-6)
    (tmp_path / "click.pt").rename(tmp_path / "moved.pt")  # a resumed run needs only its own
    assert train_twoinone(replace(cfg, loop=replace(cfg.loop, steps=2)))["start_step"] == 1
    guidance = trained["selection.decoder.maps_stem.0.0.weight"]
    torch.testing.assert_close(
        guidance, start["decoder.maps_stem.0.0.weight"][:, :1], atol=1e-6, rtol=0
    )
    with pytest.raises(ConfigError, match="stage selection"):
        _config(tmp_path, stage="refinement", init="x.pt", encoder_init="click.pt")
    save_checkpoint(tmp_path / "early.pt", ClickNet(replace(click_config, fusion="conv1s")))
    with pytest.raises(ConfigError, match="encode-once"):
        train_twoinone(_config(tmp_path / "x", encoder_init=str(tmp_path / "early.pt")))
    save_checkpoint(tmp_path / "dt.pt", ClickNet(replace(click_config, encoding="distance")))
    with pytest.raises(ConfigError, match="0 where there is no click"):  # empty maps are 1
        train_twoinone(_config(tmp_path / "z", encoder_init=str(tmp_path / "dt.pt")))
    with pytest.raises(ConfigError, match="feature pyramid"):
        cfg = _config(tmp_path / "y", model={**MODEL, "width_mult": 0.5, "fusion": "late"})
        train_twoinone(replace(cfg, encoder_init=str(tmp_path / "moved.pt")))


def test_the_command_trains_a_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(
        json.dumps({"model": MODEL, "data": DATA, "crop_size": [40, 40], "batch_size": 1}) + "\n"
    )
    out = tmp_path / "run"
    code = main(["train", "twoinone", "--config", str(config), "--steps", "2", "--out", str(out),
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "trained steps 0..2" in err  # the console writes to stderr
    assert load_config("twoinone", config).stage == "selection"
    assert read_checkpoint(out / "model.pt", FORMAT)["step"] == 2
