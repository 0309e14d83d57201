"""Top-down sampling of proposals (MIS, paper 004, Alg. 2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from occseg.proposals.sampling import sample_node, sample_proposal
from occseg.proposals.tree import MergeTree

# hand-made trees on a 1×n grid; row k holds the children of node n + k
BALANCED = MergeTree(
    np.array([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13]]), np.arange(7.0), (1, 8)
)
CATERPILLAR = MergeTree(np.array([[0, 1], [6, 2], [7, 3], [8, 4], [9, 5]]), np.arange(5.0), (1, 6))


def _expected(tree: MergeTree, alpha: float) -> np.ndarray:
    """Alg. 2 in closed form: a node at depth d is reached with probability
    Π_{i<d} α^i / 2^d and left for a child with probability α^d (never from a leaf)."""
    probs = np.zeros(2 * tree.n_leaves - 1)
    stack = [(tree.root, 0, 1.0)]
    while stack:
        node, depth, reach = stack.pop()
        go = alpha**depth if node >= tree.n_leaves else 0.0
        probs[node] = reach * (1.0 - go)
        if go:
            for child in tree.children[node - tree.n_leaves]:
                stack.append((int(child), depth + 1, reach * go / 2))
    return probs


def _counts(tree: MergeTree, alpha: float, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nodes = [sample_node(tree, rng, alpha) for _ in range(draws)]
    return np.bincount(nodes, minlength=2 * tree.n_leaves - 1)


def _chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic and degrees of freedom; nodes expected fewer than 5 times are pooled
    into one bin (the chi-square approximation needs about 5 per bin)."""
    expected = counts.sum() * probs
    rare = expected < 5
    obs = np.append(counts[~rare], counts[rare].sum())
    exp = np.append(expected[~rare], expected[rare].sum())
    keep = exp > 0
    stat = float((((obs[keep] - exp[keep]) ** 2) / exp[keep]).sum())
    return stat, int(keep.sum()) - 1


@pytest.mark.parametrize("tree", [BALANCED, CATERPILLAR], ids=["balanced", "caterpillar"])
@pytest.mark.parametrize("alpha", [0.9, 0.5])
def test_frequencies_follow_alpha(tree, alpha):
    """Pearson's chi-square goodness of fit of 20000 seeded draws against the closed form.

    Tolerance: the 1 - 1e-4 quantile of chi-square with (nodes - 1) degrees of freedom, so a
    correct sampler fails for one seed in 10000; the draws are seeded, so the result is fixed.
    The same draws must be rejected against a neighbouring α (0.1 less), which shows that the
    test can tell α apart.
    """
    draws = 20_000
    counts = _counts(tree, alpha, draws, seed=1)
    assert counts[tree.root] == 0  # p = 1 at the root: the walk always goes deeper once
    stat, dof = _chi_square(counts, _expected(tree, alpha))
    assert stat < chi2.ppf(1 - 1e-4, dof), stat
    wrong, dof_wrong = _chi_square(counts, _expected(tree, alpha - 0.1))
    assert wrong > chi2.ppf(1 - 1e-4, dof_wrong), wrong


def test_alpha_limits():
    rng = np.random.default_rng(0)
    assert {sample_node(BALANCED, rng, 0.0) for _ in range(200)} == {12, 13}  # root's children
    assert {sample_node(BALANCED, rng, 1.0) for _ in range(400)} == set(range(8))  # leaves
    with pytest.raises(ValueError, match="alpha"):
        sample_node(BALANCED, rng, 1.5)


def test_small_proposals_are_dropped():
    """On a 1×40 caterpillar every leaf is 2.5 % of the image: never drawn with min_area 5 %."""
    n = 40
    rows = [[0, 1]] + [[n + k - 1, k + 1] for k in range(1, n - 1)]
    tree = MergeTree(np.array(rows), np.arange(n - 1.0), (1, n))
    rng = np.random.default_rng(5)
    areas = [sample_proposal(tree, (10, 400), rng).mean() for _ in range(300)]
    assert min(areas) >= 0.05
    unfiltered = [sample_proposal(tree, (10, 400), rng, min_area=0.0).mean() for _ in range(300)]
    assert min(unfiltered) < 0.05  # the filter, not the tree, removed them


def test_a_proposal_is_the_upsampled_region():
    rng = np.random.default_rng(2)
    mask = sample_proposal(BALANCED, (3, 16), rng, alpha=0.0, min_area=0.0)
    assert mask.shape == (3, 16) and mask.dtype == bool
    left, right = mask[:, :8], mask[:, 8:]
    # a child of the root: the left or the right four patches
    assert (left.all() and not right.any()) or (right.all() and not left.any())


def test_the_largest_draw_when_none_is_large_enough():
    rng = np.random.default_rng(4)
    mask = sample_proposal(BALANCED, (1, 8), rng, alpha=0.0, min_area=0.9)
    assert mask.sum() == 4  # a child of the root: half of the image, the most any draw can get
    with pytest.raises(ValueError, match="attempts"):
        sample_proposal(BALANCED, (1, 8), rng, attempts=0)
