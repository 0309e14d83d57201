"""``occseg proposals IMAGE --out DIR``: a real run with the default (EfficientNet) features."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from occseg.cli import main


def test_proposals_are_written_and_kept_unless_overwritten(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rgb = rng.integers(90, 130, (72, 96, 3), dtype=np.uint8)
    rgb[20:60, 40:85] = (200, 40, 30)
    Image.fromarray(rgb).save(tmp_path / "img.png")
    out = tmp_path / "p"
    assert main(["proposals", str(tmp_path / "img.png"), "--out", str(out), "--k", "4"]) == 0
    assert "proposals.json" in capsys.readouterr().out
    doc = json.loads((out / "proposals.json").read_text())
    assert doc["features"] == "efficientnet" and doc["stride"] == 8
    assert 1 <= len(doc["proposals"]) <= 4
    for entry in doc["proposals"]:
        assert Image.open(out / entry["file"]).size == (96, 72)
        assert entry["area"] >= 0.05
    assert (out / "tree.npz").is_file()
    before = (out / "proposals.json").read_bytes()
    again = ["proposals", str(tmp_path / "img.png"), "--out", str(out), "--stride", "16"]
    assert main(again) == 2  # a folder holding earlier results is not written into
    assert (out / "proposals.json").read_bytes() == before
    assert "--overwrite" in capsys.readouterr().err
    assert main([*again, "--overwrite"]) == 0
    assert json.loads((out / "proposals.json").read_text())["stride"] == 16
