"""The Two-in-One predictor (paper ``002``) with a tiny untrained model: contract, crop, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import save_checkpoint
from occseg.errors import ConfigError, FileFormatError, InteractionError
from occseg.nn import ClickNet, ClickNetConfig
from occseg.nn.twoinone import TwoInOne, TwoInOneConfig
from occseg.predict import Predictor, load_predictor, registry
from occseg.predict.clicknet import ClickNetPredictor
from occseg.predict.session import Session
from occseg.predict.transforms import TransformedPredictor
from occseg.predict.twoinone import TwoInOnePredictor
from occseg.selection_crop import DEFAULT_PAD, CropRule, selection_box
from occseg.types import BoundaryClick, Click

torch.set_num_threads(1)

SELECT = Click(30, 40, True)
CLICKS = [SELECT, BoundaryClick(20, 30), BoundaryClick(45, 52)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12))
    path = tmp_path_factory.mktemp("twoinone") / "model.pt"
    save_checkpoint(path, model.eval(), train_config={"crop_pad": 7})
    return path


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (60, 80, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:60, :80]
    img[(yy - 30) ** 2 + (xx - 40) ** 2 < 15**2] = (220, 200, 40)
    return img


@pytest.fixture()
def predictor(checkpoint: Path, image: np.ndarray) -> TwoInOnePredictor:
    p = load_predictor(str(checkpoint))
    assert isinstance(p, TwoInOnePredictor)
    p.set_image(image)
    return p


def test_load_predictor_dispatches_on_the_checkpoint_format(
    checkpoint: Path, tmp_path: Path
) -> None:
    p = load_predictor(str(checkpoint))
    assert isinstance(p, Predictor) and p.supports_boundary_clicks and p.threshold == 0.5
    assert p.pad == 7  # the crop padding it was trained with
    assert load_predictor(str(checkpoint), pad=3).pad == 3
    with pytest.raises(ConfigError, match="does not take the option"):
        load_predictor(str(checkpoint), zoom_in=False)
    clicknet = tmp_path / "clicknet.pt"
    save_checkpoint(clicknet, ClickNet(ClickNetConfig(backbone="resnet18", width_mult=0.125)))
    assert isinstance(load_predictor(str(clicknet)), ClickNetPredictor)  # unchanged
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(FileFormatError, match="not a readable torch checkpoint"):  # as before
        load_predictor(str(tmp_path / "junk.pt"))


def test_max_side_shrinks_what_the_network_sees(checkpoint: Path, image: np.ndarray) -> None:
    p = load_predictor(str(checkpoint), max_side=40)
    assert isinstance(p, TransformedPredictor)
    assert p.supports_boundary_clicks  # the wrapper passes it on, for --interaction boundary
    inner = p.inner
    assert isinstance(inner, TwoInOnePredictor)
    p.set_image(image)  # 60×80 → 30×40 inside
    prob = p.predict(CLICKS)
    assert prob.shape == (60, 80)
    assert inner._image is not None and inner._image.shape[-2:] == (30, 40)
    with pytest.raises(ConfigError, match="max_side"):
        load_predictor(str(checkpoint), max_side=0)


def test_the_shipped_name_says_how_to_train_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "twoinone" in registry.available_methods()
    monkeypatch.setattr(registry, "DEFAULT_TWOINONE", tmp_path / "none.pt")
    with pytest.raises(ConfigError, match="occseg train twoinone") as info:
        load_predictor("twoinone")
    assert "\n" not in str(info.value)


def test_shapes_and_range(predictor: TwoInOnePredictor) -> None:
    for clicks in (CLICKS[:1], CLICKS):
        prob = predictor.predict(clicks)
        assert prob.shape == (60, 80) and prob.dtype == np.float32
        assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


def test_deterministic_and_without_hidden_state(
    predictor: TwoInOnePredictor, checkpoint: Path, image: np.ndarray
) -> None:
    first = predictor.predict(CLICKS)
    predictor.predict([Click(5, 5, True)])  # another object in between
    assert np.array_equal(first, predictor.predict(CLICKS))
    fresh = TwoInOnePredictor(checkpoint)
    fresh.set_image(image)
    assert np.array_equal(first, fresh.predict(CLICKS))
    prev = predictor.predict(CLICKS[:2])
    assert np.array_equal(
        first, predictor.predict(CLICKS, prev_prob=prev)
    )  # no previous-mask input


def test_boundary_clicks_refine_inside_the_selection_crop_only(
    predictor: TwoInOnePredictor,
) -> None:
    selection = predictor.predict(CLICKS[:1])
    refined = predictor.predict(CLICKS)
    y0, y1, x0, x1 = selection_box(selection, SELECT, pad=7, points=CLICKS[1:])
    outside = np.ones(selection.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(refined[outside], selection[outside])
    assert not np.allclose(refined[y0:y1, x0:x1], selection[y0:y1, x0:x1])
    again = predictor.predict(CLICKS[:2])
    assert not np.array_equal(again, refined)  # every boundary click counts


def _count_calls(monkeypatch: pytest.MonkeyPatch, module: torch.nn.Module, name: str) -> list[int]:
    calls: list[int] = []
    method = getattr(module, name)

    def counting(*args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(1)
        return method(*args)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_the_selection_network_runs_once_per_selection_click(
    predictor: TwoInOnePredictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_calls(monkeypatch, predictor.model.selection, "forward")
    for k in range(1, 4):
        predictor.predict(CLICKS[:k])
    assert len(calls) == 1
    predictor.predict([Click(10, 10, True), BoundaryClick(12, 20)])
    assert len(calls) == 2


def test_a_late_fusion_model_encodes_the_image_once(
    image: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12, fusion="late", decoder_width=8))
    p = TwoInOnePredictor(model.eval())
    encodes = _count_calls(monkeypatch, model.selection, "encode")
    decodes = _count_calls(monkeypatch, model.selection, "decode")
    p.set_image(image)
    first = p.predict(CLICKS)
    p.predict([Click(10, 10, True)])
    assert (len(encodes), len(decodes)) == (1, 2)  # one image, two selection clicks
    p.set_image(image)
    np.testing.assert_array_equal(p.predict(CLICKS), first)
    assert (len(encodes), len(decodes)) == (2, 3)


@pytest.mark.parametrize(
    ("clicks", "match"),
    [
        ([], "at least one click"),
        ([Click(60, 3, True)], "outside"),
        ([SELECT, BoundaryClick(3, 80)], "outside"),
        ([Click(30, 40, False)], "positive click that selects"),
        ([BoundaryClick(30, 40)], "positive click that selects"),
        ([SELECT, Click(5, 5, False)], "boundary clicks only"),
        ([SELECT, Click(5, 5, True)], "boundary clicks only"),
    ],
)
def test_interaction_errors_are_one_line(
    predictor: TwoInOnePredictor, clicks: list, match: str
) -> None:
    with pytest.raises(InteractionError, match=match) as info:
        predictor.predict(clicks)
    assert "\n" not in str(info.value)


def test_other_errors(checkpoint: Path, predictor: TwoInOnePredictor) -> None:
    with pytest.raises(InteractionError, match="set_image"):
        TwoInOnePredictor(checkpoint).predict(CLICKS)
    with pytest.raises(InteractionError):
        TwoInOnePredictor(checkpoint).set_image(np.zeros((10, 10), np.float64))
    with pytest.raises(InteractionError, match="prev_prob"):
        predictor.predict(CLICKS, prev_prob=np.zeros((10, 10), np.float32))
    assert TwoInOnePredictor(checkpoint, pad=None).pad == 7
    assert TwoInOnePredictor(TwoInOne(TwoInOneConfig(width_mult=0.25))).pad == DEFAULT_PAD


def test_a_residual_model_crops_by_its_checkpoints_rule(tmp_path: Path, image: np.ndarray) -> None:
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12, residual=True)).eval()
    path = tmp_path / "residual.pt"
    rule = {"crop_threshold": 0.5, "crop_pad": 2, "crop_relative_pad": 0.5}
    save_checkpoint(path, model, train_config=rule)
    p = TwoInOnePredictor(path)
    assert p.crop == CropRule(0.5, 2, 0.5) and TwoInOnePredictor(path, pad=9).crop.pad == 9
    p.set_image(image)
    selection = p.predict(CLICKS[:1])
    # untrained, the correction is zero: boundary clicks leave the selection as it was
    np.testing.assert_allclose(p.predict(CLICKS), selection, atol=1e-6)
    torch.nn.init.normal_(p.model.refinement.head.weight, std=0.5)  # a trained correction
    refined = p.predict(CLICKS)
    y0, y1, x0, x1 = p.crop.box(selection, SELECT, CLICKS[1:])
    outside = np.ones(selection.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(refined[outside], selection[outside])
    assert not np.allclose(refined[y0:y1, x0:x1], selection[y0:y1, x0:x1])


def test_a_pnr_model_refines_with_positive_and_negative_clicks(image: np.ndarray) -> None:
    torch.manual_seed(0)
    model = TwoInOne(TwoInOneConfig(width_mult=0.25, crop_size=12, refinement_clicks="signed"))
    p = TwoInOnePredictor(model.eval())
    assert not p.supports_boundary_clicks  # a click model to the app and the protocol
    p.set_image(image)
    selection = p.predict([SELECT])
    positive = p.predict([SELECT, Click(20, 30, True)])
    negative = p.predict([SELECT, Click(20, 30, False)])
    assert not np.allclose(positive, selection) and not np.allclose(positive, negative)
    with pytest.raises(InteractionError, match="positive and negative clicks") as info:
        p.predict([SELECT, BoundaryClick(20, 30)])
    assert "\n" not in str(info.value)


def test_a_session_takes_boundary_clicks_with_undo(
    predictor: TwoInOnePredictor, image: np.ndarray
) -> None:
    session = Session(predictor, image)
    obj = session.add_object()
    first = session.add_click(obj, SELECT)
    second = session.add_click(obj, CLICKS[1])
    session.undo(obj)
    assert np.array_equal(session.prob(obj), first)
    session.redo(obj)
    assert np.array_equal(session.prob(obj), second)
    assert [c["kind"] for c in session.to_dict()["objects"][0]["clicks"]] == ["click", "boundary"]
