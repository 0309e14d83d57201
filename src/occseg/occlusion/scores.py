"""Confidence of the instances of an occlusion-order labelling (OOSIS, paper 001, Sec. 5.4).

The CRF labelling (Sec. 3.2) gives every pixel one instance and no confidence, but mask mAP and
the confidence sweep of the OAIR curve (Sec. 4, Fig. 9 right) rank instances by one. Both scores
here come from the boundary probability map ``b`` (head b, Sec. 3.1):

* ``"paper"``, the paper's ad-hoc score (Sec. 5.4, "Average Precision Metric"): "summing the
  predicted occlusion boundary probabilities on the border and inside of the instance, and
  subtracting the second from the first" (border = the instance's pixels with a 4-neighbour of
  another id). Being sums, both terms grow with the instance: an object of some thousand pixels
  with a weak but non-zero boundary probability inside (0.05 per pixel is enough) scores below
  zero, while a thin fragment lying on a strong boundary, all of it border, scores high. With a
  network trained from scratch on synthetic scenes, hundreds of such fragments per image took
  the top of the ranking and COCO's 100 detections per image left the objects out.
* ``"outline_contrast"`` (the default): the mean boundary strength along the instance's outline
  minus the instance's mean boundary probability, in ``[-1, 1]``. The paper's reasoning (the
  border should follow boundaries, the inside should have none, or the instance should be
  divided), with means instead of sums, so that the score measures the evidence and not the
  size. The outline is the set of 4-neighbour edges ``(p, q)`` from the instance to another id
  inside the image, each of strength ``max(b_p, b_q)``: the boundary lies on the occluder's side
  of an occlusion (supplement 1.3), which is outside the instance where a neighbour hides it. The
  mean over the instance includes its border pixels, so a region made of boundary pixels only
  (a fragment lying along a boundary band) has the same mean inside as on its outline and scores
  about 0, below any object that a boundary encloses.

NumPy only.

Example
-------
>>> inst = np.zeros((8, 8), int); inst[2:6, 2:6] = 1
>>> b = np.zeros((8, 8)); b[2:6, 2:6] = 0.1; b[2, 2:6] = b[5, 2:6] = 0.9
>>> b[2:6, 2] = b[2:6, 5] = 0.9
>>> instance_scores(inst, b, "outline_contrast").round(3).tolist()
[0.2]
>>> instance_scores(inst, b, "paper").round(3).tolist()
[10.4]
"""

from __future__ import annotations

import numpy as np

from occseg.errors import ConfigError

__all__ = ["DEFAULT_SCORE", "SCORES", "check_score", "instance_scores"]

#: Names of the instance confidence scores (module notes).
SCORES = ("outline_contrast", "paper")
DEFAULT_SCORE = "outline_contrast"


def check_score(score: str) -> None:
    """Refuse an unknown score name.

    Raises
    ------
    ConfigError
        If ``score`` is not one of :data:`SCORES`.
    """
    if score not in SCORES:
        raise ConfigError(f"score must be one of {', '.join(SCORES)}, got {score!r}")


def _inner_border(instances: np.ndarray) -> np.ndarray:
    """``H×W bool``: pixels of an instance (id > 0) with a 4-neighbour of another id or the
    image edge."""
    pad = np.pad(instances, 1, mode="constant", constant_values=-1)
    c = pad[1:-1, 1:-1]
    diff = (
        (pad[:-2, 1:-1] != c) | (pad[2:, 1:-1] != c) | (pad[1:-1, :-2] != c) | (pad[1:-1, 2:] != c)
    )
    return diff & (instances > 0)


def instance_scores(
    instances: np.ndarray, boundary_prob: np.ndarray, score: str = DEFAULT_SCORE
) -> np.ndarray:
    """Confidence of instances ``1..K`` from the boundary probability (module notes).

    Parameters
    ----------
    instances
        ``H×W`` int ids, 0 = background, instances ``1..K``.
    boundary_prob
        ``H×W`` occlusion-boundary probability ``b`` in [0, 1].
    score
        ``"outline_contrast"`` (default) or ``"paper"`` (Sec. 5.4).

    Returns
    -------
    np.ndarray
        ``(K,) float64``, index ``i - 1`` for id ``i``; higher is more confident.

    Raises
    ------
    ConfigError
        For an unknown ``score``.
    """
    check_score(score)
    inst = np.asarray(instances).astype(np.int64)
    bp = np.asarray(boundary_prob, np.float64)
    if bp.shape != inst.shape:
        raise ValueError(f"boundary_prob is {bp.shape}, instances {inst.shape}")
    k = int(inst.max(initial=0))
    flat, b = inst.ravel(), bp.ravel()
    if score == "paper":
        border = _inner_border(inst).ravel()
        on = np.bincount(flat, weights=b * border, minlength=k + 1)[1:]
        inside = np.bincount(flat, weights=b * ~border, minlength=k + 1)[1:]
        return on - inside
    strength = np.zeros(k + 1)
    count = np.zeros(k + 1)
    for a, c, ba, bc in (
        (inst[:, :-1], inst[:, 1:], bp[:, :-1], bp[:, 1:]),
        (inst[:-1], inst[1:], bp[:-1], bp[1:]),
    ):
        cut = a != c
        edge = np.maximum(ba, bc)[cut]
        for side in (a[cut], c[cut]):  # the edge is on the outline of both ids
            strength += np.bincount(side, weights=edge, minlength=k + 1)
            count += np.bincount(side, minlength=k + 1)
    outline = strength[1:] / np.maximum(count[1:], 1.0)
    area = np.bincount(flat, minlength=k + 1)[1:]
    mean = np.bincount(flat, weights=b, minlength=k + 1)[1:] / np.maximum(area, 1)
    return outline - mean
