"""OB predictor (two-step inference, paper 000 Sec. 3.2), scribble maps and scribble JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.errors import FileFormatError, InteractionError
from occseg.io.scribbles import parse_scribbles, read_scribbles, scribbles_to_json
from occseg.nn.obnet import OBNet, OBNetConfig
from occseg.predict.boundaries import OBPredictor, previous_output, scribble_maps
from occseg.types import Scribble

TINY = {"width_mult": 0.25, "channels": 4, "boundary_channels": 4, "strip_kernel": 5}


def test_previous_output_non_binary_and_binary() -> None:
    p = np.zeros((30, 30))
    p[:, 14:17] = [0.6, 1.0, 0.6]
    p[:, 4:7] = [0.2, 0.5, 0.2]  # a weak ridge, below T after NMS
    soft = previous_output(p, 0.7)
    assert soft.dtype == np.float32
    assert set(np.flatnonzero(soft[15])) == {15} and soft[15, 15] == pytest.approx(0.8)
    assert not soft[:, :10].any()
    hard = previous_output(p, 0.7, binary=True)
    assert np.array_equal(hard > 0, soft > 0) and set(np.unique(hard)) == {0.0, 1.0}


def test_scribble_maps_follow_polylines() -> None:
    strokes = [Scribble(((10, 5), (10, 50)), "fn"), Scribble(((40, 20),), "fp")]
    fn, fp = scribble_maps(strokes, (60, 60), radius=3)
    assert fn.dtype == np.float32 and fn[10, 5:51].all() and fn[13, 30] == 1 and fn[14, 30] == 0
    assert fp[40, 20] == 1 and fp.sum() == 29  # one disk of radius 3
    assert not fn[40, 20] and not fp[10, 30]
    with pytest.raises(InteractionError, match="outside"):
        scribble_maps([Scribble(((0, 0), (70, 3)), "fn")], (60, 60))
    with pytest.raises(InteractionError, match="kind"):
        scribble_maps([Scribble(((0, 0),), "pos")], (60, 60))


def test_predictor_two_steps() -> None:
    torch.manual_seed(0)
    predictor = OBPredictor(OBNet(OBNetConfig(**TINY)))
    with pytest.raises(InteractionError, match="set_image"):
        predictor.automatic()
    image = np.random.default_rng(0).integers(0, 255, (45, 70, 3), dtype=np.uint8)
    predictor.set_image(image)
    auto = predictor.automatic()
    assert auto.shape == (45, 70) and auto.dtype == np.float32
    assert auto.min() >= 0 and auto.max() <= 1
    assert np.array_equal(predictor.predict(), auto)
    strokes = [Scribble(((20, 5), (20, 60)), "fn")]
    refined = predictor.predict(strokes, previous_prob=auto)
    assert refined.shape == auto.shape and not np.allclose(refined, auto)
    assert np.array_equal(predictor.predict(strokes), refined)  # automatic step run inside


def test_flip_averages_the_map_of_the_mirrored_inputs() -> None:
    """With ``flip`` the map is the mean of the plain map and the mirrored map of the mirrored
    image and scribbles, so mirroring the inputs mirrors the map (without it, it does not)."""
    torch.manual_seed(0)
    net = OBNet(OBNetConfig(**TINY))
    plain, flipped = OBPredictor(net), OBPredictor(net, flip=True)
    image = np.random.default_rng(1).integers(0, 255, (45, 70, 3), dtype=np.uint8)
    mirror = np.ascontiguousarray(image[:, ::-1])
    fn, zeros = np.zeros((45, 70), np.float32), np.zeros((45, 70), np.float32)
    fn[20, 5:40] = 1
    maps = {}
    for name, predictor in (("plain", plain), ("flip", flipped)):
        for view, img, f in (("image", image, fn), ("mirror", mirror, fn[:, ::-1])):
            predictor.set_image(img)
            maps[name, view] = predictor.forward(np.ascontiguousarray(f), zeros, zeros)
    mean = 0.5 * (maps["plain", "image"] + maps["plain", "mirror"][:, ::-1])
    np.testing.assert_allclose(maps["flip", "image"], mean, atol=1e-6)
    np.testing.assert_allclose(maps["flip", "mirror"], maps["flip", "image"][:, ::-1], atol=1e-6)
    assert not np.allclose(maps["plain", "mirror"], maps["plain", "image"][:, ::-1], atol=1e-3)


def test_predictor_user_errors_are_interaction_errors() -> None:
    torch.manual_seed(0)
    predictor = OBPredictor(OBNet(OBNetConfig(**TINY)))
    with pytest.raises(InteractionError, match="set_image"):
        predictor.predict([Scribble(((1, 1),), "fn")])
    with pytest.raises(InteractionError, match="RGB image"):
        predictor.set_image(np.zeros((45, 70), np.uint8))
    predictor.set_image(np.zeros((45, 70, 3), np.uint8))
    strokes = [Scribble(((20, 5), (20, 60)), "fn")]
    wrong = np.zeros((70, 45), np.float32)
    for call in (
        lambda: predictor.predict(strokes, previous_prob=wrong),
        lambda: predictor.predict([], previous_prob=wrong),
        lambda: predictor.refine(wrong.T, wrong.T, wrong),
        lambda: predictor.forward(wrong, wrong.T, wrong.T),
    ):
        with pytest.raises(InteractionError, match="shape"):
            call()
    with pytest.raises(InteractionError, match="outside"):
        predictor.predict([Scribble(((20, 5), (20, 70)), "fp")])


def test_predictor_from_checkpoint(tmp_path: Path) -> None:
    from occseg.checkpoint import save_checkpoint

    net = OBNet(OBNetConfig(**TINY, scribble_radius=5)).eval()
    save_checkpoint(tmp_path / "ob.pt", net)
    predictor = OBPredictor(tmp_path / "ob.pt")
    assert predictor.config.scribble_radius == 5


def test_scribble_json(tmp_path: Path) -> None:
    data = {"fn": [[[1, 2], [3, 4]], [[5, 6]]], "fp": [[[7.0, 8.0]]]}
    strokes = parse_scribbles(data)
    assert strokes == [
        Scribble(((1, 2), (3, 4)), "fn"),
        Scribble(((5, 6),), "fn"),
        Scribble(((7, 8),), "fp"),
    ]
    assert parse_scribbles(scribbles_to_json(strokes)) == strokes
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"fp": [[[0, 0], [9, 9]]]}))
    assert read_scribbles(path) == [Scribble(((0, 0), (9, 9)), "fp")]
    for bad in ([], {"pos": []}, {"fn": [[]]}, {"fn": [[[1]]]}, {"fn": [[[1, "a"]]]}, {"fn": 3}):
        with pytest.raises(FileFormatError):
            parse_scribbles(bad)
    path.write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        read_scribbles(path)
    with pytest.raises(FileFormatError, match="cannot read"):
        read_scribbles(tmp_path / "missing.json")


def test_shipped_model_beats_sobel_on_unseen_scenes(tmp_path: Path) -> None:
    from occseg.cli import main
    from occseg.data.boundaries import open_boundary_dataset
    from occseg.eval.boundaries import boundary_pr
    from occseg.occlusion.detectors import detect_boundaries
    from occseg.predict.boundary_map import DEFAULT_OBNET
    from occseg.synth import generate_dataset

    assert DEFAULT_OBNET.is_file() and DEFAULT_OBNET.stat().st_size <= 10 * 2**20
    root = tmp_path / "scenes"  # seed 11: not among the training scenes (seed 1)
    generate_dataset(root, n=2, width=128, height=128, seed=11, progress=False)
    data = open_boundary_dataset(f"synth:{root}")
    predictor = OBPredictor(DEFAULT_OBNET)
    maps = []
    for sample in data:
        predictor.set_image(sample.image)
        maps.append(predictor.automatic())
    gts = [s.boundaries for s in data]
    model = boundary_pr(maps, gts, 9).ods
    sobel = boundary_pr([detect_boundaries(s.image, method="sobel") for s in data], gts, 9).ods
    assert model > 0.7 and model > sobel + 0.1  # measured: 0.77 vs 0.58
    out = tmp_path / "ob.png"  # the command line uses the shipped model without --model
    assert main(["boundaries", str(root / "000000" / "rgb.png"), "--out", str(out)]) == 0
    assert out.is_file()


def test_boundary_map_of_a_large_image_runs_the_network_at_max_side(tmp_path: Path) -> None:
    from occseg.checkpoint import save_checkpoint
    from occseg.predict.boundary_map import boundary_map
    from occseg.predict.transforms import NetworkView

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "ob.pt", OBNet(OBNetConfig(**TINY)).eval())
    image = (np.random.default_rng(0).random((80, 120, 3)) * 255).astype(np.uint8)
    strokes = [Scribble(((10, 10), (70, 110)), "fn")]
    got = boundary_map(image, model=tmp_path / "ob.pt", scribbles=strokes, max_side=60)
    view = NetworkView(image, 60)  # the network sees 40×60, the scribble at its pixels
    predictor = OBPredictor(tmp_path / "ob.pt")
    predictor.set_image(view.image)
    small = predictor.predict([Scribble(view.points(strokes[0].points), "fn")])
    assert small.shape == (40, 60) and got.shape == (80, 120)
    np.testing.assert_allclose(got, view.to_image(small), atol=1e-6)
    full = boundary_map(image, model=tmp_path / "ob.pt", scribbles=strokes)
    assert full.shape == (80, 120) and not np.allclose(full, got, atol=1e-3)
    with pytest.raises(InteractionError, match="outside"):
        boundary_map(image, model=tmp_path / "ob.pt", scribbles=[Scribble(((90, 5),), "fp")],
                     max_side=60)  # fmt: skip
