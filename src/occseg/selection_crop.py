"""The crop around the selected object (Two-in-One, paper ``002``, Sec. 3.2 and 4.2).

After the selection click, the refinement network sees only a box around the object: the pixels
whose selection probability ``sigmoid(logits)`` exceeds 0.001, relaxed by a padding "to avoid
tight cropping, which can lead to undesired boundary artifacts" (Sec. 4.2). The paper plots the
instance recall against the padding in pixels (Fig. 3a) but does not state the value it used;
:data:`DEFAULT_PAD` is ours.

The paper's threshold assumes a confident selection network. Ours is diffuse (its probability
passes 0.001 almost everywhere), so :class:`CropRule` also offers a higher threshold with a
padding relative to the box (ours, measured in the README), and the box may be stretched to hold
the boundary clicks (ours: a click outside the crop would otherwise be ignored).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from occseg.errors import ConfigError, InteractionError
from occseg.types import BoundaryClick, Click

#: Probability above which a pixel belongs to the crop (Sec. 4.2: sigmoid > 0.001).
CROP_THRESHOLD = 0.001
#: Absolute padding in pixels on every side (ours: the paper gives no value, see Fig. 3a).
DEFAULT_PAD = 20

#: A box ``(y0, y1, x0, x1)``, end-exclusive (the convention of :mod:`occseg.predict.transforms`).
Box = tuple[int, int, int, int]


def selection_box(
    prob: NDArray[np.floating],
    click: Click,
    *,
    threshold: float = CROP_THRESHOLD,
    pad: int = DEFAULT_PAD,
    relative_pad: float = 0.0,
    points: Sequence[Click | BoundaryClick] = (),
) -> Box:
    """Box around ``prob > threshold``, the selection click and ``points``, padded and clipped to
    the image.

    Paper ``002`` Sec. 4.2. The selection click is always inside the box, also when no pixel
    passes the threshold (the box is then the padded click).

    Parameters
    ----------
    prob : (H, W) float array
        Selection probability (the sigmoid of the selection network's logits).
    click : Click
        The selection click (its polarity is not used).
    threshold : float
        Pixels with ``prob > threshold`` are kept (0.001 in the paper).
    pad : int
        Pixels added on every side.
    relative_pad : float
        Further padding on each side, as a fraction of the unpadded box's height (for rows) and
        width (for columns); 0 = the paper's absolute padding only.
    points : sequence of Click or BoundaryClick
        Further points the box must hold (the boundary clicks; ours, not in the paper).

    Returns
    -------
    (y0, y1, x0, x1)
        End-exclusive, ``0 <= y0 <= click.y < y1 <= H`` and the same for columns.

    Raises
    ------
    InteractionError
        If the click lies outside the image.
    ConfigError
        If a padding is negative.

    Examples
    --------
    >>> p = np.zeros((100, 200), np.float32); p[40:50, 60:90] = 0.9
    >>> selection_box(p, Click(45, 70, True), pad=5)
    (35, 55, 55, 95)
    >>> selection_box(np.zeros((100, 200)), Click(2, 100, True), pad=5)  # empty: the click
    (0, 8, 95, 106)
    """
    prob = np.asarray(prob)
    h, w = prob.shape
    if not (0 <= click.y < h and 0 <= click.x < w):
        raise InteractionError(
            f"selection click ({click.y}, {click.x}) is outside the {h}×{w} image; "
            "click inside the image"
        )
    if pad < 0 or relative_pad < 0:
        raise ConfigError(f"crop padding must be non-negative, got {pad} and {relative_pad}")
    keep = prob > threshold
    rows, cols = np.flatnonzero(keep.any(1)), np.flatnonzero(keep.any(0))
    ys = [click.y] + [p.y for p in points]
    xs = [click.x] + [p.x for p in points]
    y0, y1, x0, x1 = min(ys), max(ys) + 1, min(xs), max(xs) + 1
    if rows.size:
        y0, y1 = min(y0, int(rows[0])), max(y1, int(rows[-1]) + 1)
        x0, x1 = min(x0, int(cols[0])), max(x1, int(cols[-1]) + 1)
    py = pad + round(relative_pad * (y1 - y0))
    px = pad + round(relative_pad * (x1 - x0))
    return max(0, y0 - py), min(h, y1 + py), max(0, x0 - px), min(w, x1 + px)


@dataclass(frozen=True)
class CropRule:
    """How a two-in-one model crops its selection (:func:`selection_box`'s options).

    The defaults are the paper's (Sec. 4.2: ``sigmoid > 0.001``, absolute padding). A model
    records the rule it was trained with in its checkpoint (``crop_threshold``, ``crop_pad``,
    ``crop_relative_pad`` of ``occseg train twoinone``), and its predictor crops the same way.
    """

    threshold: float = CROP_THRESHOLD
    pad: int = DEFAULT_PAD
    relative_pad: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.threshold < 1:
            raise ConfigError(f"crop threshold must be in [0, 1), got {self.threshold}")
        if self.pad < 0 or self.relative_pad < 0:
            raise ConfigError(
                f"crop padding must be non-negative, got {self.pad} and {self.relative_pad}"
            )

    @classmethod
    def from_train_config(cls, config: Mapping[str, Any]) -> CropRule:
        """The rule a checkpoint's training config names (the defaults for missing keys)."""
        return cls(
            float(config.get("crop_threshold", CROP_THRESHOLD)),
            int(config.get("crop_pad", DEFAULT_PAD)),
            float(config.get("crop_relative_pad", 0.0)),
        )

    def box(
        self,
        prob: NDArray[np.floating],
        click: Click,
        points: Sequence[Click | BoundaryClick] = (),
    ) -> Box:
        """:func:`selection_box` of ``prob`` with this rule."""
        return selection_box(
            prob,
            click,
            threshold=self.threshold,
            pad=self.pad,
            relative_pad=self.relative_pad,
            points=points,
        )
