"""Orientation targets from instances and occlusion order (paper 001, supplement 1.3)."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.occlusion.targets import (
    instance_boundaries,
    occludes_from_instances,
    orientation_targets,
    self_occlusion_pixels,
    semantic_targets,
)


def test_supplement_examples():
    occ = np.zeros((1, 2, 4), bool)
    occ[0, 0, 0] = True  # occludes its left neighbour only
    occ[0, 1, [0, 2]] = True  # left and top
    b, e = orientation_targets(occ)
    assert b.tolist() == [[True, True]]
    assert e[0, 0].tolist() == [1, 0, 0, 0]
    assert e[0, 1].tolist() == [0.5, 0, 0.5, 0]
    assert e.dtype == np.float32


def test_unoriented_pixels_stay_boundaries_without_an_orientation():
    occ = np.zeros((2, 2, 4), bool)
    occ[0, 0, 1] = occ[0, 1, 3] = occ[1, 1, 0] = True
    unoriented = np.array([[False, True], [False, False]])  # e.g. a contact pixel
    b, e = orientation_targets(occ, unoriented)
    b0, e0 = orientation_targets(occ)
    assert b.tolist() == b0.tolist() == [[True, True], [False, True]]
    assert not e[0, 1].any() and e0[0, 1].tolist() == [0, 0, 0, 1]
    np.testing.assert_array_equal(e[~unoriented], e0[~unoriented])
    with pytest.raises(ValueError, match="unoriented"):
        orientation_targets(occ, np.zeros((2, 3), bool))


def test_from_instances_follows_the_order():
    inst = np.zeros((6, 6), int)
    inst[1:5, 1:4] = 1
    inst[2:4, 3:5] = 2  # 2 in front of 1, both in front of the background 0
    occ = occludes_from_instances(inst, [(2, 1), (1, 0), (2, 0)])
    # pixel (2, 3) of instance 2 occludes its left neighbour (instance 1) and its top one
    assert occ[2, 3].tolist() == [True, False, True, False]
    # instance 1 does not occlude instance 2
    assert not occ[2, 2, 1]
    # background occludes nothing
    assert not occ[inst == 0].any()
    b, _ = orientation_targets(occ)
    assert b[inst == 2].sum() == 4  # the whole 2×2 occluder lies on the boundary


def test_agrees_with_the_synthetic_ground_truth():
    """The construction from masks + order equals the ray-cast ``ob_occludes`` on every pair of
    neighbouring pixels of different instances, except between instances whose pixels occlude
    each other both ways or that only touch (contact lines, not in the order), whose side only
    the geometry knows."""
    from occseg.synth import generate_sample

    checked = 0
    for index in range(2):
        _, r = generate_sample(0, index, 96, 72)
        inst = r.instances.astype(np.int64)
        built = occludes_from_instances(inst, r.occlusions)
        exact = instance_boundaries(r.ob_occludes, inst, background=None)
        assert not (r.ob_occludes & ~exact & built).any()  # self-occlusion is not in masks
        pad = np.pad(inst, 1, constant_values=-1)
        nb = np.stack([pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]], axis=2)
        events = {
            (int(a), int(b))
            for a, b in zip(
                np.broadcast_to(inst[..., None], nb.shape)[exact], nb[exact], strict=True
            )
        }
        listed = set(r.occlusions)
        excluded = {(a, b) for a, b in events if (b, a) in events or not {(a, b), (b, a)} & listed}
        between = (nb != inst[..., None]) & (nb >= 0)
        for a, b in excluded:
            between &= ~((inst[..., None] == a) & (nb == b))
        assert (built[between] == exact[between]).all()
        checked += int(exact[between].sum())
    assert checked > 20


def test_instance_boundaries_drop_self_occlusion_and_background():
    inst = np.array([[0, 1, 1, 2]])
    occ = np.zeros((1, 4, 4), bool)
    occ[0, 0, 1] = True  # background occludes 1
    occ[0, 1, 1] = True  # 1 occludes itself
    occ[0, 3, 0] = True  # 2 occludes 1
    kept = instance_boundaries(occ, inst)
    assert kept.sum() == 1 and kept[0, 3, 0]
    assert instance_boundaries(occ, inst, background=None).sum() == 2


def test_self_occlusion_pixels_are_both_sides_of_flags_inside_one_object():
    inst = np.array([[0, 1, 1, 1, 2], [0, 1, 1, 1, 2]])
    occ = np.zeros((2, 5, 4), bool)
    occ[0, 0, 1] = True  # background occludes 1: not inside an object
    occ[0, 2, 1] = True  # 1 occludes itself, to the right
    occ[1, 2, 2] = True  # 1 occludes itself, above
    occ[0, 4, 0] = True  # 2 occludes 1: an instance boundary
    expected = np.zeros((2, 5), bool)
    expected[0, 2:4] = True
    expected[:, 2] = True
    np.testing.assert_array_equal(self_occlusion_pixels(occ, inst), expected)
    occ[0, 0, 3] = True  # the background occludes itself: a floor seen over its own step
    assert not self_occlusion_pixels(occ, inst)[:, 0].any()
    assert self_occlusion_pixels(occ, inst, background=None)[:, 0].all()


def test_semantic_targets_and_shape_errors():
    inst = np.array([[0, 1, 2], [3, 3, 0]])
    assert semantic_targets(inst, {1: 2, 2: 1, 3: 1}).tolist() == [[0, 2, 1], [1, 1, 0]]
    with pytest.raises(ValueError):
        orientation_targets(np.zeros((2, 2, 3), bool))
