"""Decoding boundaries and orientation (paper 001, Sec. 3.1, supplement 1.4) into CRF inputs."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.occlusion.decode import (
    decode_boundaries,
    occludes_from_orientation,
    occlusion_inputs,
    orientation_angle,
)
from occseg.occlusion.ordering import extract_instances, order_labeling
from occseg.occlusion.targets import occludes_from_instances, orientation_targets


def test_angle_of_the_supplement_example():
    o = np.array([0.5, 0.1, 0.4, 0.0])  # left 0.5 beats right, top 0.4 beats bottom
    theta = orientation_angle(o)
    # normal (-0.5, -0.4) on screen; PIOD theta = atan2(n_x, n_y): tan = 0.5 / 0.4
    assert np.tan(theta) == pytest.approx(0.5 / 0.4)
    assert theta == pytest.approx(np.arctan2(-0.5, -0.4))


def test_angle_matches_the_synthetic_ground_truth_convention():
    from occseg.synth import generate_sample
    from occseg.synth.boundaries import boundary_angle

    _, r = generate_sample(0, 1, 96, 72)
    occ = r.ob_occludes
    one_side = occ.any(2) & ~(occ[..., 0] & occ[..., 1]) & ~(occ[..., 2] & occ[..., 3])
    _, e = orientation_targets(occ)
    ref = boundary_angle(occ, sigma=0)
    got = orientation_angle(e)
    diff = np.angle(np.exp(1j * (got[one_side] - ref[one_side])))
    assert one_side.sum() > 20
    np.testing.assert_allclose(diff, 0, atol=1e-6)


def test_orientation_round_trip_of_ground_truth_targets():
    rng = np.random.default_rng(0)
    occ = np.zeros((200, 4), bool)
    for row in occ:
        row[rng.integers(2)] = rng.random() < 0.7  # left or right (or neither)
        row[2 + rng.integers(2)] = rng.random() < 0.7  # top or bottom (or neither)
    occ = occ[occ.any(1)]
    _, e = orientation_targets(occ[None])
    assert (occludes_from_orientation(e[0]) == occ).all()


def test_orientation_sectors():
    # normal 30° below the right axis (tan = 0.577 > tan 22.5°): right and bottom
    assert occludes_from_orientation(np.array([0, 0.6, 0, 0.35])).tolist() == [0, 1, 0, 1]
    # 15°: right only
    assert occludes_from_orientation(np.array([0, 0.8, 0, 0.2])).tolist() == [0, 1, 0, 0]


def test_nms_and_threshold():
    b = np.zeros((20, 20))
    b[:, 8:13] = [0.2, 0.5, 0.9, 0.5, 0.2]
    b[:, 16] = 0.05  # a faint boundary below 0.1
    e = np.zeros((20, 20, 4))
    e[..., 1] = 1  # occludes the right neighbour
    out = decode_boundaries(b, e)
    kept = out.prob > 0
    assert (kept.sum(1) == 1).all() and kept[:, 10].all()
    assert out.occludes[kept][:, 1].all() and out.occludes.sum() == kept.sum()
    assert np.isnan(out.angle[~kept]).all()
    assert np.allclose(out.angle[kept], np.arctan2(1, 0))
    with pytest.raises(ValueError):
        decode_boundaries(b, e[..., :3])


def test_ideal_maps_give_the_instances_and_their_order():
    inst = np.zeros((24, 30), int)
    inst[3:18, 3:16] = 1
    inst[8:22, 12:26] = 2  # 2 in front of 1
    occ = occludes_from_instances(inst, [(2, 1), (1, 0), (2, 0)])
    b, e = orientation_targets(occ)
    sem = np.stack([inst == 0, inst > 0], axis=2).astype(float)
    bg, pairs, dec = occlusion_inputs(sem, b.astype(float), e, nms=False)
    assert (dec.occludes == occ).all()
    got = extract_instances(order_labeling(bg, pairs))
    assert len(got.order) == 2
    front = got.instances[15, 20]
    back = got.instances[5, 5]
    assert got.order[front - 1] > got.order[back - 1] > 0
