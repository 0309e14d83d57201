"""Bilateral smoothness loss of MIS (paper 004, Sec. 3.2, Eq. 7-8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2luv

from occseg.nn.losses import bilateral_affinity, rgb_to_luv, smoothness_loss


def test_luv_matches_skimage():
    rng = np.random.default_rng(0)
    rgb = rng.random((5, 7, 3))
    rgb[0, 0] = 0.0  # black: u, v divide by ~0
    rgb[0, 1] = 1.0
    ours = rgb_to_luv(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0)
    np.testing.assert_allclose(ours.numpy(), rgb2luv(rgb), atol=1e-6)


def _uniform(h: int = 12, w: int = 14) -> torch.Tensor:
    return torch.full((1, 3, h, w), 0.4, dtype=torch.float64)


def test_zero_on_a_constant_prediction():
    image = torch.rand(2, 3, 10, 9, generator=torch.Generator().manual_seed(0))
    assert smoothness_loss(torch.full((2, 1, 10, 9), -1.7), image) == 0.0
    assert smoothness_loss(torch.zeros(2, 10, 9), image) == 0.0  # B×H×W logits too


def test_an_edge_in_a_uniform_region_costs_and_one_on_a_colour_edge_barely():
    step = torch.full((1, 1, 12, 14), -6.0, dtype=torch.float64)
    step[..., 7:] = 6.0
    uniform = smoothness_loss(step, _uniform())
    assert uniform > 0.01
    two_colours = _uniform()
    two_colours[..., 7:] = torch.tensor([0.9, 0.2, 0.1], dtype=torch.float64)[:, None, None]
    assert smoothness_loss(step, two_colours) < 1e-3 * uniform


def test_the_value_on_two_pixels():
    """1×2 image, 3×3 neighbourhood: each pixel has one neighbour, at distance 1, same colour."""
    logits = torch.tensor([[[[0.3, -1.2]]]], dtype=torch.float64)
    q = torch.sigmoid(logits)[0, 0, 0]
    w = math.exp(-1 / (2 * 8.0**2))
    loss = smoothness_loss(logits, torch.full((1, 3, 1, 2), 0.5, dtype=torch.float64), radius=1)
    torch.testing.assert_close(loss, w * (q[0] - q[1]) ** 2)


def test_affinity_shape_range_border_and_symmetry():
    image = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = bilateral_affinity(image)
    assert w.shape == (1, 24, 6, 7)
    assert w.min() >= 0 and w.max() <= 1
    assert (w[0, :, 0, 0] > 0).sum() == 8  # the corner pixel has 8 neighbours in the image
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if dy or dx]
    for k, (dy, dx) in enumerate(offsets):  # W_ij = W_ji
        back = offsets.index((-dy, -dx))
        for y in range(max(0, -dy), min(6, 6 - dy)):
            for x in range(max(0, -dx), min(7, 7 - dx)):
                torch.testing.assert_close(w[0, k, y, x], w[0, back, y + dy, x + dx])


def test_gradients_flow_to_the_logits_only_near_the_edge():
    logits = torch.full((1, 1, 12, 14), -2.0, dtype=torch.float64)
    logits[..., 7:] = 2.0
    logits.requires_grad_(True)
    smoothness_loss(logits, _uniform()).backward()
    grad = logits.grad[0, 0].abs()
    assert grad[:, 5:9].min() > 0  # within the 5×5 reach of the step
    assert grad[:, :5].max() == 0 and grad[:, 9:].max() == 0


def test_gradcheck_with_a_precomputed_affinity():
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(1, 3, 5, 6, generator=gen, dtype=torch.float64)
    affinity = bilateral_affinity(image, sigma_l=30.0, sigma_uv=30.0)
    logits = torch.randn(1, 1, 5, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: smoothness_loss(z, affinity=affinity), (logits,))
    torch.testing.assert_close(
        smoothness_loss(logits, affinity=bilateral_affinity(image)),
        smoothness_loss(logits, image),
    )


def test_image_or_affinity():
    logits = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one"):
        smoothness_loss(logits)
    image = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="exactly one"):
        smoothness_loss(logits, image, affinity=bilateral_affinity(image))
