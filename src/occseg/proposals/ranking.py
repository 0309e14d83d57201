"""Ranking the regions of a merge tree as object proposals (for people, not in paper ``004``).

MIS samples regions at random for training (Alg. 2); a person choosing among a few proposals
wants the most object-like first. The score used here is the region's **stability** in the tree,
in the spirit of MSER and of cluster persistence (HDBSCAN): how long the region survives between
its birth and its death, as a ratio of Ward costs,

    ``score(v) = log((death(v) + τ) / (birth(v) + τ))``

* ``birth(v)``: the Ward cost (Eq. 4) of the merge that formed ``v``, i.e. how different its two
  halves are (0 for a single patch);
* ``death(v)``: the cost of the merge that absorbed ``v`` into its parent, i.e. how different
  ``v`` is from the neighbouring region it joins;
* ``τ``: the median merge cost of the tree, the typical cost of merging two pieces of the same
  homogeneous surface (most merges are such), a noise floor.

Why this score: a region that is uniform inside (cheap birth) and distinct from its
surroundings (expensive death) is what an object, or a whole part, looks like in feature space.
The ratio makes the score independent of the feature scale (network or colour features), and
Ward's cost does not grow with size for pieces of one uniform region (``s_A s_B / (s_A + s_B)``
cancels the ``1/s_A + 1/s_B`` of the variance of ``μ_A − μ_B``), so large and small regions
compete fairly. ``τ`` keeps single patches and near-identical merges from getting arbitrarily
high scores from a birth cost near 0.

Tree regions are nested or disjoint, so the overlap of two proposals is their size ratio when
one contains the other and 0 otherwise; :func:`select_proposals` skips regions that nearly
repeat a better one.
"""

from __future__ import annotations

import numpy as np

from occseg.proposals.sampling import MIN_AREA
from occseg.proposals.tree import MergeTree

#: Largest overlap (IoU) of a kept proposal with a better-ranked one.
MAX_IOU = 0.8


def stability_scores(tree: MergeTree) -> np.ndarray:
    """``(2n-1,)`` float64: :mod:`the stability score <occseg.proposals.ranking>` of every node;
    ``-inf`` for the root (it never dies: the whole image is no proposal)."""
    n = tree.n_leaves
    birth = np.zeros(2 * n - 1)
    birth[n:] = tree.costs
    death = np.zeros(2 * n - 1)
    death[tree.children.ravel()] = np.repeat(tree.costs, 2)
    tau = max(float(np.median(tree.costs)), np.finfo(np.float64).tiny)
    # a difference of logarithms: on a flat image τ is tiny and the ratio would overflow to inf
    scores = np.log(death + tau) - np.log(birth + tau)
    scores[tree.root] = -np.inf
    return scores


def select_proposals(
    tree: MergeTree,
    k: int,
    *,
    min_area: float = MIN_AREA,
    max_iou: float = MAX_IOU,
) -> list[tuple[int, float]]:
    """The ``k`` best proposals of ``tree`` as ``(node, score)``, best first.

    Parameters
    ----------
    tree
        The merge tree.
    k
        How many to return (fewer when the tree has fewer eligible regions).
    min_area
        Regions covering less than this share of the image are left out (5 %, as MIS drops
        small proposals).
    max_iou
        A region whose IoU with a better one exceeds this is skipped (1 keeps all).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores = stability_scores(tree)
    sizes = tree.sizes
    eligible = np.flatnonzero((sizes >= min_area * tree.n_leaves) & np.isfinite(scores))
    ranked = eligible[np.lexsort((eligible, -scores[eligible]))]
    chosen: list[int] = []
    for node in ranked.tolist():
        if not any(_iou(tree, node, other) > max_iou for other in chosen):
            chosen.append(node)
            if len(chosen) == k:
                break
    return [(node, float(scores[node])) for node in chosen]


def _iou(tree: MergeTree, a: int, b: int) -> float:
    """IoU of two tree regions: nested regions overlap by their size ratio, others not at all."""
    if tree.contains(a, b) or tree.contains(b, a):
        sa, sb = tree.sizes[a], tree.sizes[b]
        return float(min(sa, sb) / max(sa, sb))
    return 0.0
