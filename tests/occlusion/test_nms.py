"""Edge NMS and morphological thinning (occseg.occlusion.nms)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.morphology import thin as sk_thin

from occseg.occlusion import edge_nms, edge_orientation, thin
from occseg.occlusion.detectors import canny_boundaries, detect_boundaries, sobel_boundaries
from occseg.occlusion.nms import conv_tri


@pytest.mark.parametrize("seed", range(6))
def test_thin_equals_skimage(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b = rng.random((37, 53)) < rng.uniform(0.2, 0.8)
    b = cv2.dilate(b.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    assert np.array_equal(thin(b), sk_thin(b))
    for it in (1, 2):
        assert np.array_equal(thin(b, max_iter=it), sk_thin(b, max_num_iter=it))


def test_thin_thick_shapes_and_edge_cases() -> None:
    img = np.zeros((60, 80), bool)
    cv2.circle(img.view(np.uint8), (40, 30), 20, 1, thickness=7)
    img[5:15, 5:70] = True  # a thick bar touching nothing
    img[:, 0] = True  # touching the border
    assert np.array_equal(thin(img), sk_thin(img))
    assert not thin(np.zeros((5, 5), bool)).any()
    one = np.zeros((5, 5), bool)
    one[2, 2] = True
    assert np.array_equal(thin(one), one)
    with pytest.raises(ValueError):
        thin(np.zeros((2, 2, 2)))


def _blurred_line(angle_deg: float, size: int = 64, sigma: float = 2.0) -> np.ndarray:
    img = np.zeros((size, size), np.float64)
    c = size / 2
    t = np.deg2rad(angle_deg)
    d = size
    p0 = (round(c - d * np.cos(t)), round(c - d * np.sin(t)))
    p1 = (round(c + d * np.cos(t)), round(c + d * np.sin(t)))
    cv2.line(img, p0, p1, 1.0, 1)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    return img / img.max()


@pytest.mark.parametrize("angle", [0.0, 90.0, 30.0, 135.0])
def test_nms_blurred_line_is_one_pixel_wide(angle: float) -> None:
    size = 64
    e = _blurred_line(angle, size)
    wide = (e > 0.3)[8:-8, 8:-8]
    out = edge_nms(e)
    assert out.shape == e.shape and out.dtype == np.float64
    kept = (out > 0.3 * out.max())[8:-8, 8:-8]
    ys, xs = np.nonzero(kept)
    t = np.deg2rad(angle)
    # distance of kept pixels to the centre line through (size/2, size/2)
    dist = np.abs(-(xs + 8 - size / 2) * np.sin(t) + (ys + 8 - size / 2) * np.cos(t))
    assert dist.max() <= 1.0
    # one pixel across: about one pixel per unit of length along the dominant axis, with at
    # most the staircase corners of a 4-connected digital line on top
    n_major = kept.shape[0]
    assert n_major - 2 <= kept.sum() <= 1.5 * n_major
    assert wide.sum() > 4 * kept.sum()
    blocks = kept[:-1, :-1] & kept[1:, :-1] & kept[:-1, 1:] & kept[1:, 1:]
    assert not blocks.any()


def test_nms_vertical_line_position_and_border() -> None:
    e = np.zeros((40, 40))
    e[:, 18:23] = [0.3, 0.7, 1.0, 0.7, 0.3]
    out = edge_nms(e)
    rows = out[10:30]
    assert np.all(np.argmax(rows, axis=1) == 20)
    assert np.count_nonzero(rows) == rows.shape[0]
    # border suppression: the first and last rows are zeroed, the next ones attenuated
    assert out[0].max() == 0 and out[-1].max() == 0
    assert 0 < out[2, 20] < out[20, 20]


def test_orientation_of_straight_lines() -> None:
    # vertical line: normal along x -> angle 0 (mod pi); horizontal line: pi/2
    v = np.zeros((41, 41))
    v[:, 20] = 1.0
    h = v.T.copy()
    ov = edge_orientation(v)[10:30, 20]
    oh = edge_orientation(h)[20, 10:30]
    assert np.allclose(np.minimum(ov, np.pi - ov), 0.0, atol=1e-6)
    assert np.allclose(oh, np.pi / 2, atol=1e-3)  # atan of a large finite ratio


def test_conv_tri_matches_reference_filter() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((9, 11))
    # r = 1: [1, 2, 1] / 4 with symmetric padding
    pad = np.pad(x, 1, mode="symmetric")
    ref = (pad[:-2] + 2 * pad[1:-1] + pad[2:]) / 4
    ref = (ref[:, :-2] + 2 * ref[:, 1:-1] + ref[:, 2:]) / 4
    assert np.allclose(conv_tri(x, 1), ref)
    # r = 4: the triangle [1, 2, 3, 4, 5, 4, 3, 2, 1] / 25, symmetric padding
    tri = np.concatenate([np.arange(1, 6), np.arange(4, 0, -1)]) / 25.0
    pad = np.pad(x, 4, mode="symmetric")
    rows = sum(w * pad[k : k + x.shape[0]] for k, w in enumerate(tri))
    ref4 = sum(w * rows[:, k : k + x.shape[1]] for k, w in enumerate(tri))
    assert np.allclose(conv_tri(x, 4), ref4)
    assert np.array_equal(conv_tri(x, 0), x)


def test_nms_core_agrees_with_pyedgeeval_given_orientation() -> None:
    pee = pytest.importorskip("pyEdgeEval._lib")
    rng = np.random.default_rng(0)
    e = cv2.GaussianBlur(rng.random((50, 70)), (0, 0), 1.5)
    o = rng.uniform(0, np.pi, e.shape)
    ref = pee.nms(e, o, r=1, s=5, m=1.01)
    ours = edge_nms(e, o, smooth=0)
    assert np.allclose(ours, ref, atol=1e-12)


def test_detectors() -> None:
    img = np.zeros((40, 50, 3), np.uint8)
    img[:, 25:] = 200
    for fn in (sobel_boundaries, canny_boundaries):
        p = fn(img)
        assert p.shape == (40, 50) and p.dtype == np.float32
        assert p.min() >= 0.0 and p.max() <= 1.0
        assert p[:, 23:27].max() == pytest.approx(1.0)
        assert p[:, :20].max() == 0.0
    assert not sobel_boundaries(np.zeros((8, 8, 3), np.uint8)).any()
    assert np.array_equal(detect_boundaries(img, "sobel"), sobel_boundaries(img))
    with pytest.raises(ValueError):
        detect_boundaries(img, "nope")
