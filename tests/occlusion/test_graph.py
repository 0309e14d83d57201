"""Occlusion graph: edges from labels / boundaries, cycles, depth, decycling."""

from __future__ import annotations

import numpy as np

from occseg.occlusion.graph import (
    boundary_votes,
    cycle_fraction,
    depth_image,
    find_cycles,
    grow_labels,
    instance_map,
    label_edges,
    random_decycle,
    reachability,
    relative_depth,
    strongly_connected,
    voted_order,
)
from occseg.occlusion.ordering import extract_instances


def test_label_edges_from_an_order_labelling():
    lab = np.zeros((5, 9), int)
    lab[1:4, 1:4] = 1
    lab[1:4, 4:7] = 3
    lab[1:4, 7:9] = 2
    inst = extract_instances(lab)
    edges = label_edges(inst.instances, inst.order)
    assert edges == [(2, 1), (2, 3)]
    assert find_cycles(inst.ids, edges) == []
    assert relative_depth(inst.ids.tolist(), edges) == {1: 1, 2: 0, 3: 1}


def test_cycles_depth_reachability_and_decycling():
    ids = [1, 2, 3, 4, 5]
    edges = [(1, 2), (2, 3), (3, 1), (3, 4)]
    assert strongly_connected(ids, edges) == [[1, 2, 3], [4], [5]]
    assert find_cycles(ids, edges) == [[1, 2, 3]]
    assert cycle_fraction(ids, edges) == 3 / 5
    assert relative_depth(ids, edges) == {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}
    reach = reachability(ids, [(1, 2), (2, 3)])
    assert reach[0, 2] and not reach[2, 0] and not reach[0, 0] and not reach[4].any()
    fixed = random_decycle(ids, edges, rng=0)
    assert find_cycles(ids, fixed) == [] and len(fixed) == 3 and (3, 4) in fixed
    assert cycle_fraction([], []) == 0.0


def test_depth_image():
    inst = np.array([[0, 1, 2]])
    img = depth_image(inst, {1: 0, 2: 1})
    assert img.dtype == np.uint8 and img.tolist() == [[0, 255, 55]]


def test_label_edges_across_a_one_pixel_gap():
    inst = np.array([[1, 0, 2], [1, 0, 2]])
    assert label_edges(inst, [2, 1]) == []
    assert label_edges(inst, [2, 1], max_gap=1) == [(1, 2)]
    diag = np.array([[1, 0], [0, 2]])
    assert label_edges(diag, [1, 3], max_gap=1) == [(2, 1)]


def test_voted_order_keeps_majorities_and_drops_the_weakest_edge_of_a_cycle():
    inst = np.array([[1, 2, 2], [1, 2, 2]])
    pairs = np.array([[0, 1, 0, 0], [1, 1, 1, 0], [1, 0, 1, 1]])  # 2 occludes 1 twice, 1 -> 2 once
    assert boundary_votes(inst, pairs) == {(1, 2): 1, (2, 1): 2}
    assert voted_order([1, 2], boundary_votes(inst, pairs)) == [(2, 1)]
    assert voted_order([1, 2], {(1, 2): 3, (2, 1): 3}) == []  # a tie orders nothing
    # a cycle 1 -> 2 -> 3 -> 1 with margins 5, 4, 1: the edge with margin 1 goes
    votes = {(1, 2): 6, (2, 1): 1, (2, 3): 4, (3, 1): 1, (3, 4): 2}
    edges = voted_order([1, 2, 3, 4], votes)
    assert edges == [(1, 2), (2, 3), (3, 4)] and find_cycles([1, 2, 3, 4], edges) == []
    # equal margins: the choice is deterministic
    ring = {(1, 2): 1, (2, 3): 1, (3, 1): 1}
    assert voted_order([1, 2, 3], ring) == voted_order([3, 2, 1], dict(reversed(ring.items())))
    assert len(voted_order([1, 2, 3], ring)) == 2


def test_grow_labels_and_instance_map():
    assert grow_labels(np.array([[1, 0, 0, 0, 2]]), 1).tolist() == [[1, 1, 0, 2, 2]]
    assert grow_labels(np.zeros((2, 2), int)).tolist() == [[0, 0], [0, 0]]
    a, b = np.array([[1, 1, 0]], bool), np.array([[0, 1, 1]], bool)
    assert instance_map([a, b]).tolist() == [[1, 2, 2]]  # the later mask on top
