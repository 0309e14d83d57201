"""The one-command GPU recipe (``tools/gpu-train.sh order|clicks``), run on the CPU with tiny
crops: scenes, probe, a run sized to the budget, and the half-precision model in ``$OUT``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from occseg.checkpoint import FORMAT, ORDER_FORMAT, load_clicknet, read_checkpoint
from occseg.predict.ordernet import load_order_model

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gpu-train.sh"


def _run(env: dict[str, str], wheels: Path, *kinds: str) -> subprocess.CompletedProcess:
    """The script with this interpreter and its packages (no wheels from ``wheels``)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OUT", "PYTHONPATH")}
    return subprocess.run(
        ["bash", str(SCRIPT), *(kinds or ("order",))],
        env={**clean, "PYTHON": sys.executable, "WHEELS": str(wheels), **env},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _tiny_config(tmp_path: Path, kind: str = "order", **options: object) -> Path:
    """The kind's GPU config with 64² crops, batch 2, no workers, on the CPU, in ``tmp_path``;
    the click config's data are generated shapes and scenes (no photographs)."""
    name = {"order": "ordernet-lite0-gpu.yaml", "clicks": "clicknet-lite0-gpu.yaml"}[kind]
    config = yaml.safe_load((ROOT / "configs" / name).read_text())
    scenes = str(tmp_path / "scenes")
    data: list = [scenes]
    if kind == "clicks":
        shapes = {"kind": "synthetic_shapes", "n": 8, "size": 64, "seed": 3}
        data = [shapes, {"kind": "dataset", "spec": f"synth:{scenes}"}]
    config.update(
        data=data, out=str(tmp_path / f"run-{kind}"), init=str(ROOT / config["init"]),
        crop_size=[64, 64], batch_size=2, workers=0, device="cpu", **options,
    )  # fmt: skip
    (tmp_path / f"{kind}.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / f"{kind}.yaml"


@pytest.mark.parametrize(
    ("kind", "model", "model_format"),
    [("order", "ordernet.pt", ORDER_FORMAT), ("clicks", "clicknet.pt", FORMAT)],
)
def test_recipe_trains_for_its_budget_and_writes_a_half_precision_model(
    tmp_path: Path, kind: str, model: str, model_format: str
) -> None:
    out = tmp_path / "out"
    config = _tiny_config(tmp_path, kind)
    env = {"OUT": str(out), f"{kind.upper()}_CONFIG": str(config), "SCENES": "2", "BUDGET": "2"}
    done = _run(env, tmp_path / "no-wheels", kind)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = int(done.stdout.split("training ")[1].split()[0])
    assert steps >= 1 and (tmp_path / "scenes" / "index.json").exists()
    payload = read_checkpoint(out / model, model_format)
    assert payload["step"] == steps and payload["meta"]["hardware"] == "CPU"
    assert {str(v.dtype) for v in payload["model"].values() if v.is_floating_point()} == {
        "torch.float16"
    }
    (load_order_model if kind == "order" else load_clicknet)(out / model)  # the model alone
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == steps


def test_recipe_without_out_or_kind_says_what_is_missing(tmp_path: Path) -> None:
    done = _run({}, tmp_path)
    assert done.returncode == 2 and "set OUT" in done.stderr
    for kinds in (("boundaries",), ("order", "boundaries"), ("order", "order")):
        done = _run({"OUT": str(tmp_path / "out")}, tmp_path, *kinds)
        assert done.returncode == 2 and "order|clicks" in done.stderr


def test_both_kinds_train_side_by_side_on_scenes_made_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    configs = {f"{k.upper()}_CONFIG": str(_tiny_config(tmp_path, k)) for k in ("order", "clicks")}
    done = _run(
        {"OUT": str(out), "SCENES": "2", "BUDGET": "2", **configs}, tmp_path, "order", "clicks"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.count("data ready") == 1 and (tmp_path / "scenes" / "index.json").exists()
    for kind, model, model_format in (
        ("order", "ordernet.pt", ORDER_FORMAT),
        ("clicks", "clicknet.pt", FORMAT),
    ):
        log = (out / f"{kind}.log").read_text()
        steps = int(log.split("training ")[1].split()[0])
        assert read_checkpoint(out / kind / model, model_format)["step"] == steps
        assert (out / kind / "metrics.jsonl").exists()


def test_training_past_the_limit_is_stopped_and_its_last_checkpoint_exported(
    tmp_path: Path,
) -> None:
    """A budget far beyond LIMIT (a probe that guessed low): the run stops in time."""
    out = tmp_path / "out"
    config = _tiny_config(tmp_path, checkpoint_every=2)
    env = {"OUT": str(out), "ORDER_CONFIG": str(config), "SCENES": "2", "BUDGET": "100000"}
    done = _run({**env, "LIMIT": "70"}, tmp_path / "no-wheels")
    assert done.returncode == 0, done.stderr[-2000:]
    planned = int(done.stdout.split("training ")[1].split()[0])
    assert "stopped at LIMIT=70 s" in done.stdout
    step = read_checkpoint(out / "ordernet.pt", ORDER_FORMAT)["step"]
    assert 2 <= step < planned and step % 2 == 0  # a checkpoint's step, not the plan's
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    # the log (every 10 steps) ends within 10 steps of the checkpoint (every 2), either side
    assert abs(log[-1]["step"] - step) < 10 and log[-1]["step"] < planned
