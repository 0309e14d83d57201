"""Losses: values on simple cases, normalisation of NFL, ignore weights, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from occseg.nn.losses import (
    LOSSES,
    bce_loss,
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
