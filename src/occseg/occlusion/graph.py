"""Occlusion graphs of instances: edges, cycles, relative depth (paper 001, Sec. 4 and 5).

An occlusion graph has instances as nodes and a directed edge ``(front, back)`` from every
occluder to its occludee. From an occlusion-order labelling (Sec. 3.2) the edges join adjacent
instances, the one with the larger label in front, so such graphs never have cycles; graphs of
baselines (pairwise predictions, oriented boundaries) can, which is what the cycle rate measures
and what random decycling removes; :func:`voted_order` builds an acyclic graph from boundary
votes by dropping the weakest edge of each cycle.

Cycles are the strongly connected components (scipy.sparse.csgraph) with more than one node;
relative depth is the longest path from a front-most node in the graph of components: 0 is in
front of everything it touches and the nodes of one cycle share a depth.

>>> find_cycles([1, 2, 3], [(1, 2), (2, 3), (3, 1)])
[[1, 2, 3]]
>>> relative_depth([1, 2, 3, 4], [(1, 2), (2, 3)])
{1: 0, 2: 1, 3: 2, 4: 0}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components

__all__ = [
    "ADJACENCY_GAP",
    "adjacent_pairs",
    "boundary_votes",
    "cycle_fraction",
    "depth_image",
    "find_cycles",
    "grow_labels",
    "grown_instances",
    "instance_map",
    "label_edges",
    "random_decycle",
    "reachability",
    "relative_depth",
    "strongly_connected",
    "voted_order",
]

Edge = tuple[int, int]

#: Masks at most this many pixels apart still count as adjacent when ordering given masks
#: (:func:`grown_instances`).
ADJACENCY_GAP = 2.0


def _matrix(ids: Sequence[int], edges: Iterable[Edge]) -> tuple[sparse.csr_matrix, dict[int, int]]:
    pos = {int(i): k for k, i in enumerate(ids)}
    src, dst = [], []
    for front, back in edges:
        if front in pos and back in pos:
            src.append(pos[front])
            dst.append(pos[back])
    n = len(pos)
    m = sparse.coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n)).tocsr()
    m.data[:] = 1  # duplicates summed by tocsr
    return m, pos


def _components(ids: Sequence[int], edges: Iterable[Edge]) -> tuple[np.ndarray, int]:
    m, _ = _matrix(ids, edges)
    n_comp, comp = connected_components(m, directed=True, connection="strong")
    return comp, n_comp


def strongly_connected(ids: Sequence[int], edges: Iterable[Edge]) -> list[list[int]]:
    """Strongly connected components (each sorted, sorted by smallest id); unknown ids ignored."""
    ids = [int(i) for i in ids]
    comp, n_comp = _components(ids, edges)
    groups: list[list[int]] = [[] for _ in range(n_comp)]
    for i, c in zip(ids, comp.tolist(), strict=True):
        groups[c].append(i)
    return sorted((sorted(g) for g in groups), key=lambda g: g[0])


def find_cycles(ids: Sequence[int], edges: Iterable[Edge]) -> list[list[int]]:
    """Groups of instances whose order contradicts itself (A before B before … before A)."""
    return [c for c in strongly_connected(ids, edges) if len(c) > 1]


def cycle_fraction(ids: Sequence[int], edges: Iterable[Edge]) -> float:
    """Fraction of instances that lie on a cycle (0 for an empty graph)."""
    if not len(ids):
        return 0.0
    return sum(len(c) for c in find_cycles(ids, edges)) / len(ids)


def relative_depth(ids: Sequence[int], edges: Iterable[Edge]) -> dict[int, int]:
    """Depth layer of every instance: 0 front-most, ``1 + max(depth of its occluders)`` else."""
    ids = [int(i) for i in ids]
    edges = list(edges)
    comp, n_comp = _components(ids, edges)
    pos = {i: k for k, i in enumerate(ids)}
    succ: list[set[int]] = [set() for _ in range(n_comp)]
    indeg = np.zeros(n_comp, np.int64)
    for front, back in edges:
        if front in pos and back in pos:
            a, b = comp[pos[front]], comp[pos[back]]
            if a != b and b not in succ[a]:
                succ[a].add(b)
                indeg[b] += 1
    depth = np.zeros(n_comp, np.int64)
    todo = [c for c in range(n_comp) if indeg[c] == 0]
    while todo:  # Kahn's topological order on the (acyclic) component graph
        c = todo.pop()
        for d in succ[c]:
            depth[d] = max(depth[d], depth[c] + 1)
            indeg[d] -= 1
            if indeg[d] == 0:
                todo.append(d)
    return {i: int(depth[comp[pos[i]]]) for i in ids}


def reachability(ids: Sequence[int], edges: Iterable[Edge]) -> np.ndarray:
    """``R[i, j]``: a directed path leads from ``ids[i]`` to ``ids[j]`` (``i != j``)."""
    m, _ = _matrix(ids, edges)
    n = m.shape[0]
    out = np.zeros((n, n), bool)
    for i in range(n):
        out[i, breadth_first_order(m, i, directed=True, return_predecessors=False)] = True
    out[np.arange(n), np.arange(n)] = False
    return out


def _offset_pairs(inst: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = inst.shape
    ya, yb = slice(0, h - dy), slice(dy, h)
    xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    return inst[ya, xa], inst[yb, xb]


def adjacent_pairs(instances: np.ndarray, *, max_gap: int = 0) -> list[Edge]:
    """Pairs ``(a, b)``, ``a < b``, of instances that touch: 4-neighbours, or with ``max_gap``
    1 also one pixel apart (across a one-pixel strip, or diagonally). Background (id 0) is not
    an instance."""
    inst = np.asarray(instances).astype(np.int64)
    offsets = [(0, 1), (1, 0)]
    if max_gap >= 1:
        offsets += [(0, 2), (2, 0), (1, 1), (1, -1)]
    pairs = []
    for dy, dx in offsets:
        a, b = _offset_pairs(inst, dy, dx)
        touch = (a != b) & (a > 0) & (b > 0)
        pairs.append(np.stack([np.minimum(a, b)[touch], np.maximum(a, b)[touch]], 1))
    return [(int(a), int(b)) for a, b in np.unique(np.concatenate(pairs), axis=0).tolist()]


def label_edges(instances: np.ndarray, order: np.ndarray, *, max_gap: int = 0) -> list[Edge]:
    """Edges ``(front, back)`` between adjacent instances, the larger order label in front.

    Parameters
    ----------
    instances
        ``H×W`` int ids (0 = background).
    order
        ``(K,)`` order label of instance ``i`` at index ``i - 1`` (e.g.
        :attr:`occseg.occlusion.ordering.InstanceSet.order`).
    max_gap
        0: instances must be 4-neighbours. 1: also instances one pixel apart (across a
        one-pixel strip, or diagonally): the labelling separates an occluder from its occludee
        with such strips when it takes advantage of their occlusion boundary (see
        :func:`occseg.occlusion.ordering.refine_labeling`, which removes most of them).
    """
    lab = np.concatenate([[0], np.asarray(order, np.int64)])
    out = set()
    for a, b in adjacent_pairs(instances, max_gap=max_gap):
        if lab[a] > lab[b]:
            out.add((a, b))
        elif lab[b] > lab[a]:
            out.add((b, a))
    return sorted(out)


def boundary_votes(instances: np.ndarray, occ_pairs: np.ndarray) -> dict[Edge, int]:
    """How many occlusion pixel pairs ``(py, px, qy, qx)`` say instance ``a`` occludes ``b``:
    ``{(a, b): count}`` over pairs that cross between two instances (background, id 0, is not
    a node)."""
    inst = np.asarray(instances).astype(np.int64)
    pairs = np.asarray(occ_pairs, np.int64).reshape(-1, 4)
    a = inst[pairs[:, 0], pairs[:, 1]]
    b = inst[pairs[:, 2], pairs[:, 3]]
    keep = (a != b) & (a > 0) & (b > 0)
    ab, counts = np.unique(np.stack([a[keep], b[keep]], 1), axis=0, return_counts=True)
    return {(int(x), int(y)): int(c) for (x, y), c in zip(ab.tolist(), counts, strict=True)}


def voted_order(ids: Sequence[int], votes: dict[Edge, float]) -> list[Edge]:
    """An acyclic occlusion graph from votes ``{(front, back): weight}`` (pixel votes of
    :func:`boundary_votes`, or any non-negative evidence).

    Each pair of instances keeps the direction with more votes, weighted by its margin (votes
    for minus votes against; ties give no edge). While a cycle is left, the weakest edge of the
    first cycle (smallest margin; among equals the largest ``(front, back)``) is dropped: a
    greedy minimum feedback-arc removal, so the order the boundary evidence supports most
    survives, where :func:`random_decycle` (the baselines' decycling of Sec. 5) drops at random.
    """
    margin = {
        (a, b): c - votes.get((b, a), 0) for (a, b), c in votes.items() if c > votes.get((b, a), 0)
    }
    return _decycle(
        ids, margin, lambda inside: min(inside, key=lambda e: (margin[e], (-e[0], -e[1])))
    )


def _decycle(
    ids: Sequence[int], edges: Iterable[Edge], pick: Callable[[list[Edge]], Edge]
) -> list[Edge]:
    """Drop ``pick(edges of the first cycle)`` until no cycle is left; the rest stay."""
    edges = sorted(set((int(a), int(b)) for a, b in edges))
    while True:
        cycles = find_cycles(ids, edges)
        if not cycles:
            return edges
        members = set(cycles[0])
        edges.remove(pick([e for e in edges if e[0] in members and e[1] in members]))


def depth_image(instances: np.ndarray, depth: dict[int, int]) -> np.ndarray:
    """``H×W uint8`` relative-depth picture: front-most 255, deeper layers darker, background 0."""
    inst = np.asarray(instances).astype(np.int64)
    if not depth:
        return np.zeros(inst.shape, np.uint8)
    deepest = max(depth.values())
    lut = np.zeros(int(max(inst.max(), max(depth))) + 1, np.uint8)
    for i, d in depth.items():
        lut[i] = round(255 - 200 * d / max(deepest, 1))
    return lut[inst]


def random_decycle(
    ids: Sequence[int], edges: Iterable[Edge], rng: np.random.Generator | int | None = None
) -> list[Edge]:
    """Remove random edges inside cycles until the graph is acyclic (the baselines' post-hoc
    decycling of Sec. 5); edges outside cycles are kept."""
    gen = np.random.default_rng(rng)
    return _decycle(ids, edges, lambda inside: inside[int(gen.integers(len(inside)))])


def grown_instances(masks: Sequence[np.ndarray], gap: float = ADJACENCY_GAP) -> np.ndarray:
    """Instance map of ``masks`` (ids ``index + 1``, later masks over earlier ones), grown by
    ``gap`` pixels into the uncovered pixels (each joins its nearest mask).

    Parameters
    ----------
    masks
        ``H×W bool`` masks of one image (at least one).
    gap
        Growth radius in pixels (Euclidean).

    Returns
    -------
    (H, W) int32 array, 0 where no mask is within ``gap``.

    Examples
    --------
    >>> a = np.zeros((1, 7), bool); a[0, :2] = True
    >>> b = np.zeros((1, 7), bool); b[0, 5:] = True
    >>> grown_instances([a, b]).tolist()
    [[1, 1, 1, 1, 2, 2, 2]]
    """
    return grow_labels(instance_map(masks), gap)


def instance_map(masks: Sequence[np.ndarray]) -> np.ndarray:
    """``H×W int32`` ids of ``masks`` (``index + 1``; later masks over earlier ones, 0 where
    none) from at least one ``H×W bool`` mask."""
    inst = np.zeros(np.shape(masks[0]), np.int32)
    for i, mask in enumerate(masks):
        inst[np.asarray(mask, bool)] = i + 1
    return inst


def grow_labels(instances: np.ndarray, gap: float = ADJACENCY_GAP) -> np.ndarray:
    """``H×W int32`` instance ids (0 = none) grown by ``gap`` pixels (Euclidean) into the
    pixels without one, each joining its nearest instance (:func:`grown_instances` of a label
    map)."""
    inst = np.asarray(instances).astype(np.int32)
    if not inst.any():
        return inst
    dist, (iy, ix) = ndimage.distance_transform_edt(inst == 0, return_indices=True)
    return np.where(dist <= gap, inst[iy, ix], 0).astype(np.int32)
