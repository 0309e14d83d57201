"""Patch features: L*a*b* colour + texture (NumPy) and ImageNet EfficientNet-Lite0 (torch)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab

from occseg.proposals.colour import colour_features
from occseg.proposals.features import efficientnet_features


def test_colour_features_of_a_flat_image():
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:] = (200, 40, 90)
    f = colour_features(rgb, 8)
    assert f.shape == (2, 3, 8)
    lab = rgb2lab(rgb[:1, :1])[0, 0]
    np.testing.assert_allclose(f[..., :3], np.broadcast_to(lab, (2, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(f[..., 3:], 0.0, atol=1e-6)


def test_colour_texture_sees_orientation():
    rgb = np.zeros((8, 16, 3), np.uint8)
    rgb[:, 8:][:, ::2] = 255  # right patch: vertical stripes (changes along x)
    f = colour_features(rgb, 8)
    left, right = f[0, 0], f[0, 1]
    assert np.all(left[3:] < 1e-6)
    assert right[6] > 50 and right[7] < 1e-6  # |dL/dx| large, |dL/dy| zero
    assert right[3] > 40  # L* varies within the patch


def test_colour_features_check_the_size():
    with pytest.raises(ValueError, match="multiples"):
        colour_features(np.zeros((10, 16, 3), np.uint8), 8)
    with pytest.raises(ValueError, match="H×W×3"):
        colour_features(np.zeros((16, 16), np.uint8), 8)


def _two_textures() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = np.zeros((64, 96, 3), np.uint8)
    yy, xx = np.mgrid[:64, :48]
    rgb[:, :48] = (((xx // 4 + yy // 4) % 2) * 200 + 30)[..., None]  # checkerboard
    rgb[:, 48:] = rng.integers(0, 60, (64, 48, 3)) + np.array([150, 80, 20])  # noisy orange
    return rgb


@pytest.mark.parametrize(("stride", "channels"), [(8, 40), (16, 112)])
def test_efficientnet_features(stride, channels):
    rgb = _two_textures()
    f = efficientnet_features(rgb, stride)
    assert f.shape == (64 // stride, 96 // stride, channels) and f.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f, axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(f, efficientnet_features(rgb, stride))  # deterministic
    # patches away from the seam: alike within a texture, unlike across
    cols = f.shape[1]
    left = f[1:-1, 1 : cols // 2 - 1].reshape(-1, channels)
    right = f[1:-1, cols // 2 + 1 : -1].reshape(-1, channels)
    within = min((left @ left.T).mean(), (right @ right.T).mean())
    assert within > (left @ right.T).mean() + 0.1


def test_efficientnet_features_check_their_input():
    with pytest.raises(ValueError, match="stride"):
        efficientnet_features(np.zeros((32, 32, 3), np.uint8), 4)
    with pytest.raises(ValueError, match="multiple of 8"):
        efficientnet_features(np.zeros((30, 32, 3), np.uint8), 8)
