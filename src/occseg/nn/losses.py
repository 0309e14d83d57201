"""Losses for binary interactive segmentation (RITM, Sec. 3.4, Table 2).

Every loss takes ``logits`` and ``target`` (``B×1×H×W`` or ``B×H×W``; target in {0, 1}) and an
optional ``weight`` of the same shape (0 at ignored pixels), and returns the mean over the batch
of a per-image loss. Losses are computed from logits (``logsigmoid``) for numerical stability.
:data:`LOSSES` maps config names to them, so a new loss (e.g. the boundary-aware loss of the
two-in-one refinement paper) is one more entry.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

Loss = Callable[..., torch.Tensor]

_EPS = 1e-8


def _prepare(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logits = logits.flatten(1)
    target = target.flatten(1).to(logits.dtype)
    weight = torch.ones_like(logits) if weight is None else weight.flatten(1).to(logits.dtype)
    return logits, target, weight


def _pt_terms(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(p_t, -log p_t)`` where ``p_t`` is the probability of the true class."""
    nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return torch.exp(-nll), nll


def bce_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy, averaged over the non-ignored pixels of each image."""
    logits, target, weight = _prepare(logits, target, weight)
    _, nll = _pt_terms(logits, target)
    return ((nll * weight).sum(1) / (weight.sum(1) + _EPS)).mean()


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Focal loss ``FL = -(1 - p_t)^γ log p_t`` (Lin et al. 2017; RITM Eq. 1), pixel mean."""
    logits, target, weight = _prepare(logits, target, weight)
    pt, nll = _pt_terms(logits, target)
    fl = (1.0 - pt).pow(gamma) * nll
    return ((fl * weight).sum(1) / (weight.sum(1) + _EPS)).mean()


def normalized_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Normalized focal loss (Sofronova & Konushin 2019; RITM Sec. 3.4, Eq. 2).

    ``NFL(i, j) = -(1 / P(M)) (1 - p_ij)^γ log p_ij`` with ``P(M) = Σ (1 - p_ij)^γ`` over the
    image's (non-ignored) pixels, so the total weight of an image is 1 whatever its accuracy and
    the gradient does not fade as the prediction improves. As in the reference implementation the
    normaliser ``P(M)`` is treated as a constant (detached) when differentiating.

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(1, 1, 4, 4); target = torch.ones(1, 1, 4, 4)
    >>> round(float(normalized_focal_loss(logits, target)), 4)  # = -log 0.5
    0.6931
    """
    logits, target, weight = _prepare(logits, target, weight)
    pt, nll = _pt_terms(logits, target)
    beta = (1.0 - pt).pow(gamma) * weight
    norm = beta.sum(1, keepdim=True).detach() + _EPS
    return ((beta / norm) * nll).sum(1).mean()


def soft_iou_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Soft IoU loss ``1 - Σ p g / Σ (p + g - p g)`` (Rahman & Wang 2016; RITM Table 2)."""
    logits, target, weight = _prepare(logits, target, weight)
    p = torch.sigmoid(logits) * weight
    g = target * weight
    inter = (p * g).sum(1)
    union = (p + g - p * g).sum(1)
    return (1.0 - inter / (union + _EPS)).mean()


#: Config name → loss.
LOSSES: dict[str, Loss] = {
    "nfl": normalized_focal_loss,
    "normalized_focal": normalized_focal_loss,
    "focal": focal_loss,
    "bce": bce_loss,
    "soft_iou": soft_iou_loss,
}


def get_loss(name: str) -> Loss:
    """Look a loss up by config name (see :data:`LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
