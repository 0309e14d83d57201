"""Instance recall and crop area vs padding of the selection crop (paper ``002``, Fig. 3a)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from occseg.checkpoint import save_checkpoint
from occseg.cli import main
from occseg.errors import ConfigError, DatasetError
from occseg.eval.selection_recall import (
    DEFAULT_PADS,
    check_selection_method,
    parse_pads,
    run_selection_recall,
)
from occseg.eval.selection_report import write_selection_report
from occseg.nn import ClickNet, ClickNetConfig
from occseg.nn.twoinone import TwoInOne, TwoInOneConfig
from occseg.selection_crop import DEFAULT_PAD, CropRule, selection_box
from occseg.simulate.boundary_clicks import selection_click
from occseg.types import Sample

H, W = 50, 60


class FixedSelection:
    """A stand-in two-in-one predictor: a fixed selection probability per image; records calls."""

    threshold = 0.5
    supports_boundary_clicks = True

    def __init__(self, probs: dict[int, np.ndarray], pad: int = 7) -> None:
        self.probs, self.crop, self.calls = probs, CropRule(pad=pad), []
        self._key = -1

    def set_image(self, image: np.ndarray) -> None:
        self._key = int(image[0, 0, 0])  # the sample's number, painted into its image

    def predict(self, clicks: list, prev_prob: np.ndarray | None = None) -> np.ndarray:
        self.calls.append((self._key, list(clicks)))
        return self.probs[self._key]


def _box_mask(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _prob(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """0.9 on the box, 0.0005 elsewhere (under the 0.001 of Sec. 4.2), and one pixel at exactly
    0.001 (not above it: outside the crop)."""
    prob = np.full((H, W), 0.0005, np.float32)
    prob[y0:y1, x0:x1] = 0.9
    prob[0, 0] = 0.001
    return prob


def _sample(key: int, mask: np.ndarray, ignore: np.ndarray | None = None) -> Sample:
    return Sample(f"obj{key}", np.full((H, W, 3), key, np.uint8), mask, ignore)


@pytest.fixture()
def hand_made() -> tuple[FixedSelection, list[Sample]]:
    """Object 0 overflows its selection box by 4 (top, bottom) and 5 (left, right) pixels;
    object 1 by 12 on the right only; object 2's overflow is ignored; object 3 is empty."""
    ignore = np.zeros((H, W), bool)
    ignore[20:22, 50:58] = True  # a stray ignored part of object 2, far from its box
    object2 = _box_mask(10, 20, 10, 20) | ignore
    samples = [
        _sample(0, _box_mask(10, 30, 15, 45)),
        _sample(1, _box_mask(20, 40, 10, 50)),
        _sample(2, object2, ignore),
        _sample(3, np.zeros((H, W), bool)),
    ]
    probs = {
        0: _prob(14, 26, 20, 40),
        1: _prob(20, 40, 10, 38),
        2: _prob(10, 20, 10, 20),
        3: _prob(0, 5, 0, 5),
    }
    return FixedSelection(probs), samples


def test_parse_pads() -> None:
    assert parse_pads("20, 0,5,5") == (0, 5, 20)
    assert parse_pads(",".join(map(str, DEFAULT_PADS))) == DEFAULT_PADS
    for bad in ["", "a", "5,-1", "1.5", "5,,10"]:
        with pytest.raises(ConfigError, match="--pads"):
            parse_pads(bad)


def test_recall_steps_at_the_overflow_and_the_area_is_the_padded_box(hand_made) -> None:
    predictor, samples = hand_made
    pads = (0, 4, 5, 11, 12, 40)
    report = run_selection_recall(predictor, samples, pads=pads, dataset="hand")
    assert report.pads == (0, 4, 5, 7, 11, 12, 40)  # the model's padding (7) is added
    first, second, third, empty = report.results
    # one prediction per object, with the protocol's selection click alone
    assert predictor.calls == [(k, [selection_click(samples[k].mask, samples[k].ignore)]) for k in
                               range(3)]  # fmt: skip
    assert empty.click is None and empty.crops == {}
    # object 0 needs 5 px, object 1 needs 12 px; object 2 is inside at once (the overflow is
    # ignored pixels)
    assert [first.contains(p) for p in report.pads] == [False, False, True, True, True, True, True]
    assert [second.contains(p) for p in report.pads] == [False] * 5 + [True, True]
    assert all(third.contains(p) for p in report.pads)
    expected_recall = [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1.0, 1.0]
    assert [report.recall(p) for p in report.pads] == pytest.approx(expected_recall)
    assert report.missed() == ["obj1"]  # at the model's 7 px
    assert report.missed(4) == ["obj0", "obj1"]
    # crop areas: object 0's box 12×20 at (14, 20), padded by 5: 22×30 of 50×60
    assert first.crops[5] == (9, 31, 15, 45)
    assert first.area_share(5) == pytest.approx(22 * 30 / (H * W))
    assert first.area_share(0) == pytest.approx(12 * 20 / (H * W))
    assert first.area_share(40) == 1.0  # clipped to the image
    mean5 = (22 * 30 + 30 * 38 + 20 * 20) / (3 * H * W)
    assert report.mean_area_share(5) == pytest.approx(mean5)
    for r, s in zip(report.results[:3], samples[:3], strict=True):
        prob = predictor.probs[int(s.image[0, 0, 0])]
        assert all(r.crops[p] == selection_box(prob, r.click, pad=p) for p in report.pads)
    summary = report.summary()
    assert (summary["n_objects"], summary["n_empty"], summary["model_pad"]) == (3, 1, 7)
    assert summary["missed_at_model_pad"] == ["obj1"] and summary["threshold"] == 0.001
    assert [row["pad"] for row in summary["pads"]] == list(report.pads)
    # selection IoU: object 0's box is 240 of its 600 px; 1: 560 of 800; 2: all (ignore excluded)
    assert summary["selection_mIoU"] == pytest.approx((240 / 600 + 560 / 800 + 1.0) / 3)
    again = run_selection_recall(FixedSelection(predictor.probs), samples, pads=pads)
    assert again.results == report.results  # deterministic


def test_the_report_files(hand_made, tmp_path: Path) -> None:
    predictor, samples = hand_made
    report = run_selection_recall(predictor, samples, pads=(0, 5, 12), dataset="hand")
    summary = write_selection_report(report, tmp_path / "out", title="stand-in")
    out = tmp_path / "out"
    assert json.loads((out / "summary.json").read_text()) == summary
    per_object = json.loads((out / "per_object.json").read_text())
    assert [o["name"] for o in per_object] == ["obj0", "obj1", "obj2", "obj3"]
    assert per_object[0]["crops"]["5"] == [9, 31, 15, 45] and per_object[3]["click"] is None
    md = (out / "summary.md").read_text()
    assert "| 5 | 66.7 | 24.4 |" in md  # recall 2/3; area (660 + 1140 + 400) / 3 / 3000
    assert "| 7 (model) |" in md and "| 12 | 100.0 |" in md and "obj1" in md
    assert "> 0.001, padded (paper" in md
    assert (out / "recall_vs_padding.png").stat().st_size > 0


def test_a_models_own_crop_rule_is_used_and_reported(hand_made, tmp_path: Path) -> None:
    """A model trained with another threshold and a relative padding is measured with them."""
    predictor, samples = hand_made
    predictor = FixedSelection(predictor.probs)
    predictor.crop = CropRule(0.5, 7, 0.25)
    report = run_selection_recall(predictor, samples, pads=(0,), dataset="hand")
    for r in report.scored:
        prob = predictor.probs[int(r.name[3:])]
        assert r.crops[0] == selection_box(prob, r.click, threshold=0.5, pad=0, relative_pad=0.25)
    summary = write_selection_report(report, tmp_path / "out")
    assert (summary["threshold"], summary["relative_pad"], summary["model_pad"]) == (0.5, 0.25, 7)
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "> 0.5, padded and by 0.25 of the box's size" in md


def test_methods_without_a_selection_network_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a two-in-one model"):
        check_selection_method("graphcut")
    clicknet = tmp_path / "clicknet.pt"
    save_checkpoint(clicknet, ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125)))
    with pytest.raises(ConfigError, match=r"format 'occseg\.clicknet', not a two-in-one model"):
        check_selection_method(str(clicknet))
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(ConfigError, match="not an occseg checkpoint"):
        check_selection_method(str(tmp_path / "junk.pt"))
    with pytest.raises(DatasetError, match="no samples"):
        run_selection_recall(FixedSelection({}), [])
    with pytest.raises(ConfigError, match="non-negative"):
        run_selection_recall(FixedSelection({}), [], pads=(-1, 5))
    with pytest.raises(ConfigError, match="several jobs"):
        run_selection_recall(FixedSelection({}), [], jobs=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder data set of two objects and an untrained tiny two-in-one checkpoint."""
    root = tmp_path_factory.mktemp("selection")
    (root / "data" / "images").mkdir(parents=True)
    (root / "data" / "masks").mkdir()
    rng = np.random.default_rng(0)
    for k, (y0, x0) in enumerate([(8, 10), (20, 30)]):
        image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
        mask = np.zeros((40, 48), np.uint8)
        mask[y0 : y0 + 12, x0 : x0 + 14] = 255
        Image.fromarray(image).save(root / "data" / "images" / f"im{k}.png")
        Image.fromarray(mask).save(root / "data" / "masks" / f"im{k}.png")
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12)).eval()
    save_checkpoint(root / "model.pt", model, train_config={"crop_pad": 3})
    return {"data": root / "data", "model": root / "model.pt"}


def test_the_command_writes_the_report(tiny, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    argv = ["eval", "selection", "--dataset", f"folder:{tiny['data']}", "--method"]
    argv += [str(tiny["model"]), "--out", str(out), "--pads", "0,10"]
    assert main(argv) == 0
    assert "instance recall" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_pad"] == 3  # the checkpoint's training padding
    assert [r["pad"] for r in summary["pads"]] == [0, 3, 10]
    assert summary["n_objects"] == 2 and summary["dataset"] == f"folder:{tiny['data']}"
    per_object = json.loads((out / "per_object.json").read_text())
    for row in summary["pads"]:  # the summary is the per-object crops' mean
        areas = [np.prod(np.diff(np.reshape(o["crops"][str(row["pad"])], (2, 2)))) for o in
                 per_object]  # fmt: skip
        assert row["mean_area_share"] == pytest.approx(np.mean(areas) / (40 * 48))
    assert (out / "summary.md").is_file() and (out / "recall_vs_padding.png").is_file()


def test_workers_give_the_single_process_result(tiny) -> None:
    from occseg.data import open_dataset

    samples = open_dataset(f"folder:{tiny['data']}")
    one = run_selection_recall(str(tiny["model"]), samples, pads=(0, 5))
    two = run_selection_recall(str(tiny["model"]), samples, pads=(0, 5), jobs=2)
    assert two.results == one.results and one.model_pad == 3


def test_the_shipped_padding_is_the_default() -> None:
    assert DEFAULT_PAD in DEFAULT_PADS
