"""FN / FP scribble simulation (paper 000, Sec. 3.2 "Scribble Simulation", Sec. 4.1)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from occseg.encode import SCRIBBLE_RADIUS, scribble_map
from occseg.simulate.scribbles import (
    EVAL_MIN_LENGTH,
    ErrorSegments,
    boundary_pieces,
    error_segments,
    perturb_segment,
    scribbles_from_segments,
    simulate_scribbles,
    stage1_scribbles,
    stage1_segments,
)

S = 128


def _near(mask: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within ``radius`` of ``mask``."""
    return ndimage.distance_transform_edt(~mask) <= radius


def _mask(segments: list[np.ndarray], shape: tuple[int, int] = (S, S)) -> np.ndarray:
    m = np.zeros(shape, bool)
    for s in segments:
        m[s[:, 0], s[:, 1]] = True
    return m


def _scene() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """GT with a found line, a missed line and a missed short line; a prediction with a FP line."""
    gt = np.zeros((S, S), bool)
    found, missed, short = (np.zeros((S, S), bool) for _ in range(3))
    found[20, 10:110] = True
    missed[60, 15:95] = True  # 80 px
    short[100, 10:30] = True  # 20 px: below the evaluation length
    gt |= found | missed | short
    prob = np.zeros((S, S))
    prob[21, 10:110] = 0.9  # one pixel off the GT: within the tolerance
    fp = np.zeros((S, S), bool)
    fp[40:90, 110] = True  # vertical, 50 px, far from the GT
    prob[fp] = 0.8
    prob[110, 60:70] = 0.8  # short FP piece (10 px)
    return prob, gt, {"found": found, "missed": missed, "short": short, "fp": fp}


# ---------------------------------------------------------------------------------------------
# pieces


def test_pieces_sorted_filtered_and_capped() -> None:
    m = np.zeros((40, 80), bool)
    m[2, 0:31] = True  # 31 > 30: kept
    m[10, 0:30] = True  # 30: not > 30
    m[20, 0:70] = True
    m[30, 5:50] = True
    lengths = [len(p) for p in boundary_pieces(m)]
    assert lengths == [70, 45, 31, 30]
    assert [len(p) for p in boundary_pieces(m, min_length=30)] == [70, 45, 31]
    assert [len(p) for p in boundary_pieces(m, min_length=30, max_pieces=2)] == [70, 45]
    assert boundary_pieces(np.zeros((5, 5), bool)) == []


def test_pieces_are_eight_connected_and_ordered() -> None:
    m = np.zeros((60, 60), bool)
    ys = np.arange(5, 45)
    m[ys, ys] = True  # diagonal: 8-connected only
    m[44, 45:55] = True  # then a horizontal run
    (piece,) = boundary_pieces(m)
    assert len(piece) == 50
    steps = np.abs(np.diff(piece, axis=0)).max(axis=1)
    assert (steps == 1).all()  # consecutive points are neighbours: ordered along the curve
    ends = {tuple(piece[0]), tuple(piece[-1])}
    assert ends == {(5, 5), (44, 54)}


# ---------------------------------------------------------------------------------------------
# error segments and maps


@pytest.mark.parametrize("nms", [False, True])
def test_error_segments_find_missed_and_spurious_pieces(nms: bool) -> None:
    prob, gt, parts = _scene()
    seg = error_segments(prob, gt, threshold=0.3, nms=nms)
    assert [len(s) for s in seg.fn] == [80]
    assert np.array_equal(_mask(seg.fn), parts["missed"])
    assert len(seg.fp) == 1 and len(seg.fp[0]) >= 40  # NMS may attenuate the ends
    assert _mask(seg.fp)[parts["fp"]].mean() > 0.8
    assert not (_mask(seg.fp) & ~parts["fp"]).any()
    # the short miss appears once the length filter is off, after the longer one
    seg0 = error_segments(prob, gt, threshold=0.3, nms=nms, min_length=0)
    assert [len(s) for s in seg0.fn] == [80, 20]


def test_maps_cover_only_the_errors() -> None:
    prob, gt, parts = _scene()
    sim = simulate_scribbles(prob, gt, threshold=0.3)
    assert sim.fn_map.dtype == np.float32 and sim.fn_map.shape == (S, S)
    assert set(np.unique(sim.fn_map)) == {0.0, 1.0}
    fn_zone = _near(parts["missed"], SCRIBBLE_RADIUS)
    fp_zone = _near(parts["fp"], SCRIBBLE_RADIUS)
    assert np.array_equal(sim.fn_map > 0, fn_zone)  # unperturbed: exactly the dilated misses
    assert not (sim.fp_map > 0)[~fp_zone].any()
    assert (sim.fp_map[45:85, 110] > 0).all()
    # nothing near the found line or the short miss
    assert not (sim.fn_map > 0)[parts["found"]].any()
    assert not (sim.fn_map > 0)[parts["short"]].any()


def test_max_segments_keeps_the_longest() -> None:
    gt = np.zeros((S, S), bool)
    for row, length in ((10, 40), (40, 90), (70, 60), (100, 50)):
        gt[row, 5 : 5 + length] = True
    seg = error_segments(np.zeros((S, S)), gt, max_segments=2)
    assert [len(s) for s in seg.fn] == [90, 60]
    assert seg.fp == []


def test_perfect_prediction_gives_empty_maps() -> None:
    gt = np.zeros((S, S), bool)
    gt[30, 10:100] = True
    prob = gt.astype(float)
    sim = simulate_scribbles(prob, gt, threshold=0.3, rng=np.random.default_rng(0))
    assert sim.segments == ErrorSegments([], [])
    assert not sim.fn_map.any() and not sim.fp_map.any()


def test_scribble_map_is_a_disk_of_radius_12() -> None:
    m = scribble_map([np.array([[50, 50]])], (101, 101))
    point = np.zeros((101, 101), bool)
    point[50, 50] = True
    assert np.array_equal(m > 0, _near(point, 12))
    assert m[50, 62] == 1 and m[50, 63] == 0 and m[59, 59] == 0


# ---------------------------------------------------------------------------------------------
# perturbation


def test_perturbation_identity_and_bounds() -> None:
    seg = np.stack([np.full(60, 50), np.arange(20, 80)], axis=1)
    rng = np.random.default_rng(1)
    same = perturb_segment(seg, rng, (S, S), length_jitter=0, max_shift=0)
    assert np.array_equal(same, seg)
    moved = perturb_segment(seg, rng, (S, S), length_jitter=0, max_shift=3)
    assert moved.shape == seg.shape
    assert np.abs(moved - seg).max() <= 3 and (moved != seg).any()


def test_length_perturbation_shortens_and_lengthens_along_the_piece() -> None:
    seg = np.stack([np.full(40, 64), np.arange(40, 80)], axis=1)
    lengths = []
    for seed in range(30):
        out = perturb_segment(
            seg, np.random.default_rng(seed), (S, S), length_jitter=0.5, max_shift=0
        )
        lengths.append(len(out))
        assert (out[:, 0] == 64).all()  # stays on the line, extended along its direction
        assert (np.diff(out[:, 1]) == 1).all()  # contiguous
    assert min(lengths) < 40 < max(lengths)
    assert min(lengths) >= 20 and max(lengths) <= 60


def test_perturbed_points_stay_inside_the_image() -> None:
    seg = np.stack([np.zeros(30, int), np.arange(30)], axis=1)  # on the border
    out = perturb_segment(seg, np.random.default_rng(2), (S, S), length_jitter=0.5, max_shift=4)
    assert (out >= 0).all() and (out < S).all()


def test_simulation_is_deterministic_given_a_seed() -> None:
    prob, gt, parts = _scene()

    def run(seed: int) -> tuple[np.ndarray, np.ndarray]:
        sim = simulate_scribbles(prob, gt, threshold=0.3, rng=np.random.default_rng(seed))
        return sim.fn_map, sim.fp_map

    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # perturbed scribbles stay near the error they mark
    zone = _near(parts["missed"], SCRIBBLE_RADIUS + 0.3 * 80 + 3 * np.sqrt(2) + 1)
    assert not (a[0] > 0)[~zone].any()


# ---------------------------------------------------------------------------------------------
# stage 1


def _textured_image(gt_rows: tuple[int, ...]) -> np.ndarray:
    img = np.full((S, S, 3), 100, np.uint8)
    img[70:, :, :] = 200  # an intensity edge at row 70 that is not in the ground truth
    for r in gt_rows:
        img[r:, 10:110] = np.uint8(30 + r)  # edges at the GT rows
    return img


def test_stage1_segments_come_from_gt_and_from_canny_edges_absent_from_gt() -> None:
    gt = np.zeros((S, S), bool)
    gt[30, 10:110] = True
    gt[30:100, 10] = True
    img = _textured_image((30,))
    far_from_gt = ~_near(gt, 0.0075 * np.hypot(S, S))
    n_fn, n_fp = set(), set()
    for seed in range(12):
        seg = stage1_segments(img, gt, np.random.default_rng(seed))
        n_fn.add(len(seg.fn))
        n_fp.add(len(seg.fp))
        assert len(seg.fn) <= 1 and len(seg.fp) <= 5
        assert all(len(s) > EVAL_MIN_LENGTH for s in seg.fn + seg.fp)
        assert not (_mask(seg.fn) & ~gt).any()
        assert not (_mask(seg.fp) & ~far_from_gt).any()
        assert [len(s) for s in seg.fp] == sorted((len(s) for s in seg.fp), reverse=True)
    assert n_fn == {0, 1}  # one GT piece: chosen or not
    assert max(n_fp) >= 1


def test_stage1_scribbles_deterministic() -> None:
    gt = np.zeros((S, S), bool)
    gt[30, 10:110] = True
    img = _textured_image((30,))
    a = stage1_scribbles(img, gt, np.random.default_rng(3))
    b = stage1_scribbles(img, gt, np.random.default_rng(3))
    assert np.array_equal(a.fn_map, b.fn_map) and np.array_equal(a.fp_map, b.fp_map)
    assert a.fn_map.dtype == np.float32


def test_scribbles_from_segments_without_rng_is_plain_encoding() -> None:
    seg = ErrorSegments([np.array([[10, 10], [10, 11]])], [])
    sim = scribbles_from_segments(seg, (40, 40), radius=3)
    assert np.array_equal(sim.fn_map, scribble_map(seg.fn, (40, 40), radius=3))
    assert not sim.fp_map.any()


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="shape mismatch"):
        error_segments(np.zeros((4, 4)), np.zeros((4, 5), bool))
