"""The learned click predictor end to end with a randomly initialised tiny model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from occseg.checkpoint import save_checkpoint
from occseg.errors import ConfigError, InteractionError
from occseg.eval.clicks import evaluate_clicks, next_click
from occseg.nn import ClickNet, ClickNetConfig
from occseg.predict import Predictor, load_predictor, registry
from occseg.predict.clicknet import ClickNetPredictor
from occseg.predict.clicknet import HybridRefiner as HybridRefinerType
from occseg.predict.transforms import ZoomIn, box_iou, object_roi
from occseg.types import Click, Sample

torch.set_num_threads(1)


def _tiny_model() -> ClickNet:
    torch.manual_seed(0)
    return ClickNet(ClickNetConfig(width_mult=0.125)).eval()


def _image(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("zoom_flip", [(True, True), (False, False), (True, False)])
def test_protocol_end_to_end(zoom_flip: tuple[bool, bool]) -> None:
    zoom, flip = zoom_flip
    small_zoom = ZoomIn(target_size=48, min_crop=20) if zoom else False
    p = ClickNetPredictor(_tiny_model(), zoom_in=small_zoom, flip=flip)
    assert isinstance(p, Predictor)
    p.set_image(_image())
    prob = p.predict([Click(30, 40, True)])
    assert prob.shape == (60, 80) and prob.dtype == np.float32
    assert np.isfinite(prob).all() and (prob >= 0).all() and (prob <= 1).all()
    prob2 = p.predict([Click(30, 40, True), Click(5, 5, False)], prev_prob=prob)
    assert prob2.shape == (60, 80) and prob2.dtype == np.float32
    with pytest.raises(InteractionError):
        p.predict([Click(60, 0, True)])


def test_max_side_runs_the_network_on_the_shrunk_image() -> None:
    model = _tiny_model()
    seen: list[tuple[int, ...]] = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape)))
    p = ClickNetPredictor(model, zoom_in=False, flip=False, max_side=40)
    p.set_image(_image(60, 80))
    prob = p.predict([Click(30, 40, True)])
    assert prob.shape == (60, 80)  # back at full size
    assert seen and all(shape[-2:] == (30, 40) for shape in seen)


def test_coarse_clicks_error_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"^coarse_clicks must be at least 1, got 0$"):
        ClickNetPredictor(_tiny_model(), max_side=40, coarse_clicks=0)


def test_flip_averaging_is_mirror_symmetric() -> None:
    """With flip averaging, mirroring the image and clicks mirrors the prediction."""
    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=True)
    img = _image(32, 48)
    p.set_image(img)
    a = p.predict([Click(10, 12, True)])
    p.set_image(np.ascontiguousarray(img[:, ::-1]))
    b = p.predict([Click(10, 48 - 1 - 12, True)])
    np.testing.assert_allclose(a, b[:, ::-1], atol=1e-5)


def test_zoom_in_crops_and_keeps_roi() -> None:
    p = ClickNetPredictor(_tiny_model(), zoom_in=ZoomIn(target_size=40, min_crop=16), flip=False)
    p.set_image(_image(100, 120))
    prev = np.zeros((100, 120), np.float32)
    prev[40:50, 50:60] = 1.0
    clicks = [Click(45, 55, True)]
    p.predict(clicks)
    assert p.get_state() == ((None,), None)  # first click: the full image
    clicks.append(Click(47, 57, True))
    prob = p.predict(clicks, prev_prob=prev)
    ((roi,), _) = p.get_state()
    assert roi is not None and roi[1] - roi[0] == 16 and roi[3] - roi[2] == 16
    outside = np.ones_like(prob, bool)
    outside[roi[0] : roi[1], roi[2] : roi[3]] = False
    assert (prob[outside] == 0).all() and (prob[~outside] > 0).all()
    prev2 = prev.copy()
    prev2[40:51, 50:60] = 1.0  # nearly the same box: the crop is kept
    p.predict([*clicks, Click(41, 51, False)], prev_prob=prev2)
    assert p.get_state() == ((roi,), None)
    prev3 = np.zeros_like(prev)
    prev3[0:90, 0:110] = 1.0  # very different box: recomputed
    p.predict([*clicks, Click(80, 100, True)], prev_prob=prev3)
    assert p.get_state() != ((roi,), None)
    p.set_state(((roi,), None))  # a session restores an object's crop
    assert p.get_state() == ((roi,), None)
    p.set_image(_image(100, 120))
    assert p.get_state() == ((None,), None)  # a new image forgets the crop


def test_user_errors_are_interaction_errors() -> None:
    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=False)
    with pytest.raises(InteractionError, match="set_image"):
        p.predict([Click(1, 1, True)])
    with pytest.raises(InteractionError, match="RGB image"):
        p.set_image(np.zeros((10, 10), np.uint8))
    p.set_image(_image(20, 30))
    with pytest.raises(InteractionError, match="at least one click"):
        p.predict([])
    with pytest.raises(InteractionError, match="outside"):
        p.predict([Click(20, 3, True)])
    with pytest.raises(InteractionError, match="prev_prob"):
        p.predict([Click(2, 3, True)], prev_prob=np.zeros((30, 20), np.float32))
    with pytest.raises(ConfigError, match="max_size"):
        load_predictor("clicknet", max_size=800)  # replaced by the LimitLongestSide transform


def test_object_roi_and_box_iou() -> None:
    mask = np.zeros((300, 400), bool)
    mask[100:140, 150:250] = True
    y0, y1, x0, x1 = object_roi(mask, [Click(10, 10, False)], expansion=1.4, min_crop=50)
    assert (y1 - y0, x1 - x0) == (56, 140)
    assert y0 <= 100 and y1 >= 140 and x0 <= 150 and x1 >= 250
    y0, y1, x0, x1 = object_roi(mask, [Click(290, 390, True)], expansion=1.0, min_crop=10)
    assert (y1, x1) == (291, 391)
    assert box_iou((0, 10, 0, 10), (0, 10, 0, 10)) == 1.0
    assert box_iou((0, 10, 0, 10), (0, 10, 5, 15)) == pytest.approx(50 / 150)


def test_evaluator_feeds_the_probability_back_and_uses_the_threshold() -> None:
    """The protocol's IoUs equal a hand-written loop: the simulated user's clicks, the previous
    probability fed back, the mask ``prob > predictor.threshold``."""
    p = ClickNetPredictor(_tiny_model(), zoom_in=ZoomIn(target_size=40, min_crop=16))
    img = _image(40, 40)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 12:28] = True
    report = evaluate_clicks(p, [Sample("s", img, mask)], max_clicks=4, target_iou=None)
    p.set_image(img)
    pred, prob, clicks, ious = np.zeros_like(mask), None, [], []
    not_clicked = np.ones_like(mask)
    for _ in range(4):
        clicks.append(next_click(mask, pred, not_clicked))
        not_clicked[clicks[-1].y, clicks[-1].x] = False
        prob = p.predict(clicks, prev_prob=prob)
        pred = prob > p.threshold
        ious.append((pred & mask).sum() / (pred | mask).sum())
    assert report.results[0].clicks == clicks
    assert report.results[0].ious == pytest.approx(ious, abs=0)
    # a threshold the predictor does not use gives other masks (here: everything)
    low = evaluate_clicks(p, [Sample("s", img, mask)], max_clicks=1, pred_thr=0.0)
    assert low.results[0].ious[0] == pytest.approx(mask.mean())


def test_load_predictor_by_path_and_default(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.pt"
    save_checkpoint(path, _tiny_model())
    p = load_predictor(str(path), zoom_in=False)
    assert isinstance(p, ClickNetPredictor)
    p.set_image(_image(24, 24))
    assert p.predict([Click(3, 3, True)]).shape == (24, 24)
    monkeypatch.setattr(registry, "DEFAULT_CLICKNET", tmp_path / "none.pt")
    with pytest.raises(ConfigError, match="default click model is not installed"):
        load_predictor("clicknet")
    monkeypatch.setattr(registry, "DEFAULT_CLICKNET", path)
    assert isinstance(load_predictor("clicknet"), ClickNetPredictor)


def test_refiner_hook_sees_network_input_and_clicks() -> None:
    seen = {}

    def refine(image: np.ndarray, prob: np.ndarray, clicks: list[Click]) -> np.ndarray:
        seen.update(shape=image.shape, dtype=image.dtype, clicks=list(clicks))
        out = np.zeros_like(prob)
        for c in clicks:
            out[c.y, c.x] = 1.0 if c.positive else 0.0
        return out

    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=False, refine=refine)
    p.set_image(_image(30, 40))
    prob = p.predict([Click(3, 4, True), Click(20, 30, False)])
    assert seen["shape"] == (30, 40, 3) and seen["dtype"] == np.uint8
    assert seen["clicks"] == [Click(3, 4, True), Click(20, 30, False)]
    assert prob[3, 4] == 1.0 and prob.sum() == 1.0


def test_graph_cut_refiner_follows_edges_and_clicks() -> None:
    from occseg.predict.clicknet import GraphCutRefiner

    img = np.zeros((40, 40, 3), np.uint8)
    img[10:30, 10:30] = 200  # a bright square
    prob = np.full((40, 40), 0.45, np.float32)  # an unsure network
    prob[12:28, 12:28] = 0.6
    clicks = [Click(20, 20, True), Click(2, 2, False)]
    out = GraphCutRefiner(lam=2.0)(img, prob, clicks)
    mask = out > 0.49
    square = np.zeros((40, 40), bool)
    square[10:30, 10:30] = True
    assert (mask == square).mean() > 0.99  # snapped to the square's edges
    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=False, refine="graphcut")
    p.set_image(img)
    assert p.predict(clicks).shape == (40, 40)
    with pytest.raises(ConfigError, match="unknown refiner"):
        ClickNetPredictor(_tiny_model(), refine="crf")


def test_input_dither_is_a_fixed_pattern_of_the_given_sigma() -> None:
    from occseg.predict.clicknet import NetworkPredictor, dither

    flat = np.full((60, 80, 3), 0.5, np.float32)
    once, again = dither(flat, 0.01), dither(flat, 0.01)
    assert np.array_equal(once, again) and abs((once - flat).std() - 0.01) < 5e-4
    plain = _tiny_model()
    dithered = _tiny_model()
    dithered.config = replace(dithered.config, input_dither=2.0)
    clicks = [Click(30, 40, True)]
    probs = []
    for model in (plain, dithered, dithered):
        p = NetworkPredictor(model)
        p.set_image((flat * 255).astype(np.uint8))
        probs.append(p.predict(clicks))
    assert np.array_equal(probs[1], probs[2])  # deterministic
    assert not np.allclose(probs[0], probs[1])  # the network saw the dither
    with pytest.raises(ValueError, match="input_dither"):
        ClickNetConfig(input_dither=-1)


def test_hybrid_refiner_lets_the_network_pick_between_equal_colours() -> None:
    from occseg.predict.clicknet import HybridRefiner

    # two grey squares of the same colour: colour and contrast cannot tell them apart, so with
    # one click the cut alone takes both, and with the network's term only the left square
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:30, 5:25] = 150
    img[10:30, 35:55] = 150
    prob = np.full((40, 60), 0.05, np.float32)
    prob[10:30, 5:25] = 0.95
    clicks = [Click(20, 15, True)]
    left = np.zeros((40, 60), bool)
    left[10:30, 5:25] = True
    without_network = HybridRefiner(weight=0.0)(img, prob, clicks) > 0.49
    assert without_network[10:30, 35:55].all()  # the colour model takes both squares
    with_network = HybridRefiner(weight=5.0)(img, prob, clicks) > 0.49
    assert (with_network == left).mean() > 0.99  # the network's term keeps only the left one
    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=False, refine="hybrid")
    p.set_image(img)
    assert p.predict(clicks).shape == (40, 60)


def test_predict_with_prior_checks_the_shape() -> None:
    from occseg.classical import GraphCutPredictor

    cut = GraphCutPredictor()
    cut.set_image(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="object_prob"):
        cut.predict_with_prior([Click(2, 2, True)], np.zeros((4, 4)))


def test_shipped_model_loads_small_and_segments_a_plain_object(
    plain_object: Sample, one_click_iou: Callable[[Predictor], float]
) -> None:
    assert registry.DEFAULT_CLICKNET.stat().st_size <= 20 * 2**20
    p = load_predictor("clicknet")
    assert isinstance(p, ClickNetPredictor) and isinstance(p.refine, HybridRefinerType)
    assert p.model.encodes_once and (p.zoom, p.flip) == (None, False)
    assert p.refine.coarse is not None and p.refine.band == 8  # the coarse-to-fine cut
    assert one_click_iou(p) > 0.9
    # refine options merge into the default's; None switches one off
    heavier = load_predictor("clicknet", refine_options={"weight": 2.0})
    assert isinstance(heavier.refine, HybridRefinerType)
    assert (heavier.refine.weight, heavier.refine.band) == (2.0, 8)
    whole = load_predictor("clicknet", refine_options={"coarse_side": None, "band": None})
    assert isinstance(whole.refine, HybridRefinerType)
    assert whole.refine.coarse is None and whole.refine.band is None
    # the network alone (clicknet_lite0) within 3 clicks
    alone = load_predictor("clicknet_lite0")
    assert isinstance(alone, ClickNetPredictor) and alone.refine is None
    report = evaluate_clicks(alone, [plain_object], max_clicks=3)
    assert report.results[0].ious[-1] > 0.9


def test_hybrid_band_must_be_a_positive_width() -> None:
    from occseg.predict.clicknet import HybridRefiner

    with pytest.raises(ConfigError, match="band"):
        HybridRefiner(band=0)
    assert HybridRefiner(band=16).band == 16


def test_hybrid_cut_on_a_shrunk_image_comes_back_at_full_size() -> None:
    from occseg.predict.clicknet import HybridRefiner

    image = np.zeros((60, 80, 3), np.uint8)
    image[:] = (30, 160, 40)
    image[15:45, 20:50] = (200, 40, 40)  # the object
    truth = np.zeros((60, 80), bool)
    truth[15:45, 20:50] = True
    prob = np.where(truth, 0.7, 0.3).astype(np.float32)
    clicks = [Click(30, 35, True)]
    full = HybridRefiner()(image, prob, clicks)
    assert np.array_equal(HybridRefiner(max_side=80)(image, prob, clicks), full)  # not shrunk
    half = HybridRefiner(max_side=40)(image, prob, clicks)
    assert half.shape == (60, 80)
    assert ((half > 0.49) != truth).sum() <= 0.02 * truth.size


def _outline_inside_the_object() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(image, truth, prob)``: a red 30×30 object on green, and a network probability whose
    outline lies 10 px inside it."""
    image = np.zeros((60, 80, 3), np.uint8)
    image[:] = (30, 160, 40)
    image[15:45, 20:50] = (200, 40, 40)
    truth = np.zeros((60, 80), bool)
    truth[15:45, 20:50] = True
    prob = np.full((60, 80), 0.3, np.float32)
    prob[25:35, 30:40] = 0.7
    return image, truth, prob


def test_hybrid_coarse_to_fine_cut_moves_the_outline_beyond_the_band() -> None:
    from occseg.predict.clicknet import HybridRefiner

    # the network's outline is 10 px inside the object: a band of 2 px around it cannot reach
    # the object's edge, a coarse cut of the whole (shrunk) image can, and the band around the
    # coarse outline puts it back at full resolution
    image, truth, prob = _outline_inside_the_object()
    clicks = [Click(30, 35, True)]
    banded = HybridRefiner(band=2)(image, prob, clicks) > 0.49
    assert banded.sum() < 0.5 * truth.sum()
    coarse = HybridRefiner(coarse_side=40, band=2)(image, prob, clicks)
    assert coarse.shape == (60, 80) and np.array_equal(coarse > 0.49, truth)
    # not shrunk: the coarse cut is the full cut, and the band around it changes nothing
    full = HybridRefiner()(image, prob, clicks)
    assert np.array_equal(HybridRefiner(coarse_side=80, band=2)(image, prob, clicks), full)
    for wrong in ({"coarse_side": 40}, {"coarse_side": 40, "band": 2, "max_side": 40}):
        with pytest.raises(ConfigError, match="coarse_side"):
            HybridRefiner(**wrong)


def _cut_cost(mask: np.ndarray, connectivity: int) -> float:
    """The summed n-link weights (uniform image: 1 / edge length) of the pairs ``mask`` cuts."""
    from occseg.classical.graphcut import contrast_weights

    h, w = mask.shape
    cost = 0.0
    for (dy, dx), wgt in contrast_weights(np.zeros((h, w, 3), np.uint8), connectivity):
        first = (slice(0, h - dy), slice(max(0, -dx), w - max(0, dx)))
        second = (slice(dy, h), slice(max(0, dx), w + min(0, dx)))
        cost += float((wgt[first] * (mask[first] != mask[second])).sum())
    return cost


@pytest.mark.parametrize("radius", [20, 45])
def test_the_coarse_4_neighbourhood_measures_boundaries_as_the_8_neighbourhood(
    radius: int,
) -> None:
    from occseg.predict.clicknet import coarse_options

    yy, xx = np.mgrid[:120, :120]
    disk = (yy - 60) ** 2 + (xx - 60) ** 2 < radius**2
    options = coarse_options({"lam": 50.0}, 4)
    assert options == {"lam": 100.0, "connectivity": 4}
    eight = 50.0 * _cut_cost(disk, 8)
    four = options["lam"] * _cut_cost(disk, 4)
    # both are (8 / π) λ times the circle's length, to within the grid's discretisation
    assert four == pytest.approx(eight, rel=0.03)
    assert eight == pytest.approx(50.0 * 8 / np.pi * 2 * np.pi * radius, rel=0.03)
    assert coarse_options({"lam": 10.0, "connectivity": 4}, 8) == {"lam": 5.0, "connectivity": 8}
    assert coarse_options({"lam": 10.0}, None) == {"lam": 10.0} == coarse_options({"lam": 10.0}, 8)


def test_hybrid_coarse_cut_on_a_4_neighbourhood() -> None:
    from occseg.predict.clicknet import HybridRefiner

    image, truth, prob = _outline_inside_the_object()
    refiner = HybridRefiner(coarse_side=40, band=2, coarse_connectivity=4)
    assert refiner.coarse_cut.connectivity == 4 and refiner.cut.connectivity == 8
    assert refiner.coarse_cut.lam == 2 * refiner.cut.lam
    assert np.array_equal(refiner(image, prob, [Click(30, 35, True)]) > 0.49, truth)
    with pytest.raises(ConfigError, match="must be 4 or 8"):
        HybridRefiner(coarse_side=40, band=2, coarse_connectivity=6)


@pytest.mark.parametrize(
    "options", [{"coarse_side": 40, "band": 2, "coarse_connectivity": 4}, {}, {"max_side": 40}]
)
def test_hybrid_graph_built_before_the_first_click_gives_the_same_cuts(
    options: dict[str, int],
) -> None:
    from occseg.predict.clicknet import HybridRefiner

    image, _, prob = _outline_inside_the_object()
    clicks = [Click(30, 35, True), Click(5, 5, False), Click(40, 45, True)]
    prepared, fresh = HybridRefiner(**options), HybridRefiner(**options)
    prepared.set_image(image)
    whole = prepared.coarse_cut if "coarse_side" in options else prepared.cut
    assert whole._grid is not None  # built, waiting for the first cut's t-links
    for n in range(1, len(clicks) + 1):
        assert np.array_equal(prepared(image, prob, clicks[:n]), fresh(image, prob, clicks[:n]))
        assert whole._grid is None and whole._flow is not None  # used, then kept as the flow
    # the network predictor prepares its refiner with each new image
    p = ClickNetPredictor(_tiny_model(), zoom_in=False, flip=False, refine=HybridRefiner(**options))
    p.set_image(image)
    assert isinstance(p.refine, HybridRefiner)
    kept = p.refine.coarse_cut if "coarse_side" in options else p.refine.cut
    assert kept._grid is not None and kept.image is not None


def test_a_band_around_another_mask_settles_the_rest_by_it() -> None:
    from occseg.classical import GraphCutPredictor

    image = np.zeros((40, 40, 3), np.uint8)
    image[10:30, 10:30] = 200
    cut = GraphCutPredictor()
    cut.set_image(image)
    prob = np.full((40, 40), 0.2, np.float32)  # the network sees nothing
    around = np.zeros((40, 40), np.float32)
    around[8:32, 8:32] = 1.0  # a coarse result a little too large
    out = cut.predict_with_prior([Click(20, 20, True)], prob, band=3, band_around=around) > 0.49
    assert out[12:28, 12:28].all()  # settled object, kept though the network says background
    assert not out[:5].any() and not out[35:].any()  # settled background
    assert not out[8:10, 12:28].any()  # the band snapped the outline to the square's edge
    with pytest.raises(ValueError, match="band_around"):
        cut.predict_with_prior([Click(2, 2, True)], prob, band=3, band_around=np.zeros((4, 4)))


def test_hybrid_first_click_colour_seeds_keep_an_object_of_two_colours() -> None:
    from occseg.predict.clicknet import HybridRefiner

    # a yellow-and-red object on green; the clicked yellow half fills the click's colour disk,
    # and red also lies on the image border, so colour models seeded by the click and the border
    # call the red half background; seeded by the network's mask they keep it
    image = np.zeros((80, 120, 3), np.uint8)
    image[:] = (30, 160, 40)
    image[:15, 100:] = (200, 40, 40)
    image[20:60, 10:40] = (240, 230, 60)
    image[20:60, 40:90] = (200, 40, 40)
    truth = np.zeros((80, 120), bool)
    truth[20:60, 10:90] = True
    prob = np.where(truth, 0.7, 0.05).astype(np.float32)  # unsure inside, sure outside
    clicks = [Click(40, 25, True)]
    from_clicks = HybridRefiner()(image, prob, clicks) > 0.49
    assert not from_clicks[20:60, 45:90].any()  # the red half is lost
    first_click = HybridRefiner(colour_seeds="first_click")
    # the whole object, and the red corner stays out: the network is sure there
    assert np.array_equal(first_click(image, prob, clicks) > 0.49, truth)
    two = [*clicks, Click(30, 20, True)]  # from the second click on, seeded by the clicks
    assert np.array_equal(first_click(image, prob, two), HybridRefiner()(image, prob, two))
    with pytest.raises(ConfigError, match="colour_seeds"):
        HybridRefiner(colour_seeds="border")
    with pytest.raises(ConfigError, match="prev_colour"):
        HybridRefiner(colour_seeds="first_click", prev_colour=True)
