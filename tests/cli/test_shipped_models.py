"""The shipped OB and order models by default or by name on the command line: ``occseg order
IMAGE`` without ``--model``, ``occseg eval order --model ordernet``, ``occseg eval boundaries
--method obnet``; and one-line errors naming the training command when they are not installed.

Tiny untrained networks stand in for the shipped files (saved in half precision, as those are),
so these tests hold whether or not the real ones are installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny synthetic data set, one of its images, and tiny OB and order checkpoints (float32
    and their half-precision "shipped" copies)."""
    from occseg.checkpoint import save_checkpoint
    from occseg.nn.obnet import OBNet, OBNetConfig
    from occseg.nn.ordernet import OrderNet, OrderNetConfig
    from occseg.synth import generate_dataset
    from occseg.train.config import default_class_names

    root = tmp_path_factory.mktemp("shipped")
    generate_dataset(root / "synth", n=1, width=48, height=48, seed=5, progress=False)
    image = next((root / "synth").glob("*/rgb.png"))
    torch.manual_seed(0)
    ob = OBNet(OBNetConfig(width_mult=0.25, channels=4, boundary_channels=4, strip_kernel=5))
    order_config = OrderNetConfig(
        width_mult=0.125, pool_bins=(1, 2), class_names=default_class_names()
    )
    order = OrderNet(order_config)
    paths = {"synth": root / "synth", "image": image}
    for name, net in [("obnet", ob), ("ordernet", order)]:
        paths[name] = root / "shipped" / f"{name}.pt"
        paths[name].parent.mkdir(exist_ok=True)
        save_checkpoint(paths[name], net, half=True)
    return paths


@pytest.fixture
def shipped(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The tiny checkpoints installed as the shipped models."""
    monkeypatch.setattr("occseg.predict.boundary_map.DEFAULT_OBNET", files["obnet"])
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", files["ordernet"])
    return files


def test_order_without_model_uses_the_shipped_one(shipped, tmp_path, capsys):
    default, path = tmp_path / "default", tmp_path / "path"
    image = str(shipped["image"])
    assert main(["order", image, "--out", str(default)]) == 0
    assert main(["order", image, "--model", str(shipped["ordernet"]), "--out", str(path)]) == 0
    capsys.readouterr()
    assert (default / "instances.png").read_bytes() == (path / "instances.png").read_bytes()
    graph = [json.loads((p / "graph.json").read_text()) for p in (default, path)]
    assert graph[0] == graph[1]


def test_eval_order_names_the_shipped_model(shipped, tmp_path, capsys):
    out = tmp_path / "eval"
    args = ["eval", "order", "--dataset", f"synth:{shipped['synth']}", "--model", "ordernet"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "ordernet" and summary["n_images"] == 1
    assert "with the network ordernet on synth:" in (out / "summary.md").read_text()


def test_eval_boundaries_names_the_shipped_model(shipped, tmp_path, capsys):
    base = ["eval", "boundaries", "--dataset", f"synth:{shipped['synth']}", "--n-thresholds", "5"]
    named, path = tmp_path / "named", tmp_path / "path"
    assert main([*base, "--method", "obnet", "--out", str(named)]) == 0
    assert capsys.readouterr().out.startswith("obnet on synth:")
    assert main([*base, "--method", str(shipped["obnet"]), "--out", str(path)]) == 0
    capsys.readouterr()
    a, b = (json.loads((p / "summary.json").read_text()) for p in (named, path))
    assert a["n_images"] == 1 and np.isfinite(a["ODS"])
    assert a["ODS"] == b["ODS"] and a["AP"] == b["AP"] and a["curve"] == b["curve"]


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["order", "{image}", "--out", "{new}"], "occseg train order --config "),
        (["eval", "order", "--dataset", "synth:{synth}", "--model", "ordernet", "--out", "{new}"],
         "occseg train order --config configs/ordernet-lite0.yaml"),
        (["eval", "boundaries", "--dataset", "synth:{synth}", "--method", "obnet", "--out",
          "{new}"], "occseg train boundaries --config "),
    ],
)  # fmt: skip
def test_a_missing_shipped_model_is_one_line_naming_the_training(
    files, tmp_path, monkeypatch, capsys, args, command
):
    monkeypatch.setattr("occseg.predict.boundary_map.DEFAULT_OBNET", tmp_path / "no" / "ob.pt")
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", tmp_path / "no" / "order.pt")
    new = tmp_path / "new-output"
    argv = [a.format(new=new, image=files["image"], synth=files["synth"]) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not installed" in err and command in err
    assert not new.exists()


def test_help_names_the_shipped_models(capsys):
    assert main(["order", "--help"]) == 0
    assert "ordernet" in capsys.readouterr().out
    assert main(["eval", "order", "--help"]) == 0
    assert "ordernet" in capsys.readouterr().out
    assert main(["eval", "boundaries", "--help"]) == 0
    assert "obnet" in capsys.readouterr().out
