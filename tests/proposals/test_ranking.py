"""Stability ranking of merge-tree regions as proposals."""

from __future__ import annotations

import numpy as np
import pytest

from occseg.proposals.ranking import select_proposals, stability_scores
from occseg.proposals.tree import MergeTree, merge_tree


def test_scores_follow_the_formula():
    # 1×4 grid: 4 = {0, 1} at cost 1, 5 = {2, 3} at cost 3, root 6 = {4, 5} at cost 10
    tree = MergeTree(np.array([[0, 1], [2, 3], [4, 5]]), np.array([1.0, 3.0, 10.0]), (1, 4))
    tau = 3.0  # the median merge cost
    s = stability_scores(tree)
    assert s[6] == -np.inf
    np.testing.assert_allclose(s[4], np.log((10 + tau) / (1 + tau)))
    np.testing.assert_allclose(s[5], np.log((10 + tau) / (3 + tau)))
    np.testing.assert_allclose(s[0], np.log((1 + tau) / tau))
    assert s[4] > s[5]  # formed more cheaply, dies at the same cost


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 20×24 noisy feature grid: background and two distinct square objects."""
    rng = np.random.default_rng(seed)
    f = np.zeros((20, 24, 3))
    a = np.zeros((20, 24), bool)
    a[3:9, 4:12] = True
    b = np.zeros((20, 24), bool)
    b[11:18, 14:21] = True
    f[a] = (3.0, 0.0, 0.0)
    f[b] = (0.0, 3.0, 0.0)
    return f + 0.3 * rng.normal(size=f.shape), a, b


def test_the_objects_rank_first():
    features, a, b = _scene()
    tree = merge_tree(features)
    top = select_proposals(tree, 2)
    regions = [tree.region(node) for node, _ in top]
    assert any((r == a).all() for r in regions) and any((r == b).all() for r in regions)
    assert top[0][1] >= top[1][1]


def test_area_overlap_and_count_limits():
    features, _, _ = _scene(1)
    tree = merge_tree(features)
    n = tree.n_leaves
    chosen = select_proposals(tree, 50, min_area=0.05, max_iou=0.5)
    assert 0 < len(chosen) <= 50
    nodes = [node for node, _ in chosen]
    assert all(tree.sizes[v] >= 0.05 * n for v in nodes) and tree.root not in nodes
    for i, u in enumerate(nodes):
        for v in nodes[i + 1 :]:
            if tree.contains(u, v) or tree.contains(v, u):
                small, large = sorted((tree.sizes[u], tree.sizes[v]))
                assert small / large <= 0.5
    every = select_proposals(tree, 10_000, min_area=0.0, max_iou=1.0)
    assert len(every) == 2 * n - 2  # every node but the root
    assert len(select_proposals(tree, 3)) == 3
    with pytest.raises(ValueError, match="k must"):
        select_proposals(tree, 0)


def test_flat_regions_keep_finite_scores_and_rank_first():
    """Noise-free flat regions: most merges cost 0 (τ tiny), yet no score overflows to inf."""
    f = np.zeros((8, 12, 1))
    f[:, 6:] = 5.0  # two perfectly flat halves
    tree = merge_tree(f)
    with np.errstate(over="raise"):
        scores = stability_scores(tree)
    assert np.isfinite(np.delete(scores, tree.root)).all()
    top = select_proposals(tree, 2, min_area=0.05)
    halves = [tree.region(node) for node, _ in top]
    assert any((r[:, :6]).all() and not r[:, 6:].any() for r in halves)
    assert any((r[:, 6:]).all() and not r[:, :6].any() for r in halves)
