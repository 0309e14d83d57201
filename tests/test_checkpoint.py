"""A checkpoint alone rebuilds an identical model; bad files give clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from occseg.checkpoint import load_clicknet, read_checkpoint, save_checkpoint
from occseg.errors import ConfigError, FileFormatError
from occseg.nn import ClickNet, ClickNetConfig

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("backbone", "fusion"),
    [("hrnet18s", "conv1e"), ("resnet18", "conv1e"), ("efficientnet_lite0", "late")],
)
def test_round_trip_rebuilds_identical_model(tmp_path: Path, backbone: str, fusion: str) -> None:
    torch.manual_seed(0)
    model = ClickNet(ClickNetConfig(backbone=backbone, width_mult=0.125, fusion=fusion))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    image, maps = torch.rand(2, 3, 24, 24), torch.rand(2, 2, 24, 24)
    model(image, maps).mean().backward()  # give the optimizer some state
    opt.step()
    model.eval()
    path = tmp_path / "ck.pt"
    save_checkpoint(path, model, optimizer=opt, step=7, train_config={"lr": 1e-3})
    loaded = load_clicknet(path)
    assert loaded.config == model.config
    for (ka, a), (kb, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(a, b)
    torch.testing.assert_close(loaded(image, maps), model(image, maps), atol=0, rtol=0)
    payload = read_checkpoint(path)
    assert payload["step"] == 7 and payload["optimizer"]["state"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file


def test_half_checkpoint_is_smaller_and_close(tmp_path: Path) -> None:
    model = ClickNet(ClickNetConfig(width_mult=0.25)).eval()
    save_checkpoint(tmp_path / "f.pt", model)
    save_checkpoint(tmp_path / "h.pt", model, half=True)
    assert (tmp_path / "h.pt").stat().st_size < 0.7 * (tmp_path / "f.pt").stat().st_size
    image, maps = torch.rand(1, 3, 32, 32), torch.rand(1, 2, 32, 32)
    torch.testing.assert_close(
        load_clicknet(tmp_path / "h.pt")(image, maps), model(image, maps), atol=5e-2, rtol=0
    )


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FileFormatError, match="not a readable torch checkpoint") as info:
        read_checkpoint(tmp_path / "junk.pt")
    assert "weights_only" not in str(info.value) and len(str(info.value)) < 200  # one short line
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(FileFormatError, match="not an occseg"):
        read_checkpoint(tmp_path / "other.pt")
