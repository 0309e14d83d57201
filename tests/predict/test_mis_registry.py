"""``load_predictor("mis")``: the shipped mask-free click model (MIS, paper ``004``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from occseg.checkpoint import save_checkpoint
from occseg.errors import ConfigError
from occseg.nn import ClickNet, ClickNetConfig
from occseg.predict import available_methods, load_predictor, registry
from occseg.predict.clicknet import ClickNetPredictor


def test_missing_model_says_how_to_train_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "mis" in available_methods()
    monkeypatch.setattr(registry, "DEFAULT_MIS", tmp_path / "none.pt")
    with pytest.raises(ConfigError, match="not installed") as info:
        load_predictor("mis")
    message = str(info.value)
    assert "occseg train clicks --config configs/mis-lite0-late.yaml" in message
    assert "\n" not in message


def test_installed_model_loads_as_a_click_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    path = tmp_path / "mis.pt"
    save_checkpoint(path, ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125)))
    monkeypatch.setattr(registry, "DEFAULT_MIS", path)
    assert isinstance(load_predictor("mis"), ClickNetPredictor)
    assert isinstance(load_predictor("MIS", zoom_in=False, flip=False), ClickNetPredictor)
    with pytest.raises(ConfigError, match="does not take the option"):  # options reach it
        load_predictor("mis", pad=3)
