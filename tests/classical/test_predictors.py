"""Behaviour shared by every classical predictor (Predictor protocol, validation, quality)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.classical import (
    GeodesicPredictor,
    GrabCutPredictor,
    GraphCutPredictor,
    RandomWalkerPredictor,
)
from occseg.errors import InteractionError
from occseg.predict.registry import load_predictor
from occseg.predictor import Predictor
from occseg.types import Click

# honest single-click IoU floors on the synthetic disk (graph cut should be near perfect)
PREDICTORS = [
    pytest.param(GraphCutPredictor, 0.9, id="graphcut"),
    pytest.param(GrabCutPredictor, 0.85, id="grabcut"),
    pytest.param(RandomWalkerPredictor, 0.8, id="random_walker"),
    pytest.param(GeodesicPredictor, 0.8, id="geodesic"),
]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_one_positive_click_segments_disk(cls, floor, scene):
    img, disk = scene
    p = cls()
    assert isinstance(p, Predictor)
    p.set_image(img)
    prob = p.predict([Click(30, 28, True)])
    assert prob.shape == disk.shape
    assert prob.dtype == np.float32
    assert np.isfinite(prob).all()
    assert prob.min() >= 0.0 and prob.max() <= 1.0
    assert iou(prob > 0.49, disk) > floor


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_negative_click_removes_wrong_region(cls, floor, scene_with_distractor):
    img, disk = scene_with_distractor
    p = cls()
    p.set_image(img)
    clicks = [Click(30, 28, True)]
    first = p.predict(clicks)
    clicks.append(Click(30, 53, False))  # inside the same-coloured square
    second = p.predict(clicks, prev_prob=first)
    square = np.zeros_like(disk)
    square[24:37, 47:58] = True
    assert (second > 0.49)[square].mean() < 0.2
    assert (second > 0.49)[30, 53] == 0
    assert iou(second > 0.49, disk) > floor - 0.1


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_deterministic(cls, floor, scene):
    img, _ = scene
    clicks = [Click(30, 28, True), Click(5, 60, False)]
    a, b = cls(), cls()
    a.set_image(img)
    b.set_image(img)
    first = a.predict(clicks)
    np.testing.assert_array_equal(first, b.predict(clicks))
    np.testing.assert_array_equal(first, a.predict(clicks))


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_click_outside_image_raises(cls, floor, scene):
    img, _ = scene
    p = cls()
    p.set_image(img)
    for bad in (Click(64, 10, True), Click(10, -1, False), Click(-5, 70, True)):
        with pytest.raises(InteractionError, match="outside"):
            p.predict([Click(30, 28, True), bad])


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
@pytest.mark.parametrize(
    "image",
    [
        np.zeros((16, 16), np.uint8),
        np.zeros((16, 16, 4), np.uint8),
        np.zeros((16, 16, 3), np.float32),
        [[0, 0, 0]],
    ],
    ids=["gray", "rgba", "float", "list"],
)
def test_wrong_image_raises(cls, floor, image):
    with pytest.raises(InteractionError):
        cls().set_image(image)


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_predict_before_set_image_and_bad_prev(cls, floor, scene):
    p = cls()
    with pytest.raises(InteractionError, match="set_image"):
        p.predict([Click(1, 1, True)])
    p.set_image(scene[0])
    with pytest.raises(InteractionError, match="prev_prob"):
        p.predict([Click(1, 1, True)], prev_prob=np.zeros((3, 3), np.float32))


@pytest.mark.parametrize(("cls", "floor"), PREDICTORS)
def test_only_negative_clicks_give_empty_mask(cls, floor, scene):
    p = cls()
    p.set_image(scene[0])
    prob = p.predict([Click(5, 5, False)])
    assert prob.shape == (64, 64) and prob.dtype == np.float32
    assert not (prob > 0.49).any()


@pytest.mark.parametrize("name", ["graphcut", "grabcut", "random_walker", "geodesic"])
def test_registry_builds_each(name):
    assert isinstance(load_predictor(name), Predictor)


@pytest.mark.parametrize("name", ["boykov_jolly", "graphcut"])
def test_graph_cut_defaults_are_the_plain_cut(name) -> None:
    """No distance prior, no previous-mask terms, a 3-pixel border: the plain Boykov–Jolly cut
    that the COCO-tuned terms lost to on bsds500_objects."""
    from occseg.predict import load_predictor

    bj = load_predictor(name)
    assert isinstance(bj, GraphCutPredictor)
    assert (bj.mu, bj.kappa, bj.border, bj.prev_colour, bj.n_iter) == (0.0, 0.0, 3, False, 1)
    assert load_predictor(name, border=5).border == 5  # options still override


def test_prev_colour_off_ignores_the_previous_mask() -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :20], img[:, 20:40], img[:, 40:] = (200, 30, 30), (30, 30, 200), (30, 200, 30)
    clicks = [Click(20, 10, True)]  # on the red stripe
    prev = np.zeros((40, 60), np.float32)
    prev[:, :40] = 1.0  # the previous mask took the blue stripe as well
    plain = GraphCutPredictor()
    plain.set_image(img)
    assert np.array_equal(plain.predict(clicks, prev), plain.predict(clicks))
    assert not (plain.predict(clicks, prev) > 0.49)[:, 20:].any()  # red only
    seeded = GraphCutPredictor(prev_colour=True)
    seeded.set_image(img)
    assert (seeded.predict(clicks, prev) > 0.49)[:, 20:40].all()  # blue became object colour


def _noisy_prob(mask: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.15 + 0.7 * mask + rng.normal(0, 0.25, mask.shape), 0.01, 0.99)


def test_band_limited_cut_is_the_full_cut_with_settled_pixels_clamped(scene) -> None:
    """The small graph has the same minimum as the full grid with the settled pixels held by
    hard t-links: n-links to settled neighbours became t-links of the same weight."""
    img, disk = scene
    cut = GraphCutPredictor()
    cut.set_image(img)
    rng = np.random.default_rng(3)
    d_fg = rng.uniform(0, 3, disk.shape).astype(np.float32) + 2.0 * ~disk
    d_bg = rng.uniform(0, 3, disk.shape).astype(np.float32) + 2.0 * disk
    settled = np.full(disk.shape, -1, np.int8)
    settled[:12], settled[:, 50:] = 0, 0  # background strips
    settled[26:34, 24:32] = 1  # an object patch
    clamped_fg, clamped_bg = d_fg.copy(), d_bg.copy()
    clamped_fg[settled == 0], clamped_bg[settled == 0] = cut._hard, 0.0
    clamped_fg[settled == 1], clamped_bg[settled == 1] = 0.0, cut._hard
    banded = cut._cut(d_fg, d_bg, settled)
    assert np.array_equal(banded, cut._cut(clamped_fg, clamped_bg))
    assert np.array_equal(banded[settled >= 0], settled[settled >= 0] == 1)
    assert banded[settled < 0].any() and not banded[settled < 0].all()  # the cut decided some


def test_later_cuts_reuse_the_flow_and_give_the_fresh_graphs_cut(scene) -> None:
    """The dynamic graph cut (Kohli & Torr): t-links changed on the kept graph give the same
    minimum cut as a graph built afresh, also when a click is taken back (its hard t-links
    drop by the finite K)."""
    img, disk = scene
    cut, fresh = GraphCutPredictor(), GraphCutPredictor()
    cut.set_image(img)
    fresh.set_image(img)
    rng = np.random.default_rng(7)
    hard = np.zeros(disk.shape, bool)
    graphs, masks = [], []
    for step in range(6):
        d_fg = rng.uniform(0, 3, disk.shape).astype(np.float32) + rng.uniform(0, 2) * ~disk
        d_bg = rng.uniform(0, 3, disk.shape).astype(np.float32) + rng.uniform(0, 2) * disk
        if step < 4:  # clicks accumulate: more and more hard object pixels
            hard[28 + step, 20:30] = True
        else:  # a click taken back
            hard[28 + step - 3] = False
        d_fg[hard], d_bg[hard] = 0.0, cut._hard
        fresh._flow = None
        masks.append(cut._cut(d_fg, d_bg))
        assert np.array_equal(masks[-1], fresh._cut(d_fg, d_bg))
        assert masks[-1][hard].all()
        assert cut._flow is not None
        graphs.append(cut._flow[0])
    assert all(g is graphs[0] for g in graphs)  # the graph was kept throughout
    assert len({m.tobytes() for m in masks}) > 1  # and the cuts did change
    cut.set_image(img)
    assert cut._flow is None  # a new image starts afresh


def test_hard_capacity_is_one_more_than_the_largest_sum_of_a_pixels_n_links() -> None:
    """Boykov & Jolly's K (Sec. 2.3) on a 3×3 grid whose n-links all weigh 1: the centre pixel
    has 8 neighbours with 8-connectivity, 4 with 4-connectivity."""
    from occseg.classical.graphcut import hard_capacity

    ones = np.ones((3, 3), np.float32)
    four = [((0, 1), ones.copy()), ((1, 0), ones.copy())]
    for edges in four:  # pairs leaving the grid have no weight (as contrast_weights gives)
        (dy, dx), w = edges
        w[3 - dy :, :] = 0
        w[:, 3 - dx :] = 0
    diag = ones.copy()
    diag[2, :], diag[:, 2] = 0, 0
    anti = ones.copy()
    anti[2, :], anti[:, 0] = 0, 0
    assert hard_capacity((3, 3), four) == 5.0
    assert hard_capacity((3, 3), [*four, ((1, 1), diag), ((1, -1), anti)]) == 9.0


def test_a_band_wider_than_the_image_gives_the_full_cut(scene) -> None:
    img, disk = scene
    prob = _noisy_prob(disk, 0)
    clicks = [Click(30, 28, True), Click(5, 5, False)]
    cut = GraphCutPredictor()
    cut.set_image(img)
    full = cut.predict_with_prior(clicks, prob)
    assert np.array_equal(full, cut.predict_with_prior(clicks, prob, band=100))


def test_settled_labels_free_the_band_around_the_outline_and_the_clicks() -> None:
    from occseg.classical.graphcut import settled_labels

    prob = np.full((40, 40), 0.3, np.float32)  # soft, as an NFL-trained network's
    prob[10:30, 10:30] = 0.7
    settled = settled_labels(prob, [Click(36, 36, False)], band=2)
    assert (settled[8:12, 10:30] == -1).all() and (settled[28:32, 10:30] == -1).all()
    assert (settled[12:28, 12:28] == 1).all()  # the object's inside, 2 px from the outline
    assert (settled[:7] == 0).all() and (settled[33:, :20] == 0).all()  # background
    assert (settled[35:38, 35:38] == -1).all()  # around the click


@pytest.mark.parametrize("colour_radius", [0.5, 15.0])
def test_the_cut_seeds_with_the_same_masks_as_exact_click_distances(colour_radius, monkeypatch):
    """Distances computed only near the clicks must not change a seed, even when the border
    keep-out is a fraction of the image (a colour radius below 1)."""
    import occseg.classical.graphcut as graphcut

    seen: list = []
    real = graphcut.seed_masks
    monkeypatch.setattr(graphcut, "seed_masks", lambda *a, **k: _both_seeds(real, seen, *a, **k))
    image = np.full((60, 80, 3), (40, 60, 200), np.uint8)
    image[0:20, 0:24] = (200, 40, 40)
    cut = GraphCutPredictor(colour_radius=colour_radius)
    cut.set_image(image)
    cut.predict([Click(8, 10, True)])
    assert len(seen) == 2
    for used, exact in seen:
        assert all(np.array_equal(u, e) for u, e in zip(used, exact, strict=True))


def _both_seeds(real, seen, clicks, shape, radius, **kwargs):
    """``seed_masks`` as the cut called it, and again from exact click distances."""
    used = real(clicks, shape, radius, **kwargs)
    kwargs.pop("distances", None)
    seen.append((used, real(clicks, shape, radius, **kwargs)))
    return used
