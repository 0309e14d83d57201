"""ONNX export matches torch within 1e-4 (fixed and dynamic sizes)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from occseg.checkpoint import save_checkpoint
from occseg.nn import ClickNet, ClickNetConfig
from occseg.nn.export import export_onnx_bytes, export_onnx_parts
from occseg.predict.onnx import check_onnx, export_onnx

pytest.importorskip("onnxruntime")
torch.set_num_threads(1)


def _model(**options) -> ClickNet:
    torch.manual_seed(0)
    model = ClickNet(ClickNetConfig(width_mult=0.125, **options)).eval()
    for m in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("backbone", ["hrnet18s", "resnet18", "efficientnet_lite0"])
def test_dynamic_export_matches_torch(backbone: str) -> None:
    model = _model(backbone=backbone)
    data = export_onnx_bytes(model, height=48, width=64, dynamic=True)
    assert check_onnx(model, data, height=48, width=64) < 1e-4
    assert check_onnx(model, data, height=40, width=56) < 1e-4  # another size


def test_fixed_export_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from occseg.cli import main

    model = _model(fusion="conv1e")
    export_onnx(model, tmp_path / "m.onnx", height=32, width=32, dynamic=False)
    assert check_onnx(model, tmp_path / "m.onnx", height=32, width=32) < 1e-4
    save_checkpoint(tmp_path / "m.pt", model)
    args = ["export", "onnx", str(tmp_path / "m.pt"), str(tmp_path / "cli.onnx")]
    assert main([*args, "--height", "32", "--width", "40"]) == 0
    assert (tmp_path / "cli.onnx").stat().st_size > 1000
    assert "dither" not in capsys.readouterr().err  # the CLI reports on stderr
    model.config = replace(model.config, input_dither=1.0)  # the user is told to add it
    save_checkpoint(tmp_path / "d.pt", model)
    assert main(["export", "onnx", str(tmp_path / "d.pt"), str(tmp_path / "d.onnx")]) == 0
    assert "input dither" in capsys.readouterr().err


def test_encode_once_model_exports_encoder_and_decoder(tmp_path: Path) -> None:
    from occseg.cli import main

    model = _model(backbone="efficientnet_lite0", fusion="late")
    encoder, decoder = export_onnx_parts(model, height=48, width=64, dynamic=True)
    assert check_onnx(model, (encoder, decoder), height=48, width=64) < 1e-4
    assert check_onnx(model, (encoder, decoder), height=40, width=72) < 1e-4  # another size
    save_checkpoint(tmp_path / "late.pt", model)
    args = ["export", "onnx", str(tmp_path / "late.pt"), str(tmp_path / "late.onnx")]
    assert main([*args, "--height", "32", "--width", "40"]) == 0
    files = sorted(p.name for p in tmp_path.glob("late-*.onnx"))
    assert files == ["late-decoder.onnx", "late-encoder.onnx"]
    assert (
        check_onnx(model, [tmp_path / "late-encoder.onnx", tmp_path / "late-decoder.onnx"]) < 1e-4
    )
    with pytest.raises(ValueError, match="one graph"):
        export_onnx_parts(_model(backbone="resnet18"))
