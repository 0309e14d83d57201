"""The command line: help texts, one-line errors with exit code 2, a small real run."""

import json

import numpy as np
import pytest
from PIL import Image

from occseg.cli import main


def test_help_explains_itself(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "eval" in out and "demo" in out
    assert main(["eval", "clicks", "--help"]) == 0
    assert "--dataset" in capsys.readouterr().out


def _folder_dataset(root, n=2, mask_size=(24, 32)):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 60, (24, 32, 3), dtype=np.uint8)
        mask = np.zeros(mask_size, np.uint8)
        mask[6:18, 8:24] = 255
        img[6:18, 8:24] += 150
        Image.fromarray(img).save(root / "images" / f"s{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i}.png")
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "folder:/no/such/dir"], "/no/such/dir"),
        (["--dataset", "nosuchkind:/tmp"], "nosuchkind"),
        (["--dataset", "folder:{ok}", "--method", "nosuchmethod"], "nosuchmethod"),
        (["--dataset", "folder:{bad}"], "size"),
    ],
)
def test_user_errors_give_one_line_and_exit_2(tmp_path, capsys, args, message):
    ok = _folder_dataset(tmp_path / "ok")
    bad = _folder_dataset(tmp_path / "bad", mask_size=(10, 10))
    args = [a.format(ok=ok, bad=bad) for a in args]
    code = main(["eval", "clicks", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_eval_clicks_writes_the_report(tmp_path, capsys):
    data = _folder_dataset(tmp_path / "d")
    out = tmp_path / "out"
    args = ["--dataset", f"folder:{data}", "--method", "graphcut", "--max-clicks", "5"]
    assert main(["eval", "clicks", *args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("NoC@85", "NoC@90", "NoC@90>=5", "mIoU@k", "seconds_per_click", "n_samples"):
        assert key in summary
    assert summary["n_samples"] == 2
    per_sample = json.loads((out / "per_sample.json").read_text())
    assert len(per_sample) == 2 and per_sample[0]["clicks"][0][2] == 1
    assert (out / "miou_vs_clicks.png").stat().st_size > 1000
    assert "NoC@90" in (out / "summary.md").read_text()
