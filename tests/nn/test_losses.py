"""Losses: values on simple cases, normalisation of NFL, ignore weights, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from occseg.nn.losses import (
    LOSSES,
    bce_loss,
    boundary_aware_ce,
    focal_loss,
    get_loss,
    normalized_focal_loss,
    soft_iou_loss,
)


def test_values_at_half_probability() -> None:
    logits, target = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    assert bce_loss(logits, target).item() == pytest.approx(math.log(2))
    assert focal_loss(logits, target).item() == pytest.approx(0.25 * math.log(2))
    assert normalized_focal_loss(logits, target).item() == pytest.approx(math.log(2))


def test_nfl_is_focal_renormalised() -> None:
    """NFL = Σ (1-p)^γ (-log p) / Σ (1-p)^γ per image (RITM Eq. 2)."""
    torch.manual_seed(0)
    logits, target = torch.randn(1, 1, 8, 8) * 3, (torch.rand(1, 1, 8, 8) > 0.5).float()
    p = torch.sigmoid(logits)
    pt = torch.where(target > 0, p, 1 - p)
    beta = (1 - pt) ** 2
    expected = (beta * -torch.log(pt)).sum() / beta.sum()
    assert normalized_focal_loss(logits, target).item() == pytest.approx(expected.item(), rel=1e-5)


def test_weight_ignores_pixels() -> None:
    logits = torch.tensor([[[[5.0, -5.0]]]])
    target = torch.tensor([[[[1.0, 1.0]]]])
    weight = torch.tensor([[[[1.0, 0.0]]]])
    for loss in (bce_loss, focal_loss, normalized_focal_loss, soft_iou_loss):
        assert loss(logits, target, weight).item() < 0.01, loss.__name__


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_point_the_right_way(name: str) -> None:
    logits = torch.zeros(1, 1, 3, 3, requires_grad=True)
    target = torch.ones(1, 1, 3, 3)
    get_loss(name)(logits, target).backward()
    assert (logits.grad < 0).all()  # increasing logits lowers the loss


def test_unknown_loss() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("dice")


def test_boundary_aware_ce_is_eq3() -> None:
    """Two-in-One Eq. 3: Σ_p w_y (1 + w(B, p)) BCE, w_y = N / n_y over the mini-batch, / 2N."""
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 5, 6)
    target = torch.zeros(2, 1, 5, 6)
    target[0, 0, 1:3, 1:4] = 1  # 6 positives in image 0, none in image 1
    extra = torch.rand(2, 1, 5, 6) * (1 - target)  # w(B, p): 0 on the object
    nll = -(
        target * torch.log(torch.sigmoid(logits))
        + (1 - target) * torch.log(1 - torch.sigmoid(logits))
    )
    n = target.numel()
    n_pos, n_neg = target.sum(), (1 - target).sum()
    w_y = torch.where(target > 0, n / n_pos, n / n_neg)
    expected = (w_y * (1 + extra) * nll).sum() / (2 * n)
    got = LOSSES["ba_ce"](logits, target, None, extra)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    # without w(B, p) it is the class-balanced CB-CE of Eq. 1
    cb = (w_y * nll).sum() / (2 * n)
    assert boundary_aware_ce(logits, target).item() == pytest.approx(cb.item(), rel=1e-5)
    # balanced over the batch, not per image: image 1 alone has no positives
    per_image = (
        boundary_aware_ce(logits[:1], target[:1]) + boundary_aware_ce(logits[1:], target[1:])
    ) / 2
    assert got.item() != pytest.approx(per_image.item(), rel=1e-3)
    # ours, class_balanced=False: the plain mean of (1 + w(B, p)) BCE
    plain = boundary_aware_ce(logits, target, None, extra, class_balanced=False)
    assert plain.item() == pytest.approx(((1 + extra) * nll).mean().item(), rel=1e-5)


def test_boundary_aware_ce_weights() -> None:
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    # p = 1/2 everywhere: log 2 for each class's mean
    assert boundary_aware_ce(logits, target).item() == pytest.approx(math.log(2))
    extra = torch.tensor([[[[0.0, 0.5], [0.0, 0.0]]]])  # one background pixel near the object
    assert boundary_aware_ce(logits, target, None, extra).item() == pytest.approx(
        0.5 * math.log(2) * (1 + (1.5 + 1 + 1) / 3)
    )
    # weight 0 drops a pixel from the loss and from the class counts
    weight = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]])
    logits = torch.tensor([[[[0.0, 0.0], [0.0, 9.0]]]])
    assert boundary_aware_ce(logits, target, weight).item() == pytest.approx(math.log(2))
