"""OOSIS on one image: maps -> decoding -> CRF labelling -> instances, graph, depth (paper 001)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from occseg.cli import main
from occseg.errors import ConfigError, ImageReadError
from occseg.occlusion.pipeline import (
    OrderMaps,
    order_image,
    order_maps,
    order_masks,
    write_order_result,
)
from occseg.occlusion.scores import instance_scores
from occseg.occlusion.targets import occludes_from_instances, orientation_targets


class IdealModel:
    """Stage 1 replaced by perfect maps of a known scene."""

    def __init__(self, inst: np.ndarray, occlusions, classes: dict[int, int], n_classes: int):
        b, e = orientation_targets(occludes_from_instances(inst, occlusions))
        sem = np.zeros((*inst.shape, n_classes), np.float32)
        for i, c in classes.items():
            sem[inst == i, c] = 1
        self.maps = OrderMaps(sem, b.astype(np.float32), e, ("bg", "box", "ball"))

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        return self.maps


def test_ideal_maps_give_instances_classes_graph_and_files(tmp_path):
    inst = np.zeros((30, 36), int)
    inst[4:20, 3:18] = 1  # a box
    inst[10:26, 14:30] = 2  # a ball in front of it
    model = IdealModel(inst, [(2, 1), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3)
    result = order_image(np.zeros((30, 36, 3), np.uint8), model, nms=False)
    got = result.instances
    front, back = got.instances[20, 25], got.instances[6, 5]
    assert {front, back} == {1, 2} and result.edges == [(front, back)]
    assert got.classes[front - 1] == 2 and got.classes[back - 1] == 1
    assert result.depth == {front: 0, back: 1}
    paths = write_order_result(result, tmp_path)
    graph = json.loads(paths["graph"].read_text())
    assert graph["edges"] == [[int(front), int(back)]]
    by_id = {g["id"]: g for g in graph["instances"]}
    assert by_id[int(front)]["class_name"] == "ball" and by_id[int(back)]["depth"] == 1
    assert by_id[int(front)]["area"] == int((got.instances == front).sum())
    ids = np.asarray(Image.open(paths["instances"]))
    assert (ids == got.instances).all()
    depth = np.asarray(Image.open(paths["depth"]))
    assert depth[20, 25] > depth[6, 5] > depth[0, 0] == 0
    # the confidence: the outline contrast by default, the paper's score by name
    contrast = instance_scores(got.instances, model.maps.boundary, "outline_contrast")
    np.testing.assert_allclose(got.scores, contrast)
    assert [g["score"] for g in graph["instances"]] == pytest.approx(contrast.tolist())
    paper = order_image(np.zeros((30, 36, 3), np.uint8), model, nms=False, score="paper")
    np.testing.assert_array_equal(paper.instances.instances, got.instances)
    np.testing.assert_allclose(
        paper.instances.scores, instance_scores(got.instances, model.maps.boundary, "paper")
    )
    assert not np.allclose(paper.instances.scores, contrast)


class SizeRecorder(IdealModel):
    """Perfect maps of a known scene; remembers the size of the image it was given."""

    def predict_maps(self, image: np.ndarray) -> OrderMaps:
        self.seen = image.shape
        return self.maps


def test_a_large_image_is_ordered_at_max_side_and_labelled_at_full_size():
    inst = np.zeros((30, 36), int)
    inst[4:20, 3:18] = 1
    inst[10:26, 14:30] = 2
    model = SizeRecorder(inst, [(2, 1), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3)
    small = order_image(np.zeros((30, 36, 3), np.uint8), model, nms=False)
    big = order_image(np.zeros((60, 72, 3), np.uint8), model, nms=False, max_side=36)
    assert model.seen == (30, 36, 3)  # the network saw the image shrunk to 36 px
    assert big.labels.shape == big.instances.instances.shape == (60, 72)
    np.testing.assert_array_equal(big.instances.instances[::2, ::2], small.instances.instances)
    np.testing.assert_array_equal(big.labels[1::2, 1::2], small.labels)
    assert big.edges == small.edges and big.depth == small.depth
    assert order_image(np.zeros((30, 36, 3), np.uint8), model, max_side=0).labels.shape == (30, 36)
    with pytest.raises(ImageReadError, match=r"as ordered .*max side 400"):
        order_image(np.zeros((3, 2000, 3), np.uint8), model)  # 400×1 once shrunk


def test_labels_come_back_centre_aligned_as_the_image_was_shrunk():
    """Every instance brought back by ``at_size`` keeps its centroid where the shrink put it,
    within half a pixel (a floor-based nearest neighbour moves it towards the top left by up to
    half a network pixel: 0.89 px here)."""
    inst = np.zeros((30, 36), int)
    inst[4:20, 3:18] = 1
    inst[10:26, 14:30] = 2
    model = SizeRecorder(inst, [(2, 1), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3)
    result = order_image(np.zeros((30, 36, 3), np.uint8), model, nms=False)
    small = result.instances.instances
    for h, w in [(50, 61), (83, 97), (97, 130)]:
        big = result.at_size((h, w)).instances.instances
        for i in (1, 2):
            ys, xs = np.nonzero(small == i)
            expected = ((ys.mean() + 0.5) * h / 30 - 0.5, (xs.mean() + 0.5) * w / 36 - 0.5)
            ys, xs = np.nonzero(big == i)
            np.testing.assert_allclose((ys.mean(), xs.mean()), expected, atol=0.5)


def test_network_predictor_and_cli(tmp_path, monkeypatch):
    from occseg.checkpoint import save_checkpoint
    from occseg.nn.ordernet import OrderNet, OrderNetConfig
    from occseg.predict.ordernet import OrderNetPredictor

    torch.manual_seed(0)
    net = OrderNet(OrderNetConfig(width_mult=0.125, pool_bins=(1, 2)))
    image = (np.random.default_rng(0).random((24, 28, 3)) * 255).astype(np.uint8)
    maps = OrderNetPredictor(net).predict_maps(image)
    assert maps.semantic.shape == (24, 28, 2) and maps.orientation.shape == (24, 28, 4)
    np.testing.assert_allclose(maps.semantic.sum(2), 1, atol=1e-5)
    assert ((maps.boundary > 0) & (maps.boundary < 1)).all()
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, net)
    Image.fromarray(image).save(tmp_path / "img.png")
    code = main(
        ["order", str(tmp_path / "img.png"), "--model", str(ckpt), "--out", str(tmp_path / "o")]
    )
    assert code == 0
    assert {p.name for p in (tmp_path / "o").iterdir()} == {
        "instances.png",
        "depth.png",
        "graph.json",
    }
    monkeypatch.setattr("occseg.predict.ordernet.DEFAULT_ORDERNET", tmp_path / "none.pt")
    assert main(["order", str(tmp_path / "img.png"), "--out", str(tmp_path / "o")]) == 2
    bad = ["--model", str(ckpt), "--out", str(tmp_path / "o2"), "--score", "area"]
    assert main(["order", str(tmp_path / "img.png"), *bad]) == 2
    assert not (tmp_path / "o2").exists()  # refused before any work
    bad = ["--model", str(ckpt), "--out", str(tmp_path / "o2"), "--max-side", "16"]
    assert main(["order", str(tmp_path / "img.png"), *bad]) == 2
    assert not (tmp_path / "o2").exists()


def test_given_masks_are_ordered_by_the_oriented_boundaries():
    inst = np.zeros((30, 36), int)
    inst[4:20, 3:18] = 1  # a box
    inst[10:26, 14:30] = 2  # a ball in front of it
    inst[0:3, 30:36] = 3  # far from both: never ordered
    maps = IdealModel(inst, [(2, 1), (1, 0), (2, 0), (3, 0)], {0: 0, 1: 1, 2: 2, 3: 1}, 3).maps
    masks = [inst == 1, inst == 2, inst == 3]
    assert order_masks(maps, masks) == [(1, 0)]  # masks[1] occludes masks[0]
    assert order_masks(maps, masks[::-1]) == [(1, 2)]  # indices follow the given order
    assert order_masks(maps, masks[:1]) == []
    # the decoding of the CRF pass, passed on, gives the same order (as `eval order` does)
    decoded = order_maps(maps).boundaries
    assert order_masks(maps, masks, decoded=decoded) == [(1, 0)]
    assert order_masks(maps, masks[::-1], decoded=decoded) == [(1, 2)]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_regions_keep_two_objects_whole_where_noisy_orientation_breaks_the_crf():
    inst = np.zeros((30, 36), int)
    inst[4:20, 3:18] = 1  # a box
    inst[10:26, 14:30] = 2  # a ball in front of it
    maps = IdealModel(inst, [(2, 1), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3).maps
    boundary, orientation = maps.boundary.copy(), maps.orientation.copy()
    for y in range(10, 20, 3):  # every third pixel of the shared border points the wrong way
        boundary[y, 13] = 1.0
        orientation[y, 13] = [0, 1, 0, 0]  # a box pixel "occludes" the ball on its right
    noisy = OrderMaps(maps.semantic, boundary, orientation, maps.class_names)
    result = order_maps(noisy, nms=False)  # regions, the default
    got = result.instances.instances
    box, ball = got[6, 5], got[22, 25]
    assert got.max() == 2 and {box, ball} == {1, 2}
    assert _iou(got == box, inst == 1) > 0.9 and _iou(got == ball, inst == 2) > 0.9
    assert result.edges == [(ball, box)] and result.depth == {ball: 0, box: 1}
    assert result.labels[22, 25] > result.labels[6, 5] > result.labels[0, 0] == 0
    assert result.instances.classes[ball - 1] == 2 and result.instances.classes[box - 1] == 1
    # the paper's CRF: a reversed pair is forbidden outright, so it cuts the box into pieces
    crf = order_maps(noisy, instances="crf", nms=False)
    assert crf.instances.instances.max() > 2
    with pytest.raises(ConfigError, match="regions, crf"):
        order_maps(noisy, instances="blobs")


def test_with_the_image_regions_of_one_colour_across_a_weak_boundary_join():
    inst = np.zeros((30, 36), int)
    inst[4:26, 4:32] = 1
    maps = IdealModel(inst, [(1, 0)], {0: 0, 1: 1}, 3).maps
    boundary = maps.boundary.copy()
    boundary[4:26, 17:19] = 0.5  # a self-occlusion edge splits the object's regions
    split = OrderMaps(maps.semantic, boundary, maps.orientation, maps.class_names)
    image = np.full((30, 36, 3), 90, np.uint8)
    assert order_maps(split, nms=False).instances.instances.max() == 2
    whole = order_maps(split, image=image, nms=False).instances.instances
    assert whole.max() == 1 and _iou(whole == 1, inst == 1) > 0.9
    image[:, 18:] = (200, 40, 40)  # two colours: two objects
    assert order_maps(split, image=image, nms=False).instances.instances.max() == 2


def test_the_convexity_cue_orders_given_masks_where_the_boundaries_are_silent():
    inst = np.zeros((30, 36), int)
    inst[4:26, 3:33] = 1  # a wall ...
    inst[10:20, 12:22] = 2  # ... with a box in front of it
    maps = IdealModel(inst, [(2, 1), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3).maps
    silent = OrderMaps(
        maps.semantic, np.zeros_like(maps.boundary), maps.orientation, maps.class_names
    )
    masks = [inst == 1, inst == 2]
    assert order_masks(silent, masks) == [(1, 0)]  # the cue alone: the box is in front
    assert order_masks(silent, masks, convexity=0.0) == []  # no boundary vote: no order
    # the vote and the cue agree on the ideal maps; a reversed orientation outvotes the cue
    assert order_masks(maps, masks) == order_masks(maps, masks, convexity=0.0) == [(1, 0)]
    wrong = IdealModel(inst, [(1, 2), (1, 0), (2, 0)], {0: 0, 1: 1, 2: 2}, 3).maps
    assert order_masks(wrong, masks) == [(0, 1)]  # boundaries saying "wall in front" win
