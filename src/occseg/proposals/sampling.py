"""Top-down sampling of region proposals from a merge tree (MIS, paper ``004``, Sec. 3.1, Alg. 2).

Shallow nodes are whole objects or groups of them, deep nodes their parts; the walk prefers the
former while keeping the latter reachable (multi-granularity).
"""

from __future__ import annotations

import numpy as np

from occseg.proposals.tree import MergeTree

#: Alg. 2's decay coefficient ``α`` and the smallest proposal kept (share of the image), Sec. 4.
ALPHA = 0.9
MIN_AREA = 0.05


def sample_node(tree: MergeTree, rng: np.random.Generator, alpha: float = ALPHA) -> int:
    """One node of ``tree`` drawn by Alg. 2.

    Start at the root with ``p = 1``; while the node is not a leaf, go deeper with probability
    ``p`` to one of its two children (each with probability 1/2), then ``p ← α p``. A node at
    depth ``d`` is thus left for a child with probability ``α^d``.

    Parameters
    ----------
    tree
        The merge tree.
    rng
        The source of randomness.
    alpha
        Decay ``α`` in [0, 1]: 0 always stops at a child of the root; 1 always walks to a leaf.

    Examples
    --------
    >>> from occseg.proposals.tree import merge_tree
    >>> t = merge_tree(np.array([[[0.0], [0.1], [5.0]]]))  # root 4 = {3 = {0, 1}, 2}
    >>> sample_node(t, np.random.default_rng(0), alpha=0.0) in (2, 3)
    True
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    # Alg. 2's listing mixes row and node indices (k ← n - 1 is the root's row, "k > 0" its
    # leaf test); we follow the text: walk node indices from the root, stop at a leaf.
    n = tree.n_leaves
    node, p = tree.root, 1.0
    while node >= n and rng.random() < p:
        node = int(tree.children[node - n, int(rng.random() < 0.5)])
        p *= alpha
    return node


def sample_proposal(
    tree: MergeTree,
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    alpha: float = ALPHA,
    min_area: float = MIN_AREA,
    attempts: int = 100,
) -> np.ndarray:
    """An ``H×W`` bool proposal mask: a node of :func:`sample_node` covering at least
    ``min_area`` of the image, upsampled from the patch grid (:meth:`MergeTree.pixel_mask`).

    Smaller draws are dropped and drawn again (Sec. 4: proposals under 5 % of the image are
    ignored), up to ``attempts`` times; if none is large enough (rare: a child of the root is
    drawn first with probability ``1 - α``), the largest drawn node is used.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    need = min_area * tree.n_leaves
    best = -1
    for _ in range(attempts):
        node = sample_node(tree, rng, alpha)
        if best < 0 or tree.sizes[node] > tree.sizes[best]:
            best = node
        if tree.sizes[node] >= need:
            break
    return tree.pixel_mask(best, shape)
