"""Oriented occlusion boundaries in the boundary benchmark (issue 14): ``boundary_pr`` with
orientations (PIOD OPR), the order network as a boundary method (``order_boundary_maps``) and
``occseg eval boundaries --method ordernet|ORDER.pt``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from occseg.cli import main
from occseg.errors import ConfigError, FileFormatError
from occseg.eval.boundaries import boundary_pr, occlusion_pr
from occseg.eval.boundary_run import (
    boundary_model_kind,
    check_boundary_options,
    order_boundary_maps,
)
from occseg.nn.ordernet import OrderNet, OrderNetConfig, OrderNetOutput
from occseg.occlusion.decode import orientation_angle
from occseg.occlusion.targets import orientation_targets
from occseg.predict.ordernet import OrderNetPredictor, load_order_model
from occseg.synth.boundaries import boundary_angle


def _gt(h: int = 60, w: int = 80) -> np.ndarray:
    img = np.zeros((h, w), np.uint8)
    cv2.rectangle(img, (10, 8), (50, 40), 1, 1)
    cv2.line(img, (55, 5), (75, 50), 1, 1)
    return img > 0


def _plain(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "orientation"}


def test_right_vs_flipped_orientation() -> None:
    gt = _gt()
    prob = cv2.GaussianBlur(gt.astype(np.float64), (5, 5), 1.0)
    prob /= prob.max()
    ori = np.full(gt.shape, 0.4)
    right = np.where(gt, 0.4 + 1.3, np.nan)  # error 1.3 < π/2: correct
    flipped = np.where(gt, 0.4 + np.pi, np.nan)  # the other side in front
    plain = boundary_pr([prob], [[gt]], 9, 0.02)
    ok = boundary_pr([prob], [[gt]], 9, 0.02, orientations=[ori], gt_orientations=[[right]])
    bad = boundary_pr([prob], [[gt]], 9, 0.02, orientations=[ori], gt_orientations=[[flipped]])
    # the plain numbers are those of the run without orientations, bit for bit
    assert plain.orientation is None and "orientation" not in plain.to_dict()
    for rep in (ok, bad):
        assert _plain(rep.to_dict()) == plain.to_dict()
        assert np.array_equal(rep.counts[0].cnt_r, plain.counts[0].cnt_r)
        assert np.array_equal(rep.counts[0].cnt_p, plain.counts[0].cnt_p)
    assert ok.orientation is not None and bad.orientation is not None
    assert plain.ods > 0.5
    assert ok.orientation.ods == pytest.approx(plain.ods)
    assert ok.orientation.ods_accuracy == pytest.approx(1.0)
    assert np.array_equal(ok.orientation.curve.recall, plain.curve.recall)
    assert bad.orientation.ods == 0.0 and bad.orientation.ap == 0.0
    assert np.all(bad.orientation.curve.recall == 0.0)
    assert bad.orientation.ods_accuracy == 0.0
    assert ok.to_dict()["orientation"]["ODS_accuracy"] == pytest.approx(1.0)


def test_orientation_accuracy_at_the_ods_threshold() -> None:
    gt = _gt()
    prob = gt.astype(np.float64)
    ori = np.full(gt.shape, 0.0)
    gori = np.where(gt, 0.0, np.nan)
    gori[:, 52:] = np.pi  # the line (and nothing of the rectangle) annotated the other way
    rep = boundary_pr(
        [prob], [[gt]], 5, 0.01, thin=False, orientations=[ori], gt_orientations=[[gori]]
    )
    assert rep.orientation is not None and rep.ods == 1.0
    expected = (gt[:, :52].sum()) / gt.sum()
    assert rep.orientation.ods_accuracy == pytest.approx(expected)
    assert rep.orientation.ods < rep.ods


def test_images_without_orientation_give_plain_numbers_only() -> None:
    gt = _gt()
    prob = gt.astype(np.float64)
    ori = np.zeros(gt.shape)
    gori = [np.where(gt, 0.0, np.nan)]
    plain = boundary_pr([prob, prob], [[gt], [gt]], 5)
    mixed = boundary_pr(
        [prob, prob], [[gt], [gt]], 5, orientations=[ori, None], gt_orientations=[gori, gori]
    )
    no_gt = boundary_pr(
        [prob, prob], [[gt], [gt]], 5, orientations=[ori, ori], gt_orientations=[None, None]
    )
    assert mixed.orientation is None and no_gt.orientation is None
    assert mixed.to_dict() == plain.to_dict() == no_gt.to_dict()
    assert mixed.counts[0].cnt_r_occ is not None and mixed.counts[1].cnt_r_occ is None
    with pytest.raises(ValueError, match="together"):
        boundary_pr([prob], [[gt]], 5, orientations=[ori])
    # occlusion_pr is boundary_pr with its NMS pre-processing and orientations
    occ = occlusion_pr([prob], [ori], [[gt]], [gori], 5)
    same = boundary_pr(
        [prob], [[gt]], 5, nms=True, thin=False, orientations=[ori], gt_orientations=[gori]
    )
    assert occ.to_dict() == same.to_dict()


@pytest.mark.parametrize("flags", [f for f in itertools.product([0, 1], repeat=4) if any(f)])
def test_angle_reading_agrees_with_the_ground_truth_angle(flags: tuple[int, ...]) -> None:
    """Supplement 1.4's reading of the training target E_p gives the angle the synthetic ground
    truth derives from the same occlusion flags (up to π/4 for 3-4 flags)."""
    occ = np.array(flags, bool).reshape(1, 1, 4)
    _, e = orientation_targets(occ)
    ours = float(orientation_angle(e)[0, 0])
    truth = float(boundary_angle(occ, sigma=0)[0, 0])
    diff = abs((ours - truth + np.pi) % (2 * np.pi) - np.pi)
    assert diff <= (1e-6 if sum(flags) <= 2 else np.pi / 4 + 1e-6)


def _tiny_order_net() -> OrderNet:
    torch.manual_seed(0)
    return OrderNet(OrderNetConfig(width_mult=0.125, pool_bins=(1, 2))).eval()


def test_order_maps_have_the_image_size() -> None:
    image = np.random.default_rng(0).integers(0, 255, (37, 50, 3), dtype=np.uint8)
    prob, angle = order_boundary_maps(OrderNetPredictor(_tiny_order_net()), image)
    assert prob.shape == angle.shape == (37, 50)
    assert prob.dtype == np.float32 and np.all((prob >= 0) & (prob <= 1))
    assert np.all(np.isfinite(angle)) and np.all(np.abs(angle) <= np.pi)


def test_order_angles_follow_the_e_head(monkeypatch: pytest.MonkeyPatch) -> None:
    net = _tiny_order_net()
    h, w = 8, 12
    # hand-set logits: quadrants occlude bottom; left; left+top; right+bottom
    quadrant_flags = [(0, 0, 0, 1), (1, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1)]
    e = torch.full((1, 4, h, w), -8.0)
    flags = np.zeros((h, w, 4), bool)
    for (ys, xs), f in zip(
        itertools.product((slice(0, 4), slice(4, 8)), (slice(0, 6), slice(6, 12))),
        quadrant_flags,
        strict=True,
    ):
        for k in np.flatnonzero(f):
            e[0, k, ys, xs] = 8.0
            flags[ys, xs, k] = True
    b = torch.linspace(-3, 3, h * w).reshape(1, 1, h, w)

    def forward(image: torch.Tensor) -> OrderNetOutput:
        assert image.shape[-2:] == (h, w)
        return OrderNetOutput(torch.zeros(1, 2, h, w), b, e)

    monkeypatch.setattr(net, "forward", forward)
    image = np.zeros((h, w, 3), np.uint8)
    prob, angle = order_boundary_maps(OrderNetPredictor(net), image)
    assert np.allclose(prob, torch.sigmoid(b)[0, 0].numpy())
    truth = boundary_angle(flags, sigma=0)
    assert np.allclose(angle, truth, atol=1e-3)
    assert np.allclose(angle[0, 0], 0.0, atol=1e-3)  # occluder above: boundary runs right
    assert np.allclose(angle[0, -1], -np.pi / 2, atol=1e-3)  # occludes its left neighbour


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny synthetic set (2 scenes, 48 px), a P2ORM-layout set without orientations and
    tiny order and click checkpoints."""
    from occseg.checkpoint import save_checkpoint
    from occseg.nn.clicknet import ClickNet, ClickNetConfig
    from occseg.synth import generate_dataset

    root = tmp_path_factory.mktemp("oriented")
    generate_dataset(root / "synth", n=2, width=48, height=48, seed=3, progress=False)
    p2orm = root / "p2orm"
    p2orm.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(p2orm / "a-rgb.png")
    Image.fromarray(_gt(40, 40).astype(np.uint8) * 255).save(p2orm / "a-edge.png")
    save_checkpoint(root / "order.pt", _tiny_order_net())
    torch.manual_seed(0)
    save_checkpoint(
        root / "click.pt", ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125))
    )
    return {"root": root, "synth": root / "synth", "p2orm": p2orm}


def test_cli_order_model_reports_plain_and_oriented_numbers(files, tmp_path, capsys):
    from occseg.data.boundaries import open_boundary_dataset

    model = files["root"] / "order.pt"
    out = tmp_path / "out"
    args = ["eval", "boundaries", "--dataset", f"synth:{files['synth']}", "--n-thresholds", "5"]
    assert main([*args, "--method", str(model), "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith("order on synth:") and "oriented ODS=" in line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_images"] == 2
    o = summary["orientation"]
    assert {"ODS", "OIS", "AP", "R50", "ODS_accuracy", "curve", "aor"} <= set(o)
    assert 0 <= o["ODS"] <= summary["ODS"] and 0 <= o["AP"] <= summary["AP"]
    md = (out / "summary.md").read_text()
    assert "Oriented occlusion boundaries" in md and "OPR" in md
    # the same numbers as the library on the order model's maps and the samples' orientations
    data = open_boundary_dataset(f"synth:{files['synth']}")
    predictor = load_order_model(model)
    maps = [order_boundary_maps(predictor, s.image) for s in data]
    assert all(s.orientations is not None for s in data)
    direct = boundary_pr(
        [m[0] for m in maps],
        [s.boundaries for s in data],
        5,
        nms=True,
        orientations=[m[1] for m in maps],
        gt_orientations=[s.orientations for s in data],
    )
    plain = boundary_pr([m[0] for m in maps], [s.boundaries for s in data], 5, nms=True)
    assert summary["ODS"] == plain.ods and summary["curve"] == plain.to_dict()["curve"]
    assert direct.orientation is not None
    assert o == json.loads(json.dumps(direct.to_dict()["orientation"]))


@pytest.mark.parametrize("flip", [False, True])
def test_cli_oracle_order_model_scores_its_orientation(files, tmp_path, capsys, monkeypatch, flip):
    """An order "network" answering each scene's exact occlusion flags as ``b`` and ``e``: the
    orientation read from ``e`` agrees with the scenes' PIOD angles (accuracy near 1, oriented
    ODS near the plain one); the flags mirrored (left↔right, top↔bottom: the other side in
    front) give the same plain numbers and oriented recall near 0."""
    from occseg.data.synth import load_synth_sample

    scenes = {}
    for folder in sorted(p for p in files["synth"].iterdir() if p.is_dir()):
        s = load_synth_sample(folder)
        occ = s.ob_occludes[..., [1, 0, 3, 2]] if flip else s.ob_occludes
        scenes[s.rgb.tobytes()] = (s.ob, occ)
    assert len(scenes) == 2

    def forward(self: OrderNet, image: torch.Tensor) -> OrderNetOutput:
        rgb = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        ob, occ = scenes[rgb.tobytes()]
        b = torch.from_numpy(np.where(ob, 8.0, -8.0)).float()[None, None]
        e = torch.from_numpy(np.where(occ, 8.0, -8.0)).float().permute(2, 0, 1)[None]
        return OrderNetOutput(torch.zeros(1, 2, *ob.shape), b, e)

    monkeypatch.setattr(OrderNet, "forward", forward)
    out = tmp_path / "out"
    argv = ["eval", "boundaries", "--dataset", f"synth:{files['synth']}", "--method",
            str(files["root"] / "order.pt"), "--n-thresholds", "5", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    o = summary["orientation"]
    assert summary["ODS"] > 0.6  # the matching radius is half a pixel at 48 px
    if flip:  # pixels flagged on two opposite sides keep their angle when mirrored
        assert o["ODS"] < 0.2 * summary["ODS"] and o["ODS_accuracy"] < 0.2
    else:
        assert o["ODS"] > 0.95 * summary["ODS"] and o["ODS_accuracy"] > 0.95


def test_cli_ordernet_names_the_shipped_order_model(files, tmp_path, capsys, monkeypatch):
    model = files["root"] / "order.pt"
    args = ["eval", "boundaries", "--dataset", f"synth:{files['synth']}", "--n-thresholds", "3"]
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", model)
    named, path = tmp_path / "named", tmp_path / "path"
    assert main([*args, "--method", "ordernet", "--out", str(named)]) == 0
    assert main([*args, "--method", str(model), "--out", str(path)]) == 0
    capsys.readouterr()
    a, b = (json.loads((p / "summary.json").read_text()) for p in (named, path))
    assert a["orientation"] == b["orientation"] and a["ODS"] == b["ODS"]
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", tmp_path / "no" / "x.pt")
    new = tmp_path / "new"
    assert main([*args, "--method", "ordernet", "--out", str(new)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not installed" in err and "train order" in err
    assert not new.exists()


def test_cli_order_model_without_orientation_ground_truth(files, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["eval", "boundaries", "--dataset", f"p2orm:{files['p2orm']}", "--method",
            str(files["root"] / "order.pt"), "--n-thresholds", "3", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "no orientation ground truth" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert "orientation" not in summary and np.isfinite(summary["ODS"])
    assert "Oriented" not in (out / "summary.md").read_text()


def test_detectors_on_oriented_data_stay_plain(files, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["eval", "boundaries", "--dataset", f"synth:{files['synth']}", "--method", "sobel",
            "--n-thresholds", "3", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "orientation" not in capsys.readouterr().out
    assert "orientation" not in json.loads((out / "summary.json").read_text())


def test_model_kinds_and_bad_methods(files, tmp_path, capsys):
    order, click = files["root"] / "order.pt", files["root"] / "click.pt"
    assert boundary_model_kind(order) == "order"
    with pytest.raises(FileFormatError, match=r"occseg\.clicknet") as err:
        boundary_model_kind(click)
    assert "\n" not in str(err.value) and "occseg train order" in str(err.value)
    text = tmp_path / "notes.txt"
    text.write_text("not a model\n")
    with pytest.raises(FileFormatError, match="not an OB or order model"):
        check_boundary_options(str(text))
    with pytest.raises(ConfigError, match=r"--interactive needs an OB model.*order model"):
        check_boundary_options(str(order), interactive=True)
    new = tmp_path / "new"
    argv = ["eval", "boundaries", "--dataset", f"synth:{files['synth']}", "--method", str(order),
            "--interactive", "--out", str(new)]  # fmt: skip
    assert main(argv) == 2
    err_line = capsys.readouterr().err.strip()
    assert len(err_line.splitlines()) == 1 and "--interactive" in err_line
    assert not new.exists()
