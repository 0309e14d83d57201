"""Interactive OB evaluation (automatic, then simulated scribbles) and the OB command lines."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from occseg.checkpoint import save_checkpoint
from occseg.cli import main
from occseg.nn.obnet import OBNet, OBNetConfig

TINY = {"width_mult": 0.25, "channels": 4, "boundary_channels": 4, "strip_kernel": 5}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from occseg.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "scenes"
    generate_dataset(root, n=2, width=64, height=64, seed=7, progress=False)
    return root


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "ob.pt"
    save_checkpoint(path, OBNet(OBNetConfig(**TINY)).eval())
    return path


def test_protocol(scenes: Path, model_path: Path) -> None:
    from occseg.data.boundaries import open_boundary_dataset
    from occseg.eval.interactive_boundaries import evaluate_interactive_boundaries
    from occseg.predict.boundaries import OBPredictor

    data = open_boundary_dataset(f"synth:{scenes}")
    calls = []
    report = evaluate_interactive_boundaries(
        OBPredictor(model_path), data, n_thresholds=5, progress=lambda: calls.append(1)
    )
    assert len(calls) == 2 and len(report.effort.fn_ratios) == 2
    assert report.automatic.curve.thresholds.size == 5
    d = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert {"automatic", "interactive", "avgFN", "avgFP", "gain"} <= set(d)
    assert d["gain"]["ODS"] == pytest.approx(report.interactive.ods - report.automatic.ods)
    assert 0 <= d["avgFN"] <= 1 and 0 <= d["avgFP"] <= 1
    again = evaluate_interactive_boundaries(OBPredictor(model_path), data, n_thresholds=5)
    assert again.interactive.ods == report.interactive.ods  # seeded perturbation


def test_oracle_fixes_exactly_the_scribbled_errors() -> None:
    from occseg.eval.boundaries import boundary_pr
    from occseg.eval.interactive_boundaries import oracle_correction
    from occseg.simulate.scribbles import error_segments

    gt = np.zeros((200, 200), bool)  # tolerance: 0.0075 × 283 = 2.1 px
    gt[50, 20:180] = True  # found
    gt[150, 20:180] = True  # missed: an FN segment
    prob = np.zeros((200, 200), np.float32)
    ridge = [[0.9], [1.0], [0.9]]  # edge NMS smooths the map first: ridges, not 1-px lines
    prob[49:52, 20:180] = ridge
    prob[99:102, 20:180] = ridge  # a false ridge: an FP segment
    prob[9:12, 20:40] = ridge  # a short false piece: not scribbled (≤ 30 px)
    segments = error_segments(prob, gt, threshold=0.7)
    assert [len(s) for s in segments.fn] == [160] and [len(s) for s in segments.fp] == [160]
    fixed = oracle_correction(prob, segments)
    assert np.all(fixed[98:103, 20:180] == 0) and np.all(fixed[150, 20:180] == 1)
    assert np.array_equal(fixed[49:52], prob[49:52]) and fixed[10, 30] == prob[10, 30]
    before, after = (boundary_pr([m], [[gt]], n_thresholds=9) for m in (prob, fixed))
    assert before.ods < 0.6 and 0.9 < after.ods < 1.0  # the short piece remains


def test_cli_eval_boundaries_model(scenes: Path, model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "inter"
    args = ["eval", "boundaries", "--dataset", f"synth:{scenes}", "--method", str(model_path)]
    assert main([*args, "--interactive", "--oracle", "--n-thresholds", "5", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"automatic", "interactive", "oracle", "avgFN", "avgFP"} <= set(summary)
    assert "oracle" in (out / "summary.md").read_text()
    assert (out / "automatic" / "summary.json").is_file()
    assert (out / "interactive" / "pr.png").is_file() and (out / "pr.png").is_file()
    assert "avgFN" in (out / "summary.md").read_text()
    auto = tmp_path / "auto"
    assert main([*args, "--n-thresholds", "5", "--out", str(auto)]) == 0
    plain = json.loads((auto / "summary.json").read_text())
    assert plain["ODS"] == pytest.approx(summary["automatic"]["ODS"])
    flipped = tmp_path / "flip"
    assert main([*args, "--flip", "--n-thresholds", "5", "--out", str(flipped)]) == 0
    assert "(flip-averaged)" in (flipped / "summary.md").read_text()


def test_cli_eval_boundaries_errors(
    scenes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["eval", "boundaries", "--dataset", f"synth:{scenes}", "--out", str(tmp_path)]
    assert main([*base, "--method", "sobel", "--interactive"]) == 2
    assert main([*base, "--method", str(tmp_path / "none.pt")]) == 2
    assert main([*base, "--method", "sobel", "--split", "train"]) == 2  # synth has no splits
    assert main([*base, "--method", "sobel", "--oracle"]) == 2  # --oracle needs --interactive
    err = capsys.readouterr().err
    assert err.count("error:") == 4 and "Traceback" not in err


def test_cli_boundaries(scenes: Path, model_path: Path, tmp_path: Path) -> None:
    image = scenes / "000000" / "rgb.png"
    out = tmp_path / "ob.png"
    assert main(["boundaries", str(image), "--model", str(model_path), "--out", str(out)]) == 0
    auto = np.asarray(Image.open(out))
    assert auto.shape == (64, 64) and auto.dtype == np.uint8
    strokes = tmp_path / "s.json"
    strokes.write_text(json.dumps({"fn": [[[10, 5], [10, 60]]], "fp": [[[40, 40]]]}))
    refined = tmp_path / "refined.png"
    args = ["boundaries", str(image), "--model", str(model_path), "--scribbles", str(strokes)]
    assert main([*args, "--out", str(refined)]) == 0
    assert not np.array_equal(np.asarray(Image.open(refined)), auto)
    binary = tmp_path / "binary.png"
    assert main([*args, "--threshold", "0.5", "--out", str(binary)]) == 0
    assert set(np.unique(np.asarray(Image.open(binary)))) <= {0, 255}
    flipped = tmp_path / "flipped.png"
    plain = ["boundaries", str(image), "--model", str(model_path)]
    assert main([*plain, "--flip", "--out", str(flipped)]) == 0
    assert not np.array_equal(np.asarray(Image.open(flipped)), auto)  # the mirrored map counts


def test_cli_boundaries_errors(
    scenes: Path, model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = scenes / "000000" / "rgb.png"
    out = str(tmp_path / "x.png")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fn": [[[100, 5]]]}))  # outside the 64×64 image
    assert main(["boundaries", str(image), "--model", str(model_path), "--scribbles",
                 str(bad), "--out", out]) == 2  # fmt: skip
    bad.write_text("[1, 2]")
    assert main(["boundaries", str(image), "--model", str(model_path), "--scribbles",
                 str(bad), "--out", out]) == 2  # fmt: skip
    assert main(["boundaries", str(image), "--model", str(tmp_path / "no.pt"), "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err


def test_cli_train_boundaries(scenes: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(
        f"model: {json.dumps(TINY)}\n"
        f"data: ['synth:{scenes}']\n"
        "crop_size: [48, 48]\nbatch_size: 2\nsteps: 1\nthreads: 1\n"
    )
    out = tmp_path / "run"
    code = main(["train", "boundaries", "--config", str(config), "--out", str(out),
                 "--no-progress"])  # fmt: skip
    assert code == 0 and (out / "model.pt").is_file()
    assert main(["train", "boundaries", "--config", str(tmp_path / "none.yaml")]) == 2


class _EchoScribbles:
    """An OB model stand-in: nothing found automatically, the FN scribbles as the refined map."""

    config = SimpleNamespace(scribble_radius=1)

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def automatic(self) -> np.ndarray:
        return np.zeros(self.shape, np.float32)

    def refine(self, fn_map: np.ndarray, fp_map: np.ndarray, previous: np.ndarray) -> np.ndarray:
        return (fn_map > 0).astype(np.float32)


def test_a_shard_scribbles_each_image_as_the_whole_run_does(scenes: Path) -> None:
    from occseg.data.boundaries import open_boundary_dataset
    from occseg.eval.interactive_boundaries import (
        evaluate_interactive_boundaries,
        merge_interactive_reports,
    )
    from occseg.parallel import Shard

    data = open_boundary_dataset(f"synth:{scenes}")

    def run(samples: Any, shard: Shard | None = None) -> Any:
        model: Any = _EchoScribbles()
        return evaluate_interactive_boundaries(model, samples, n_thresholds=5, shard=shard)

    whole = run(data)
    parts = [run(s.select(data), s) for s in (Shard(2, 2), Shard(1, 2))]
    merged = merge_interactive_reports(parts)
    assert [c.to_dict() for c in merged.interactive.counts] == [
        c.to_dict() for c in whole.interactive.counts
    ]
    assert merged.interactive.ods == whole.interactive.ods
    # the perturbation differs between images: seeding by the shard's own order would not do
    alone = run(Shard(2, 2).select(data))
    assert alone.interactive.counts[0].to_dict() != whole.interactive.counts[1].to_dict()
