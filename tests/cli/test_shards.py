"""``--shard K/N`` on the command line and ``occseg merge``: the parts join into the whole run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from occseg.cli import main


def _run(*args: object) -> None:
    assert main([str(a) for a in args]) == 0


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole synthetic data set of 3 scenes, generated in one run."""
    root = tmp_path_factory.mktemp("synth") / "whole"
    _run("synth", "--out", root, "--n", 3, "--size", "40x32", "--seed", 2, "--quiet")
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("shard-")
    }


def test_synth_shards_in_one_folder_merge_into_the_same_bytes(scenes, tmp_path, capsys):
    shared = tmp_path / "shared"
    for k in ("1/2", "2/2"):
        _run("synth", "--out", shared, "--n", 3, "--size", "40x32", "--seed", 2, "--quiet",
             "--shard", k)  # fmt: skip
    assert not (shared / "index.json").exists()
    _run("merge", "synth", "--out", shared)
    assert _files(shared) == _files(scenes)
    assert "merged 3 samples" in capsys.readouterr().out


def test_synth_shards_in_own_folders_are_copied_together(scenes, tmp_path):
    parts = [tmp_path / "p1", tmp_path / "p2"]
    for k, part in zip(("1/2", "2/2"), parts, strict=True):
        _run("synth", "--out", part, "--n", 3, "--size", "40x32", "--seed", 2, "--quiet",
             "--shard", k)  # fmt: skip
    _run("merge", "synth", "--out", tmp_path / "joined", *parts)
    assert _files(tmp_path / "joined") == _files(scenes)


def test_a_missing_shard_is_a_one_line_error(tmp_path, capsys):
    part = tmp_path / "p"
    _run("synth", "--out", part, "--n", 3, "--size", "32", "--quiet", "--shard", "1/3")
    capsys.readouterr()
    assert main(["merge", "synth", "--out", str(part)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "shard" in err


def _folder_dataset(root: Path, n: int = 5) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 60, (24, 32, 3), dtype=np.uint8)
        mask = np.zeros((24, 32), np.uint8)
        mask[4 + i : 18, 6 : 20 + i] = 255
        img[mask > 0] += 150
        Image.fromarray(img).save(root / "images" / f"s{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i}.png")
    return root


def test_click_eval_shards_merge_into_the_whole_report(tmp_path, capsys):
    data = _folder_dataset(tmp_path / "data")
    args = ["eval", "clicks", "--dataset", f"folder:{data}", "--max-clicks", 4, "--all-clicks"]
    _run(*args, "--out", tmp_path / "whole")
    _run(*args, "--out", tmp_path / "s2", "--shard", "2/2")
    _run(*args, "--out", tmp_path / "s1", "--shard", "1/2")
    _run("merge", "clicks", "--out", tmp_path / "merged", tmp_path / "s2", tmp_path / "s1")

    def samples(out: str) -> list[tuple]:
        rows = json.loads((tmp_path / out / "per_sample.json").read_text())
        return [(r["name"], r["ious"], r["clicks"]) for r in rows]

    assert [name for name, _, _ in samples("s1")] == ["s0", "s2", "s4"]
    assert samples("merged") == samples("whole")
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    for key in ("NoC@85", "NoC@90", "n_samples", "method", "dataset"):
        assert merged[key] == whole[key]
    assert merged["mIoU@k"] == pytest.approx(whole["mIoU@k"], abs=1e-6)  # IoUs stored to 1e-6
    assert "shard" not in merged
    capsys.readouterr()


def test_boundary_eval_shards_merge_into_the_whole_report(scenes, tmp_path, capsys):
    args = ["eval", "boundaries", "--dataset", f"synth:{scenes}", "--n-thresholds", 9]
    _run(*args, "--out", tmp_path / "whole")
    _run(*args, "--out", tmp_path / "s1", "--shard", "1/2")
    _run(*args, "--out", tmp_path / "s2", "--shard", "2/2")
    _run("merge", "boundaries", "--out", tmp_path / "merged", tmp_path / "s1", tmp_path / "s2")
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    merged = json.loads((tmp_path / "merged" / "summary.json").read_text())
    one = json.loads((tmp_path / "s1" / "summary.json").read_text())
    assert one["shard"] == "1/2" and len(one["counts"]) == 2
    for key in ("ODS", "OIS", "AP", "title"):
        assert merged[key] == whole[key]
    assert "(3 images)" in capsys.readouterr().out.splitlines()[-1]


def test_interactive_boundary_eval_shards_merge_into_the_whole_report(scenes, tmp_path, capsys):
    import torch

    from occseg.checkpoint import save_checkpoint
    from occseg.nn.obnet import OBNet, OBNetConfig

    torch.manual_seed(0)
    model = tmp_path / "ob.pt"
    tiny = OBNetConfig(width_mult=0.25, channels=4, boundary_channels=4, strip_kernel=5)
    save_checkpoint(model, OBNet(tiny).eval())
    args = ["eval", "boundaries", "--dataset", f"synth:{scenes}", "--method", model,
            "--interactive", "--oracle", "--n-thresholds", 9, "--threshold", 0.3]  # fmt: skip
    _run(*args, "--out", tmp_path / "whole")
    _run(*args, "--out", tmp_path / "s2", "--shard", "2/2")
    _run(*args, "--out", tmp_path / "s1", "--shard", "1/2")
    capsys.readouterr()
    _run("merge", "boundaries", "--out", tmp_path / "merged", tmp_path / "s2", tmp_path / "s1")
    assert "(3 images)" in capsys.readouterr().out.splitlines()[-1]
    whole, merged, one = (
        json.loads((tmp_path / out / "summary.json").read_text())
        for out in ("whole", "merged", "s1")
    )
    assert one["automatic"]["shard"] == "1/2" and len(one["fn_ratios"]) == 2
    # the scribbles of each image are seeded by its place in the whole run
    assert merged["fn_ratios"] == whole["fn_ratios"] and merged["fp_ratios"] == whole["fp_ratios"]
    for step in ("automatic", "interactive", "oracle"):
        for key in ("ODS", "OIS", "AP"):
            assert merged[step][key] == whole[step][key]
    assert (tmp_path / "merged" / "interactive" / "summary.md").exists()
    assert main(["merge", "boundaries", "--out", str(tmp_path / "m2"), str(tmp_path / "s1"),
                 str(tmp_path / "whole")]) == 2  # fmt: skip  # the whole run is no shard
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
