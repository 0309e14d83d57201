"""Ward merge tree under 4-connectivity (MIS, paper 004, Alg. 1, Eq. 1-4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.cluster.hierarchy import ward

from occseg.errors import FileFormatError
from occseg.proposals.tree import MergeTree, grid_edges, load_tree, merge_tree, save_tree


def _sse(points: np.ndarray) -> float:
    """Eq. 1: the within-region sum of squared errors."""
    return float(((points - points.mean(0)) ** 2).sum())


def _brute_force(features: np.ndarray) -> tuple[list[set[int]], list[float]]:
    """Alg. 1 by exhaustive search: every step tries every pair of touching regions and merges
    the one whose SSE grows least (Eq. 1 computed from the patches, not Eq. 4)."""
    rows, cols, c = features.shape
    flat = features.reshape(-1, c)
    n = rows * cols
    regions = {i: {i} for i in range(n)}
    touching = {(int(a), int(b)) for a, b in grid_edges(rows, cols)}
    merges, costs = [], []
    for k in range(n - 1):
        best = None
        ids = sorted(regions)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pa, pb = regions[a], regions[b]
                if not any((min(p, q), max(p, q)) in touching for p in pa for q in pb):
                    continue
                both = sorted(pa | pb)
                cost = _sse(flat[both]) - _sse(flat[sorted(pa)]) - _sse(flat[sorted(pb)])
                if best is None or cost < best[0]:
                    best = (cost, a, b)
        assert best is not None
        cost, a, b = best
        regions[n + k] = regions.pop(a) | regions.pop(b)
        merges.append({a, b})
        costs.append(cost)
    return merges, costs


@pytest.mark.parametrize("seed", range(4))
def test_without_connectivity_it_is_scipys_ward(seed):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(3, 5, 4))
    n = 15
    i, j = np.triu_indices(n, 1)
    tree = merge_tree(features, edges=np.stack([i, j], 1))  # every pair connected
    z = ward(features.reshape(n, 4))
    assert [set(row) for row in tree.children.tolist()] == [{int(a), int(b)} for a, b in z[:, :2]]
    # SciPy's Ward height is sqrt(2 · the SSE increase of Eq. 4)
    np.testing.assert_allclose(tree.costs, z[:, 2] ** 2 / 2, rtol=1e-9)
    np.testing.assert_array_equal(tree.sizes[n:], z[:, 3])


@pytest.mark.parametrize("seed", range(4))
def test_on_a_4x4_grid_it_is_the_brute_force_connected_merge(seed):
    rng = np.random.default_rng(100 + seed)
    features = rng.normal(size=(4, 4, 3))
    merges, costs = _brute_force(features)
    tree = merge_tree(features)
    assert [set(row) for row in tree.children.tolist()] == merges
    np.testing.assert_allclose(tree.costs, costs, rtol=1e-9, atol=1e-12)


def test_connectivity_changes_the_order():
    """The constraint matters: two far-apart equal patches do not merge first on a grid."""
    features = np.array([[[0.0], [5.0], [0.01]]])
    free = merge_tree(features, edges=np.array([[0, 1], [0, 2], [1, 2]]))
    assert set(free.children[0]) == {0, 2}
    grid = merge_tree(features)
    assert set(grid.children[0]) in ({0, 1}, {1, 2})


@pytest.mark.parametrize("seed", range(3))
def test_every_region_is_4_connected(seed):
    rng = np.random.default_rng(seed)
    blobs = ndimage.gaussian_filter(rng.normal(size=(9, 11, 3)), (1.5, 1.5, 0))
    tree = merge_tree(blobs + 0.05 * rng.normal(size=blobs.shape))
    four = ndimage.generate_binary_structure(2, 1)
    for node in range(2 * tree.n_leaves - 1):
        region = tree.region(node)
        assert region.sum() == tree.sizes[node]
        assert ndimage.label(region, four)[1] == 1, node


def test_tree_bookkeeping():
    rng = np.random.default_rng(7)
    tree = merge_tree(rng.normal(size=(5, 6, 2)))
    n = tree.n_leaves
    assert tree.root == 2 * n - 2 and tree.sizes[tree.root] == n
    assert tree.parents[tree.root] == -1
    for k, (a, b) in enumerate(tree.children):
        assert tree.parents[a] == tree.parents[b] == n + k
        both = np.concatenate([tree.leaves(a), tree.leaves(b)])
        assert sorted(both) == sorted(tree.leaves(n + k))
        assert tree.contains(n + k, a) and tree.contains(tree.root, b)
        assert not tree.contains(a, n + k)
    assert not tree.contains(tree.children[-1, 0], tree.children[-1, 1])
    assert sorted(tree.leaves(tree.root)) == list(range(n))


def test_a_region_is_upsampled_to_equal_blocks():
    tree = merge_tree(np.array([[[0.0], [0.0], [9.0]], [[0.0], [0.0], [9.0]]]))
    right = next(v for v in range(2 * 6 - 1) if sorted(tree.leaves(v)) == [2, 5])
    mask = tree.pixel_mask(right, (4, 6))
    expected = np.zeros((4, 6), bool)
    expected[:, 4:] = True
    np.testing.assert_array_equal(mask, expected)
    assert tree.pixel_mask(right, (5, 7)).shape == (5, 7)


def test_ties_are_broken_deterministically():
    flat = np.zeros((3, 3, 2))
    a, b = merge_tree(flat), merge_tree(flat.copy())
    np.testing.assert_array_equal(a.children, b.children)
    assert a.costs.max() == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="rows × cols × c"):
        merge_tree(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="two patches"):
        merge_tree(np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="not connected"):
        merge_tree(np.zeros((1, 4, 1)), edges=np.array([[0, 1], [2, 3]]))
    with pytest.raises(ValueError, match="different patches"):
        merge_tree(np.zeros((1, 3, 1)), edges=np.array([[0, 0], [1, 2]]))
    with pytest.raises(ValueError, match="different patches"):
        merge_tree(np.zeros((1, 3, 1)), edges=np.array([[0, 3]]))
    with pytest.raises(ValueError, match="merges"):
        MergeTree(np.zeros((2, 2), np.int64), np.zeros(2), (2, 2))


def test_save_and_load(tmp_path):
    rng = np.random.default_rng(3)
    tree = merge_tree(rng.normal(size=(6, 7, 5)))
    save_tree(tmp_path / "t.npz", tree)
    back = load_tree(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.children, tree.children)
    np.testing.assert_array_equal(back.costs, tree.costs)
    assert back.grid == tree.grid
    (tmp_path / "bad.npz").write_bytes(b"not a tree")
    with pytest.raises(FileFormatError, match="not a merge tree"):
        load_tree(tmp_path / "bad.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(FileFormatError, match="not a merge tree"):
        load_tree(tmp_path / "other.npz")
