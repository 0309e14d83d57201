"""Losses for binary interactive segmentation (RITM, Sec. 3.4, Table 2).

Every loss takes ``logits`` and ``target`` (``B×1×H×W`` or ``B×H×W``; target in {0, 1}) and an
optional ``weight`` of the same shape (0 at ignored pixels), and returns the mean over the batch
of a per-image loss (the boundary-aware loss balances its classes over the whole mini-batch, as
its paper says). Losses are computed from logits (``logsigmoid``) for numerical stability.
:data:`LOSSES` maps config names to them, so a new loss is one more entry.
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


def class_balanced_bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    neg_weight: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Class-balanced binary cross-entropy for thin boundaries (HED, Xie & Tu 2015, Eq. 2).

    ``ℓ = -β Σ_{Y+} log p - λ (1 - β) Σ_{Y-} log(1 - p)`` with ``β = |Y-| / |Y|`` counted per
    image over its non-ignored pixels, so the rare boundary pixels weigh as much in total as the
    background. Paper ``000`` (Sec. 4.1, "Implementation Details") keeps OPNet's training
    settings without restating its loss; we read it as this class-balanced cross-entropy, the
    loss of deep-supervised thin-boundary networks since HED, applied to every side output and
    to the fused output (:func:`deep_supervision_loss`). Unlike HED the sum is divided by the
    number of pixels (a mean), so the scale does not grow with the crop size; ``neg_weight`` is
    RCF's ``λ`` (1 = HED), a number or a per-pixel tensor shaped like ``target``.

    Examples
    --------
    >>> import torch
    >>> t = torch.zeros(1, 1, 4, 4); t[..., 0, :] = 1  # 4 of 16 pixels are boundary
    >>> # β = 12/16: (0.75·4 + 0.25·12) · log 2 / 16
    >>> round(float(class_balanced_bce(torch.zeros(1, 1, 4, 4), t)), 4)
    0.2599
    """
    logits, target, weight = _prepare(logits, target, weight)
    if isinstance(neg_weight, torch.Tensor):
        neg_weight = neg_weight.flatten(1).to(logits.dtype)
    n = weight.sum(1, keepdim=True)
    pos = (target * weight).sum(1, keepdim=True)
    beta = (n - pos) / (n + _EPS)
    w = weight * torch.where(target > 0.5, beta, neg_weight * (1.0 - beta))
    nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return ((nll * w).sum(1) / (n.squeeze(1) + _EPS)).mean()


def deep_supervision_loss(
    fused: torch.Tensor,
    sides: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    side_weight: float = 1.0,
    loss: Loss = class_balanced_bce,
) -> torch.Tensor:
    """``loss(fused) + side_weight · Σ_k loss(side_k)`` (HED Eq. 3-5; paper ``000``, Sec. 3.2
    (iii): five side outputs fused into the final map).

    Parameters
    ----------
    fused
        ``B×1×H×W`` logits of the fused output.
    sides
        ``B×K×H×W`` logits of the ``K`` side outputs.
    target, weight
        ``B×1×H×W`` (or ``B×H×W``) boundary ground truth in {0, 1} and pixel weights (0 =
        ignored).
    """
    if target.dim() == 3:
        target = target[:, None]
    if weight is not None and weight.dim() == 3:
        weight = weight[:, None]
    total = loss(fused, target, weight)
    for k in range(sides.shape[1]):
        total = total + side_weight * loss(sides[:, k : k + 1], target, weight)
    return total


def boundary_aware_ce(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    boundary_weight: torch.Tensor | None = None,
    class_balanced: bool = True,
) -> torch.Tensor:
    """Boundary-aware cross-entropy, BA-CE (Two-in-One, paper ``002``, Sec. 3.1, Eq. 1-3).

    ``L = Σ_p w_{y_p} (1 + w(B, p)) BCE(y_p, ŷ_p)`` where ``w(B, p)`` (``boundary_weight``,
    :func:`occseg.boundary_weights.boundary_aware_weights`) is 0 inside the object and grows
    linearly with the distance to it in a band of background (Eq. 2), and ``w_y`` is "the inverse
    normalized frequency of ground truth labels ``y`` of the mini-batch": ``1 / f_y`` with
    ``f_y = n_y / N``, counted over the whole batch (not per image, unlike
    :func:`class_balanced_bce`). We divide the sum by ``2N``, so ``L`` is the mean of the two
    classes' mean (weighted) cross-entropies: a constant ``p = 1/2`` costs ``log 2`` when both
    classes occur, and a class absent from the batch adds nothing. Without ``boundary_weight``
    this is the class-balanced CB-CE of Eq. 1, the baseline of Table 1.

    Parameters
    ----------
    logits, target
        ``B×1×H×W`` (or ``B×H×W``) logits and ground truth in {0, 1}.
    weight
        Pixel weights of the same shape: 0 leaves a pixel out (ignored, and not counted in
        ``n_y``), other values multiply its term (e.g. 2 near a refinement click, Sec. 3.4).
    boundary_weight
        ``w(B, p)`` of the same shape (None: all 0).
    class_balanced
        False (ours): ``w_y = 1`` and the sum divided by the number of counted pixels, the
        plain mean cross-entropy with the boundary term. A class-balanced loss is minimised by
        calling a pixel foreground once its probability exceeds the foreground's share of the
        batch, not 1/2, which over-segments where that share is small.

    Examples
    --------
    >>> import torch
    >>> t = torch.zeros(1, 1, 4, 4); t[..., 0, :] = 1  # 4 positives, 12 negatives
    >>> round(float(boundary_aware_ce(torch.zeros(1, 1, 4, 4), t)), 4)  # log 2
    0.6931
    """
    logits, target, weight = _prepare(logits, target, weight)
    extra = 0.0 if boundary_weight is None else boundary_weight.flatten(1).to(logits.dtype)
    counted = (weight > 0).to(logits.dtype)
    n_pos = (counted * target).sum()
    n_neg = (counted * (1.0 - target)).sum()
    class_weight = torch.where(target > 0.5, 1.0 / n_pos.clamp(min=1), 1.0 / n_neg.clamp(min=1))
    if not class_balanced:
        class_weight = torch.ones_like(class_weight) * (2.0 / (n_pos + n_neg).clamp(min=1))
    nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return 0.5 * (class_weight * (1.0 + extra) * weight * nll).sum()


#: Config name → loss.
LOSSES: dict[str, Loss] = {
    "nfl": normalized_focal_loss,
    "normalized_focal": normalized_focal_loss,
    "focal": focal_loss,
    "bce": bce_loss,
    "soft_iou": soft_iou_loss,
    "ba_ce": boundary_aware_ce,
}


def get_loss(name: str) -> Loss:
    """Look a loss up by config name (see :data:`LOSSES`)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


def weighted_boundary_ce(
    b: torch.Tensor,
    boundary: torch.Tensor,
    *,
    w: float = 0.9,
    hard_negatives: torch.Tensor | None = None,
    hard_weight: float | None = None,
    ignored: torch.Tensor | None = None,
) -> torch.Tensor:
    """``B×H×W`` per-pixel terms of ``CE_w(B_p | b_p)`` of Eq. 4 (paper 001): the binary
    cross-entropy of the logits ``b`` (``B×1×H×W``) weighted ``w`` on boundary pixels and
    ``1 - w`` elsewhere, ``hard_weight`` on ``hard_negatives``, 0 on ``ignored`` (see
    :func:`oosis_loss`)."""
    target_b = boundary.to(b.dtype)
    if (hard_negatives is None) != (hard_weight is None):
        raise ValueError("give both hard_negatives and hard_weight, or neither")
    negative_weight = torch.full_like(target_b, 1.0 - w)
    if hard_negatives is not None and hard_weight is not None:
        negative_weight = torch.where(hard_negatives.bool(), hard_weight, negative_weight)
    weight = torch.where(target_b > 0, w, negative_weight)
    if ignored is not None:
        weight = torch.where(ignored.bool(), 0.0, weight)
    return F.binary_cross_entropy_with_logits(b[:, 0], target_b, weight=weight, reduction="none")


def oosis_loss(
    s: torch.Tensor,
    b: torch.Tensor,
    e: torch.Tensor,
    semantic: torch.Tensor,
    boundary: torch.Tensor,
    orientation: torch.Tensor,
    *,
    w: float = 0.9,
    hard_negatives: torch.Tensor | None = None,
    hard_weight: float | None = None,
    ignored: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of the joint semantic / oriented-boundary network (OOSIS, paper 001, Eq. 4).

    ``L = 1/N sum_p CE(S_p | s_p) + CE_w(B_p | b_p) + B_p CE(E_p | e_p)`` over the ``N``
    pixels of the batch. ``CE_w`` is the weighted binary cross-entropy with ``w`` on boundary
    pixels and ``1 - w`` on the others (``w = 0.9`` for the imbalance, Sec. 3.1); the orientation
    cross-entropy against the soft target ``E_p`` (supplement 1.3) counts only on ground-truth
    boundary pixels (``B_p = 1``), where ``E_p`` is defined; the sum ``CE(B) + B CE(E)`` is the
    cross-entropy of ``o_p`` (Eq. 3, supplement Theorem 1).

    Parameters
    ----------
    s, b, e
        Logits ``B×C×H×W``, ``B×1×H×W``, ``B×4×H×W`` (:class:`occseg.nn.ordernet.OrderNetOutput`).
    semantic
        ``B×H×W`` int64 class targets ``S_p``; -100 for a pixel without a class (it weighs 0
        in the semantic term).
    boundary
        ``B×H×W`` targets ``B_p`` in {0, 1}.
    orientation
        ``B×4×H×W`` targets ``E_p`` (rows sum to 1 on boundary pixels; a zero row, a boundary
        pixel of unknown orientation, weighs 0 in the orientation term).
    w
        Weight of the boundary class in ``CE_w``.
    hard_negatives, hard_weight
        Optional ``B×H×W`` mask of non-boundary pixels that weigh ``hard_weight`` instead of
        ``1 - w`` in ``CE_w`` (not in the paper: the self-occlusion edges inside synthetic
        objects, which look like boundaries but are not boundaries of the instance masks;
        :attr:`occseg.train.config.OrderTrainConfig.self_occlusion_weight`). Boundary pixels
        keep ``w``.
    ignored
        Optional ``B×H×W`` mask of pixels that weigh 0 in ``CE_w`` (disputed boundary pixels
        of several annotators, :func:`occseg.train.boundaries.boundary_target`).

    Returns
    -------
    (loss, parts)
        The scalar loss and the float value of each term (``"s"``, ``"b"``, ``"e"``).
    """
    n = semantic.numel()
    ce_s = F.cross_entropy(s, semantic, reduction="sum", ignore_index=-100) / n
    target_b = boundary.to(b.dtype)
    ce_b = (
        weighted_boundary_ce(
            b,
            boundary,
            w=w,
            hard_negatives=hard_negatives,
            hard_weight=hard_weight,
            ignored=ignored,
        ).sum()
        / n
    )
    ce_e_pixel = -(orientation * F.log_softmax(e, dim=1)).sum(1)
    ce_e = (ce_e_pixel * target_b).sum() / n
    loss = ce_s + ce_b + ce_e
    return loss, {"s": float(ce_s.detach()), "b": float(ce_b.detach()), "e": float(ce_e.detach())}


#: sRGB (linear) → CIE XYZ, D65 white (IEC 61966-2-1), and that white's ``(X, Y, Z)``.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_WHITE_D65 = (0.95047, 1.0, 1.08883)


def rgb_to_luv(rgb: torch.Tensor) -> torch.Tensor:
    """CIE 1976 L*u*v* (D65) of ``B×3×H×W`` sRGB in [0, 1] (as ``skimage.color.rgb2luv``).

    ``L*`` lies in [0, 100]; ``u*``, ``v*`` in about [-100, 180].
    """
    lin = torch.where(rgb > 0.04045, ((rgb.clamp(min=0.0) + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", lin.new_tensor(_XYZ_FROM_RGB), lin)
    x, y, z = xyz.unbind(1)
    xn, yn, zn = _WHITE_D65
    yr = y / yn
    lum = torch.where(yr > 0.008856, 116.0 * yr.clamp(min=0.008856) ** (1 / 3) - 16.0, 903.3 * yr)
    denom = x + 15.0 * y + 3.0 * z + torch.finfo(rgb.dtype).eps
    white = xn + 15.0 * yn + 3.0 * zn
    u = 13.0 * lum * (4.0 * x / denom - 4.0 * xn / white)
    v = 13.0 * lum * (9.0 * y / denom - 9.0 * yn / white)
    return torch.stack([lum, u, v], 1)


def _offsets(radius: int) -> list[tuple[int, int]]:
    """The ``(dy, dx)`` of a ``(2r+1)²`` neighbourhood in row-major order, without ``(0, 0)``."""
    span = range(-radius, radius + 1)
    return [(dy, dx) for dy in span for dx in span if dy or dx]


def _shifted(x: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The neighbours (:func:`_offsets`) of every pixel of ``B×C×H×W``: ``B×C×K×H×W`` values
    (0 outside the image) and the ``K×H×W`` mask of neighbours inside it."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (radius,) * 4)
    inside = F.pad(x.new_ones(h, w), (radius,) * 4)
    r = radius
    values = [padded[..., r + dy : r + dy + h, r + dx : r + dx + w] for dy, dx in _offsets(r)]
    valid = [inside[r + dy : r + dy + h, r + dx : r + dx + w] for dy, dx in _offsets(r)]
    return torch.stack(values, 2), torch.stack(valid, 0)


def bilateral_affinity(
    image: torch.Tensor,
    *,
    radius: int = 2,
    sigma_xy: float = 8.0,
    sigma_l: float = 4.0,
    sigma_uv: float = 4.0,
) -> torch.Tensor:
    """Bilateral affinity ``W_ij`` of every pixel with its ``(2r+1)²`` neighbourhood (MIS, paper
    ``004``, Sec. 3.2, the equation before Eq. 7).

    ``W_ij = exp(-||xy_i − xy_j||² / 2σ_xy² − (l_i − l_j)² / 2σ_l² − ||uv_i − uv_j||² / 2σ_uv²)``
    in position (pixels) and L*u*v* colour. The paper gives no σ; the defaults are the bilateral
    solver's (its ref. [4]: σ_xy = 8, σ_l = σ_uv = 4), here in L*u*v* units.

    Parameters
    ----------
    image
        ``B×3×H×W`` RGB in [0, 1] (not differentiated through).
    radius
        2: the paper's 5×5 neighbourhood ``N_i``.

    Returns
    -------
    torch.Tensor
        ``B×K×H×W`` with ``K = (2r+1)² − 1`` neighbours in row-major order of offsets (the
        centre left out); 0 for neighbours outside the image.
    """
    with torch.no_grad():
        luv = rgb_to_luv(image)
        near, valid = _shifted(luv, radius)
        diff = (luv[:, :, None] - near) ** 2
        d_xy = image.new_tensor([dy * dy + dx * dx for dy, dx in _offsets(radius)])
        exponent = (
            d_xy[None, :, None, None] / (2 * sigma_xy**2)
            + diff[:, 0] / (2 * sigma_l**2)
            + diff[:, 1:].sum(1) / (2 * sigma_uv**2)
        )
        return torch.exp(-exponent) * valid


def smoothness_loss(
    logits: torch.Tensor,
    image: torch.Tensor | None = None,
    *,
    affinity: torch.Tensor | None = None,
    radius: int = 2,
) -> torch.Tensor:
    """Smoothness constraint ``L_smooth`` of MIS (paper ``004``, Sec. 3.2, Eq. 7).

    ``L_smooth = Σ_i 1/|N_i| Σ_{j ∈ N_i} W_ij (Q_i − Q_j)²`` over the ``(2r+1)²``
    neighbourhood ``N_i`` (5×5 in the paper; neighbours outside the image are not in ``N_i``),
    with ``Q = sigmoid(logits)`` and the bilateral affinity ``W`` (:func:`bilateral_affinity`):
    predictions should agree between nearby pixels of similar colour. We take the mean over
    pixels and images instead of the sum, as the official code does, so that the paper's
    weight λ = 10 in ``L = L_pseudo + λ L_smooth`` (Eq. 8) balances a per-pixel mean BCE.

    Parameters
    ----------
    logits
        ``B×1×H×W`` (or ``B×H×W``).
    image
        ``B×3×H×W`` RGB in [0, 1], from which ``W`` is computed; or give ``affinity``.
    affinity
        A precomputed ``B×K×H×W`` :func:`bilateral_affinity` (same ``radius``).

    Examples
    --------
    >>> import torch
    >>> image = torch.full((1, 3, 8, 8), 0.5)
    >>> float(smoothness_loss(torch.full((1, 1, 8, 8), 3.0), image))  # constant prediction
    0.0
    """
    if logits.dim() == 3:
        logits = logits[:, None]
    if affinity is None and image is not None:
        affinity = bilateral_affinity(image, radius=radius)
    elif affinity is None or image is not None:
        raise ValueError("give exactly one of image and affinity")
    q = torch.sigmoid(logits)
    near, valid = _shifted(q, radius)
    per_pixel = (affinity * (q[:, :, None] - near)[:, 0] ** 2).sum(1) / valid.sum(0)
    return per_pixel.mean()
