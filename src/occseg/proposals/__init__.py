"""Unsupervised multi-granularity region proposals (MIS, paper ``004``, Sec. 3.1).

Patch features are merged bottom-up into a Ward merge tree under 4-connectivity (Alg. 1,
:mod:`.tree`); regions are drawn from it top-down as training targets (Alg. 2, :mod:`.sampling`)
or ranked by stability as proposals for people (:mod:`.ranking`, :mod:`.propose`).

Features: the paper's self-supervised DINO ViT is not available here; :mod:`.features` uses the
**ImageNet-supervised** EfficientNet-Lite0 trunk (packaged weights) instead, and :mod:`.colour`
a learning-free L*a*b* colour + texture descriptor to compare against.

The merging, sampling, ranking and colour modules are NumPy only (no torch, enforced by the
import contracts), so merge trees can be built, stored and sampled in data-loading workers; only
:mod:`.features` (and :mod:`.propose`, which uses it) import torch. This package re-exports the
NumPy part; the whole-image pipeline is :func:`occseg.proposals.propose.propose`.
"""

from occseg.proposals.ranking import select_proposals, stability_scores
from occseg.proposals.sampling import sample_node, sample_proposal
from occseg.proposals.tree import MergeTree, grid_edges, load_tree, merge_tree, save_tree

__all__ = [
    "MergeTree",
    "grid_edges",
    "load_tree",
    "merge_tree",
    "sample_node",
    "sample_proposal",
    "save_tree",
    "select_proposals",
    "stability_scores",
]
