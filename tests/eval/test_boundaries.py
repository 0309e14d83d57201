"""Boundary benchmark (occseg.eval.boundaries): protocol rules on tiny synthetic inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy.optimize import linear_sum_assignment

from occseg import parallel
from occseg.cli import main
from occseg.errors import ConfigError, FileFormatError
from occseg.eval.boundaries import (
    BoundaryReport,
    _area_pr,
    _max_f,
    _r50,
    boundary_pr,
    image_counts,
    match_boundaries,
    merge_boundary_reports,
    occlusion_pr,
    plot_pr,
    thresholds_for,
)
from occseg.occlusion import thin
from occseg.parallel import Shard


def _lines(h: int = 120, w: int = 160) -> np.ndarray:
    """A one-pixel-wide GT (already thin): a rectangle outline, a diagonal and a curve."""
    img = np.zeros((h, w), np.uint8)
    cv2.rectangle(img, (20, 15), (70, 60), 1, 1)
    cv2.line(img, (90, 10), (150, 100), 1, 1)
    cv2.circle(img, (60, 90), 20, 1, 1)
    gt = img > 0
    gt = thin(gt)
    assert np.array_equal(thin(gt), gt)
    return gt


def test_thresholds() -> None:
    t = thresholds_for(99)
    assert t.size == 99 and t[0] == pytest.approx(0.01) and t[-1] == pytest.approx(0.99)
    with pytest.raises(ValueError):
        thresholds_for(0)
    gt = _lines()
    a = image_counts(gt.astype(float), [gt], np.int64(5))
    b = image_counts(gt.astype(float), [gt], thresholds_for(5))
    assert a.cnt_r.size == 5 and np.array_equal(a.cnt_p, b.cnt_p)


def test_perfect_prediction_scores_one() -> None:
    gt = _lines()
    rep = boundary_pr([gt.astype(np.float64)], [[gt]])
    assert rep.ods == pytest.approx(1.0)
    assert rep.ois == pytest.approx(1.0)
    assert rep.ods_recall == pytest.approx(1.0) and rep.ods_precision == pytest.approx(1.0)
    assert np.allclose(rep.curve.f, 1.0)
    assert rep.r50 == pytest.approx(1.0)
    # BSDS quirk kept on purpose: a single distinct recall value gives AP = 0 (numel(Ru) > 1)
    assert rep.ap == 0.0
    assert rep.image_f[0] == pytest.approx(1.0)


def test_shift_within_tolerance_matches() -> None:
    h, w = 240, 320  # tolerance 0.0075 * 400 = 3 px
    gt = np.zeros((h, w), bool)
    gt[60, 20:300] = True
    gt[30:200, 150] = True
    for dy, dx, expect in ((1, 0, 1.0), (0, 2, 1.0), (2, 2, 1.0), (6, 6, 0.0)):
        pred = np.roll(np.roll(gt, dy, axis=0), dx, axis=1)
        rep = boundary_pr([pred.astype(float)], [[gt]])
        if expect == 1.0:
            assert rep.ods == pytest.approx(1.0)
        else:
            # only the crossing region can still match
            assert rep.ods < 0.05


def test_empty_prediction_and_empty_ground_truth() -> None:
    gt = _lines()
    rep = boundary_pr([np.zeros(gt.shape)], [[gt, gt]])
    assert rep.ods == 0.0 and rep.ois == 0.0 and rep.ap == 0.0
    assert math.isnan(rep.r50)
    c = rep.counts[0]
    assert np.all(c.sum_p == 0) and np.all(c.cnt_p == 0) and np.all(c.sum_r == 2 * gt.sum())
    # no ground-truth boundary at all: recall 0, predictions are false positives
    rep2 = boundary_pr([gt.astype(float)], [[np.zeros_like(gt)]])
    assert rep2.ods == 0.0
    assert np.all(rep2.counts[0].sum_p == gt.sum())
    json.dumps(rep.to_dict(), allow_nan=False)


def test_precision_any_annotator_recall_sums_annotators() -> None:
    h, w = 240, 320
    a = np.zeros((h, w), bool)
    a[60, 20:300] = True
    b = np.zeros((h, w), bool)
    b[150, 20:300] = True
    pred = a.astype(float)
    c = image_counts(pred, [a, b], 9)
    n = int(a.sum())
    assert np.all(c.sum_p == n) and np.all(c.cnt_p == n)  # every pixel matches annotator a
    assert np.all(c.sum_r == 2 * n) and np.all(c.cnt_r == n)  # half of all GT pixels recalled
    rep = boundary_pr([pred], [np.stack([a, b])], 9)
    assert rep.ods == pytest.approx(2 * 0.5 / 1.5)


def _brute_force(pred: np.ndarray, gt: np.ndarray, radius: float) -> tuple[int, float]:
    """Maximum of sum(outlier - cost) by a dense assignment (the BSDS objective)."""
    p = np.argwhere(pred)
    g = np.argwhere(gt)
    if len(p) == 0 or len(g) == 0:
        return 0, 0.0
    d2 = ((p[:, None, :] - g[None, :, :]) ** 2).sum(-1).astype(float)
    cost = np.rint(np.sqrt(d2) * 100)
    outlier = math.ceil(100 * radius * 100)
    gain = np.where(d2 <= radius * radius, outlier - cost, 0.0)
    r, c = linear_sum_assignment(gain, maximize=True)
    ok = gain[r, c] > 0
    return int(ok.sum()), float(cost[r, c][ok].sum())


@pytest.mark.parametrize("seed", range(8))
def test_matching_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = 40, 60  # radius 0.0075 * 72 = 0.54 px is too small: use a larger tolerance
    max_dist = 0.04
    radius = max_dist * math.hypot(h, w)
    gt = thin(rng.random((h, w)) < 0.08)
    pred = thin(rng.random((h, w)) < 0.08)
    mp, mg = match_boundaries(pred, gt, max_dist)
    assert mp.sum() == mg.sum()
    assert not (mp & ~pred).any() and not (mg & ~gt).any()
    n_ref, cost_ref = _brute_force(pred, gt, radius)
    assert int(mp.sum()) == n_ref
    # recover our total cost from the pairs through image_counts-free brute force on the subsets
    n_sub, cost_sub = _brute_force(mp, mg, radius)
    assert n_sub == n_ref and cost_sub <= cost_ref + 1e-9


def test_match_shape_mismatch() -> None:
    with pytest.raises(ValueError):
        match_boundaries(np.zeros((4, 4), bool), np.zeros((4, 5), bool))


def test_summary_formulas() -> None:
    t = np.array([0.25, 0.5, 0.75])
    r = np.array([0.9, 0.6, 0.2])
    p = np.array([0.3, 0.6, 0.9])
    bt, br, bp, bf = _max_f(t, r, p)
    # brute force of maxF's loop (MATLAB linspace(0, 1) has 100 points)
    best = (t[0], r[0], p[0], 2 * r[0] * p[0] / (r[0] + p[0]))
    for i in range(1, 3):
        for d in np.linspace(0, 1, 100):
            rr = r[i] * d + r[i - 1] * (1 - d)
            pp = p[i] * d + p[i - 1] * (1 - d)
            ff = 2 * rr * pp / (rr + pp)
            if ff > best[3]:
                best = (t[i] * d + t[i - 1] * (1 - d), rr, pp, ff)
    assert (bt, br, bp, bf) == pytest.approx(best)
    # AP: interpolation of P over R at 0:0.01:1, outside the recall range counts as 0
    ri = np.linspace(0, 1, 101)
    inside = (ri >= 0.2) & (ri <= 0.9)
    expect = np.interp(ri[inside], r[::-1], p[::-1]).sum() * 0.01
    assert _area_pr(r, p) == pytest.approx(expect)
    # R50: recall where precision is 0.5, interpolated
    assert _r50(r, p) == pytest.approx(0.9 + (0.5 - 0.3) / (0.6 - 0.3) * (0.6 - 0.9))
    assert _r50(np.array([0.9, 0.5]), np.array([0.6, 0.8])) == pytest.approx(0.9)
    assert math.isnan(_r50(np.array([0.9, 0.5]), np.array([0.1, 0.2])))


def _synthetic(seed: int, h: int = 90, w: int = 120) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    pts = rng.uniform((0, 0), (h, w), size=(7, 2))
    yy, xx = np.mgrid[:h, :w]

    def bdry(points: np.ndarray) -> np.ndarray:
        lab = np.argmin(
            (yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2, -1
        )
        b = np.zeros((h, w), bool)
        b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
        b[:-1] |= lab[:-1] != lab[1:]
        return b

    gts = [bdry(pts + rng.normal(0, 1.0, pts.shape)) for _ in range(3)]
    soft = cv2.GaussianBlur(bdry(pts).astype(float), (0, 0), 1.0)
    prob = np.clip(soft / soft.max() + rng.normal(0, 0.12, soft.shape), 0, 1)
    return np.round(prob * 255) / 255, gts


def test_jobs_give_identical_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cpu_count", lambda: 2)  # a real pool even on one CPU
    cases = [_synthetic(s) for s in range(3)]
    probs = [c[0] for c in cases]
    gts = [c[1] for c in cases]
    r1 = boundary_pr(probs, gts, 19, 0.02)
    ticks: list[int] = []
    r2 = boundary_pr(iter(probs), iter(gts), 19, 0.02, jobs=2, progress=lambda: ticks.append(1))
    assert len(ticks) == 3
    for a, b in zip(r1.counts, r2.counts, strict=True):
        assert np.array_equal(a.cnt_p, b.cnt_p) and np.array_equal(a.cnt_r, b.cnt_r)
    assert r1.ods == r2.ods and r1.ois == r2.ois and r1.ap == r2.ap
    assert 0.0 < r1.ods < 1.0 and r1.ois >= r1.ods - 1e-9


def _via_json(report: BoundaryReport) -> BoundaryReport:
    """The report as another machine hands it back: written as JSON, read again."""
    return BoundaryReport.from_dict(json.loads(json.dumps(report.to_dict(), allow_nan=False)))


def test_shards_merge_into_the_unsharded_report() -> None:
    cases = [_synthetic(s, 48, 64) for s in range(5)]
    probs, gts = [c[0] for c in cases], [c[1] for c in cases]
    names = [f"img{i}" for i in range(5)]
    whole = boundary_pr(probs, gts, 9, 0.02, names=names)
    parts = []
    for k in (3, 1, 2):
        shard = Shard(k, 3)
        sel = [shard.select(x) for x in (probs, gts, names)]
        part = boundary_pr(sel[0], sel[1], 9, 0.02, names=sel[2], shard=shard)
        assert part.names == sel[2] and part.to_dict()["shard"] == f"{k}/3"
        parts.append(_via_json(part))
    merged = merge_boundary_reports(parts)
    assert merged.names == names and merged.shard is None
    assert [c.to_dict() for c in merged.counts] == [c.to_dict() for c in whole.counts]
    assert merged.to_dict() == whole.to_dict()
    with pytest.raises(ConfigError, match="missing"):
        merge_boundary_reports(parts[:2])
    with pytest.raises(ConfigError, match="not from a sharded run"):
        merge_boundary_reports([*parts, whole])
    with pytest.raises(FileFormatError, match="sharded"):
        BoundaryReport.from_dict(whole.to_dict())


def test_occlusion_shards_keep_their_orientation_counts() -> None:
    cases = [_synthetic(s, 48, 64) for s in (5, 6, 7)]
    probs, gts = [c[0] for c in cases], [c[1] for c in cases]
    oris = [np.full(p.shape, 0.3) for p in probs]
    errors = (np.pi, 1.2, 1.2)  # image 0 annotated the other way round
    gori = [[np.full(p.shape, 0.3 + e) for _ in g] for (p, g), e in zip(cases, errors, strict=True)]
    whole = occlusion_pr(probs, oris, gts, gori, 9, 0.02)
    parts = [
        _via_json(occlusion_pr(*(s.select(x) for x in (probs, oris, gts, gori)), 9, 0.02, shard=s))
        for s in (Shard(1, 2), Shard(2, 2))
    ]
    merged = merge_boundary_reports(parts)
    assert merged.orientation is not None and whole.orientation is not None
    assert merged.orientation.ods == whole.orientation.ods
    assert merged.to_dict()["orientation"] == whole.to_dict()["orientation"]
    plain = _via_json(boundary_pr(probs[1::2], gts[1::2], 9, 0.02, shard=Shard(2, 2)))
    with pytest.raises(ConfigError, match="other settings"):
        merge_boundary_reports([parts[0], plain])


def test_occlusion_orientation(tmp_path: Path) -> None:
    prob, gts = _synthetic(4)
    ori = np.full(prob.shape, 0.3)
    gori_same = [np.full(prob.shape, 0.3 + 1.2) for _ in gts]  # error 1.2 < pi/2: correct
    gori_flip = [np.full(prob.shape, 0.3 + np.pi) for _ in gts]  # error pi: wrong
    gori_wrap = [np.full(prob.shape, 0.3 - 2 * np.pi + 0.1) for _ in gts]  # wraps: correct
    same = occlusion_pr([prob], [ori], [gts], [gori_same], 19, 0.02)
    flip = occlusion_pr([prob], [ori], [gts], [gori_flip], 19, 0.02)
    wrap = occlusion_pr([prob], [ori], [gts], [gori_wrap], 19, 0.02)
    assert same.orientation is not None and flip.orientation is not None
    assert same.orientation.ods == pytest.approx(same.ods)
    assert np.allclose(same.orientation.accuracy[same.curve.recall > 0], 1.0)
    assert flip.orientation.ods == 0.0
    assert np.allclose(flip.orientation.accuracy, 0.0)
    assert wrap.orientation is not None and wrap.orientation.ods == pytest.approx(wrap.ods)
    # NMS-based variant differs from per-threshold thinning but is a valid curve
    plain = boundary_pr([prob], [gts], 19, 0.02)
    assert 0 < same.ods <= 1 and 0 < plain.ods <= 1
    d = same.to_dict()
    assert set(d["orientation"]) >= {"ODS", "OIS", "AP", "aor"}
    out = plot_pr([("nms", same), ("thin", plain)], tmp_path / "pr.png")
    assert out.stat().st_size > 1000
    with Image.open(out) as im:
        assert im.size[0] > im.size[1]  # two panels with the AOR curve
    with pytest.raises(ValueError):
        image_counts(prob, gts, 5, orientation=ori)


def _write_bsds(root: Path, n: int = 2) -> None:
    for i in range(n):
        prob, gts = _synthetic(10 + i, 64, 96)
        img = np.repeat((255 * (1 - prob))[..., None], 3, axis=2).astype(np.uint8)
        (root / "images" / "test").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / "images" / "test" / f"{i:03d}.jpg", quality=95)
        cell = np.empty((1, len(gts)), object)
        for k, g in enumerate(gts):
            cell[0, k] = {
                "Segmentation": np.ones(g.shape, np.uint16),
                "Boundaries": g.astype(np.uint8),
            }
        (root / "groundTruth" / "test").mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / "groundTruth" / "test" / f"{i:03d}.mat", {"groundTruth": cell})


def test_cli_eval_boundaries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "bsds"
    _write_bsds(root)
    out = tmp_path / "out"
    code = main(
        ["eval", "boundaries", "--dataset", f"bsds500:{root}", "--method", "sobel",
         "--n-thresholds", "9", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_images"] == 2 and 0 < summary["ODS"] <= 1
    assert {"ODS", "OIS", "AP", "R50"} <= set(summary)
    assert "| 2 |" in (out / "summary.md").read_text()
    assert (out / "pr.png").stat().st_size > 1000
    assert "ODS=" in capsys.readouterr().out
    # user errors: one line, exit status 2
    assert main(["eval", "boundaries", "--dataset", f"bsds500:{root}", "--method", "nope",
                 "--out", str(out)]) == 2  # fmt: skip
    assert main(["eval", "boundaries", "--dataset", f"sbd:{root}", "--out", str(out)]) == 2
    assert main(["eval", "boundaries", "--dataset", f"bsds500:{tmp_path / 'missing'}",
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
