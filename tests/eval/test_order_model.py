"""``occseg eval order --model``: network maps + CRF labelling on a tiny synthetic set."""

from __future__ import annotations

import json

import torch

from occseg.cli import main


def test_cli_eval_order_with_a_model(tmp_path):
    from occseg.nn.ordernet import OrderNet, OrderNetConfig
    from occseg.train.checkpoint import save_checkpoint
    from occseg.train.order import default_class_names

    data = tmp_path / "synth"
    assert main(["synth", "--n", "2", "--size", "48", "--seed", "5", "--quiet",
                 "--out", str(data)]) == 0  # fmt: skip
    torch.manual_seed(0)
    cfg = OrderNetConfig(width_mult=0.125, pool_bins=(1, 2), class_names=default_class_names())
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, OrderNet(cfg))
    out = tmp_path / "eval"
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--model", str(ckpt),
                 "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    for key in ("WC", "OAIR_accuracy@0.5", "OAIR_recall@0.5", "mAP", "cycle_rate", "model"):
        assert key in summary
    assert summary["n_images"] == 2 and summary["cycle_rate"] == 0.0
    assert "network" in (out / "summary.md").read_text()
    agnostic = tmp_path / "agnostic"
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--model", str(ckpt),
                 "--class-agnostic", "--out", str(agnostic)]) == 0  # fmt: skip
    summary_agnostic = json.loads((agnostic / "summary.json").read_text())
    assert summary_agnostic["class_agnostic"] is True and summary["class_agnostic"] is False
    # one class for all: matching by IoU alone can only find more pairs
    assert (summary_agnostic["OAIR_recall@0.5"] or 0) >= (summary["OAIR_recall@0.5"] or 0)
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--gt-inputs",
                 "--class-agnostic", "--out", str(agnostic)]) == 2  # fmt: skip
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--model", str(ckpt),
                 "--gt-inputs", "--out", str(out)]) == 2  # fmt: skip
