"""Confidence of occlusion-ordered instances: the paper's ad-hoc score and the outline contrast."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.errors import ConfigError
from occseg.occlusion.scores import SCORES, instance_scores


def _object_and_fragment() -> tuple[np.ndarray, np.ndarray]:
    """A 30×30 object enclosed by a boundary of probability 0.5 with a faint 0.05 inside, and a
    2×20 fragment lying on a strong boundary (0.8), as a CRF leaves along a boundary band."""
    inst = np.zeros((40, 64), np.int64)
    b = np.zeros((40, 64))
    inst[5:35, 5:35] = 1
    b[5:35, 5:35] = 0.05
    b[5:35, 5] = b[5:35, 34] = b[5, 5:35] = b[34, 5:35] = 0.5  # its inner border
    inst[10:30, 45:47] = 2
    b[10:30, 44:48] = 0.8  # the band: the fragment and a pixel on each side
    return inst, b


def test_the_two_scores_rank_an_object_and_a_boundary_fragment_differently():
    inst, b = _object_and_fragment()
    paper = instance_scores(inst, b, "paper")
    # Sec. 5.4: border sum minus inside sum. The object: 116 border pixels at 0.5 minus 784
    # inside at 0.05; the fragment is all border: 40 pixels at 0.8.
    assert paper.tolist() == pytest.approx([116 * 0.5 - 784 * 0.05, 40 * 0.8])
    assert paper[1] > paper[0]  # the fragment first: what the measured ranking showed
    contrast = instance_scores(inst, b, "outline_contrast")
    # the object: outline 0.5 everywhere, mean inside (58 + 39.2) / 900; the fragment: its
    # outline and its body lie on the same band
    assert contrast.tolist() == pytest.approx([0.5 - 97.2 / 900, 0.0], abs=1e-12)
    assert contrast[0] > contrast[1]


def test_outline_contrast_sees_the_boundary_on_the_occluders_side():
    # instance 2 is hidden by 1 on its left: the boundary lies on 1's pixels, outside 2, and
    # still counts for 2's outline; 2's other sides have no boundary
    inst = np.zeros((10, 12), np.int64)
    inst[2:8, 1:5] = 1
    inst[2:8, 5:9] = 2
    b = np.zeros((10, 12))
    b[2:8, 4] = 1.0
    got = instance_scores(inst, b)
    assert got[1] == pytest.approx(6 / 20)  # 6 of its 20 outline edges, nothing inside
    # the paper's score gives 2 nothing: none of the boundary is on its own pixels
    assert instance_scores(inst, b, "paper")[1] == 0.0


def test_edge_cases_and_errors():
    whole = np.ones((4, 5), np.int64)  # no outline inside the image
    assert instance_scores(whole, np.full((4, 5), 0.3)).tolist() == pytest.approx([-0.3])
    assert instance_scores(np.zeros((3, 3), np.int64), np.zeros((3, 3))).shape == (0,)
    assert set(SCORES) == {"outline_contrast", "paper"}
    with pytest.raises(ConfigError, match="outline_contrast, paper"):
        instance_scores(whole, np.zeros((4, 5)), "area")
    with pytest.raises(ValueError):
        instance_scores(whole, np.zeros((4, 4)))
