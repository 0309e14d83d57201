"""OAIR, weighted coverage, mAP and cycle rate on hand-made predictions (paper 001, Sec. 4-5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from occseg.eval.order import (
    evaluate_order,
    match_instances,
    oair_counts,
    plot_oair,
    weighted_coverage,
)
from occseg.types import Segmentation


def gt_image() -> Segmentation:
    inst = np.zeros((10, 12), int)
    inst[1:5, 1:5] = 1  # 16 px
    inst[1:5, 5:9] = 2  # 16 px
    inst[6:9, 1:11] = 3  # 30 px
    return Segmentation(inst, classes={1: 0, 2: 0, 3: 1}, edges=[(1, 2), (2, 3), (1, 3)])


def test_weighted_coverage_by_hand():
    gt = np.zeros((4, 6), int)
    gt[:2, :2] = 1  # 4 px
    gt[2:, :4] = 2  # 8 px
    pred = np.zeros_like(gt)
    pred[:2, :2] = 7  # IoU 1 with 1
    pred[2:, :2] = 8  # IoU 4/8 with 2
    assert weighted_coverage(gt, pred) == pytest.approx((4 * 1 + 8 * 0.5) / 12)
    assert weighted_coverage(gt, gt) == 1.0
    assert math.isnan(weighted_coverage(np.zeros_like(gt), pred))


def test_oair_by_hand():
    gt = gt_image()
    pred_inst = np.zeros_like(gt.instances)
    pred_inst[1:5, 1:5] = 10
    pred_inst[1:5, 5:9] = 20
    pred_inst[6:9, 1:4] = 30  # IoU 9/30 with GT 3: not matched at 0.5
    pred = Segmentation(
        pred_inst,
        classes={10: 0, 20: 0, 30: 1},
        edges=[(10, 20), (20, 30)],
        scores={10: 3.0, 20: 2.0, 30: 1.0},
    )
    assert match_instances(gt, pred) == {10: 1, 20: 2}
    assert match_instances(gt, pred, iou_threshold=0.25) == {10: 1, 20: 2, 30: 3}
    assert oair_counts(gt, pred) == (3, 1, 1)
    # at IoU 0.25 all pairs are recovered; (1, 3) via the path 10 -> 20 -> 30 is correct too
    assert oair_counts(gt, pred, 0.25) == (3, 3, 3)
    # reversed order: recovered but wrong; classes must agree
    rev = Segmentation(pred_inst, pred.classes, [(20, 10)], pred.scores)
    assert oair_counts(gt, rev) == (3, 1, 0)
    wrong_class = Segmentation(pred_inst, {10: 1, 20: 0, 30: 1}, pred.edges, pred.scores)
    assert oair_counts(gt, wrong_class) == (3, 0, 0)
    # a confidence threshold drops instance 10
    assert oair_counts(gt, pred, 0.5, min_score=2.5) == (3, 0, 0)
    # a cycle gives paths both ways: recovered, not correct
    cyc = Segmentation(pred_inst, pred.classes, [(10, 20), (20, 10)], pred.scores)
    assert oair_counts(gt, cyc) == (3, 1, 0)


def test_evaluate_order_perfect_and_report(tmp_path):
    gt = gt_image()
    perfect = Segmentation(gt.instances, gt.classes, [(1, 2), (2, 3)], {1: 1.0, 2: 1.0, 3: 1.0})
    rep = evaluate_order([gt], [perfect])
    d = rep.to_dict()
    assert d["WC"] == 1.0 and d["OAIR_accuracy@0.5"] == 1.0 and d["OAIR_recall@0.5"] == 1.0
    assert d["mAP"] == pytest.approx(1.0) and d["cycle_rate"] == 0.0
    cyc = Segmentation(gt.instances, gt.classes, [(1, 2), (2, 1)], perfect.scores)
    rep2 = evaluate_order([gt, gt], [perfect, cyc], compute_map=False)
    assert rep2.cycle_rate == pytest.approx(2 / 6) and rep2.images_with_cycles == 0.5
    assert rep2.point(0.5) == (1.0, 0.5)  # no pair of the cyclic image is correct
    plot_oair(rep, tmp_path / "oair.png")
    assert (tmp_path / "oair.png").stat().st_size > 1000


def test_cli_eval_order_gt_inputs_on_a_tiny_synthetic_set(tmp_path):
    import json

    from occseg.cli import main

    data = tmp_path / "synth"
    assert main(["synth", "--n", "2", "--size", "48", "--seed", "5", "--jobs", "1",
                 "--out", str(data)]) == 0  # fmt: skip
    out = tmp_path / "eval"
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--gt-inputs",
                 "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    for key in ("WC", "OAIR_accuracy@0.5", "OAIR_recall@0.5", "mAP", "cycle_rate"):
        assert key in summary
    assert summary["cycle_rate"] == 0.0 and summary["WC"] > 0.5
    assert (out / "summary.md").is_file() and (out / "oair.png").is_file()
    # without --gt-inputs there is nothing to evaluate yet: a clear error, exit status 2
    assert main(["eval", "order", "--dataset", f"synth:{data}", "--out", str(out)]) == 2


def test_order_eval_ranks_instances_by_the_chosen_score(tmp_path):
    from occseg.errors import ConfigError
    from occseg.eval.order_run import check_order_options, run_order_eval
    from occseg.synth import generate_dataset

    generate_dataset(tmp_path, n=1, width=48, height=48, seed=5, progress=False)
    runs = {
        score: run_order_eval(f"synth:{tmp_path}", gt_inputs=True, score=score)
        for score in ("outline_contrast", "paper")
    }
    assert runs["outline_contrast"].summary["score"] == "outline_contrast"
    assert runs["paper"].summary["score"] == "paper"
    # the same labelling, ranked differently: the confidence thresholds of the OAIR sweep differ
    a, b = (r.summary for r in runs.values())
    assert a["WC"] == b["WC"]
    assert [t for t, _, _ in runs["paper"].report.score_curve] != [
        t for t, _, _ in runs["outline_contrast"].report.score_curve
    ]
    with pytest.raises(ConfigError, match="score"):
        check_order_options(f"synth:{tmp_path}", gt_inputs=True, score="area")


def test_connected_parts_splits_objects_and_inherits_the_order():
    from occseg.eval.order import connected_parts

    inst = np.zeros((5, 9), int)
    inst[1:4, 0:3] = 1
    inst[1:4, 6:9] = 1  # object 1 seen in two parts, split by object 2
    inst[0:5, 3:6] = 2
    parts = connected_parts(Segmentation(inst, {1: 4, 2: 7}, [(2, 1)]))
    assert len(parts.ids) == 3
    left, mid, right = parts.instances[2, 0], parts.instances[2, 4], parts.instances[2, 8]
    assert sorted(parts.edges) == sorted([(mid, left), (mid, right)])
    assert parts.classes[left] == parts.classes[right] == 4 and parts.classes[mid] == 7
