"""Bottom-up merging of patch features into a Ward merge tree (MIS, paper ``004``, Sec. 3.1,
Alg. 1, Eq. 1-4).

The ``n`` patches of a ``rows × cols`` feature grid are the leaves ``0 .. n-1``; merge ``k``
(0-based) joins the two unmerged regions of least Ward cost (Eq. 4)

    ``Cost(A, B) = s_A s_B / (s_A + s_B) · ||μ_A − μ_B||²``,

the increase of the within-region sum of squared errors (Eq. 1), into the node ``n + k``, whose
centre is the size-weighted mean of its children's (Eq. 3) and whose size is the sum of theirs.
Only regions that touch may merge: patches are 4-connected, and two regions are connected when a
patch of one is 4-adjacent to a patch of the other. The paper numbers nodes from 1; here they
are numbered from 0 (the root is ``2n - 2``), as in NumPy and SciPy's linkage matrices.

The search is a heap of candidate pairs with lazy deletion (as in the official C++ code of
Alg. 1): a merge pushes the costs from the new region to its neighbours (the costs between
other regions do not change, Sec. 3.1) and stale pairs are skipped when popped, so building the
tree costs ``O(E log E)`` for ``E`` pushed pairs, not the ``O(n²)`` per merge of a plain search.
Regions of a patch grid have few neighbours on average, so ``E`` stays a small multiple of ``n``
(about ``8n`` for photos at stride 8): ``O(n log n)``. A tree is stored as its ``(n-1)×2``
children and the merge costs (:func:`save_tree`); masks are recovered from it
(:meth:`MergeTree.region`).
"""

from __future__ import annotations

import heapq
import io
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from occseg.errors import FileFormatError
from occseg.io import atomic_write_bytes


@dataclass(frozen=True, eq=False)
class MergeTree:
    """The merge tree of a patch grid (Alg. 1's ``T``, 0-based) with its merge costs.

    Attributes
    ----------
    children
        ``(n-1)×2`` int64: row ``k`` holds the two nodes merged into node ``n + k``.
    costs
        ``(n-1,)`` float64: the Ward cost (Eq. 4) of merge ``k``.
    grid
        ``(rows, cols)`` of the patch grid, ``rows · cols = n``; leaf ``i`` is the patch at
        ``divmod(i, cols)``.
    """

    children: np.ndarray
    costs: np.ndarray
    grid: tuple[int, int]

    def __post_init__(self) -> None:
        n = self.grid[0] * self.grid[1]
        if self.children.shape != (n - 1, 2) or self.costs.shape != (n - 1,):
            raise ValueError(
                f"a tree of a {self.grid[0]}×{self.grid[1]} grid has {n - 1} merges; got children "
                f"{self.children.shape} and costs {self.costs.shape}"
            )

    @property
    def n_leaves(self) -> int:
        """Number of patches ``n``."""
        return self.grid[0] * self.grid[1]

    @property
    def root(self) -> int:
        """The node of the whole grid, ``2n - 2``."""
        return 2 * self.n_leaves - 2

    @cached_property
    def _layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(sizes, starts, order)``: node ``v`` covers the leaves
        ``order[starts[v] : starts[v] + sizes[v]]`` (a depth-first leaf order)."""
        n = self.n_leaves
        sizes = np.ones(2 * n - 1, np.int64)
        for k, (a, b) in enumerate(self.children.tolist()):
            sizes[n + k] = sizes[a] + sizes[b]
        starts = np.zeros(2 * n - 1, np.int64)
        for k in range(n - 2, -1, -1):  # parents before children: a parent's index is larger
            a, b = self.children[k]
            starts[a] = starts[n + k]
            starts[b] = starts[n + k] + sizes[a]
        order = np.empty(n, np.int64)
        order[starts[:n]] = np.arange(n)
        return sizes, starts, order

    @property
    def sizes(self) -> np.ndarray:
        """``(2n-1,)`` int64: the number of patches of every node (``s`` of Eq. 2)."""
        return self._layout[0]

    @cached_property
    def parents(self) -> np.ndarray:
        """``(2n-1,)`` int64: the parent of every node, -1 for the root."""
        parent = np.full(2 * self.n_leaves - 1, -1, np.int64)
        parent[self.children.ravel()] = np.repeat(np.arange(self.n_leaves - 1), 2) + self.n_leaves
        return parent

    def leaves(self, node: int) -> np.ndarray:
        """The patch indices (leaves) of ``node``'s subtree."""
        sizes, starts, order = self._layout
        return order[starts[node] : starts[node] + sizes[node]]

    def contains(self, outer: int, inner: int) -> bool:
        """Whether ``inner`` lies in ``outer``'s subtree (a node contains itself)."""
        sizes, starts, _ = self._layout
        first, end = starts[outer], starts[outer] + sizes[outer]
        return bool(first <= starts[inner] and starts[inner] + sizes[inner] <= end)

    def region(self, node: int) -> np.ndarray:
        """``rows × cols`` bool mask of ``node``'s patches."""
        mask = np.zeros(self.n_leaves, bool)
        mask[self.leaves(node)] = True
        return mask.reshape(self.grid)

    def pixel_mask(self, node: int, shape: tuple[int, int]) -> np.ndarray:
        """``node``'s region upsampled (nearest) from the patch grid to an ``H×W`` bool mask.

        Pixel ``(y, x)`` takes the patch ``(y · rows // H, x · cols // W)``, so each patch
        covers an equal share of the image whatever its size.
        """
        h, w = shape
        rows, cols = self.grid
        ri = np.arange(h) * rows // h
        ci = np.arange(w) * cols // w
        return self.region(node)[np.ix_(ri, ci)]


def grid_edges(rows: int, cols: int) -> np.ndarray:
    """The 4-connectivity of a ``rows × cols`` patch grid as an ``E×2`` int64 array of
    row-major patch indices (each pair once, smaller index first)."""
    idx = np.arange(rows * cols).reshape(rows, cols)
    right = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)
    return np.concatenate([right, down]).astype(np.int64)


def merge_tree(features: np.ndarray, *, edges: np.ndarray | None = None) -> MergeTree:
    """Merge the patches of a feature grid bottom-up into a Ward merge tree (Alg. 1, Eq. 1-4).

    Parameters
    ----------
    features
        ``rows × cols × c`` patch features (any float dtype; computed in float64).
    edges
        ``E×2`` pairs of row-major patch indices that are connected. Default: the grid's
        4-connectivity (:func:`grid_edges`), as in the paper. All pairs (``np.triu_indices``)
        give unconstrained Ward clustering.

    Returns
    -------
    MergeTree
        ``n - 1`` merges; ties in cost go to the pair of smaller indices.

    Raises
    ------
    ValueError
        If there are fewer than two patches, an edge is out of range or a loop, or the graph of
        ``edges`` is not connected (some regions could never merge).

    Examples
    --------
    >>> f = np.array([[[0.0], [0.1], [5.0]]])  # one row of three patches
    >>> t = merge_tree(f)
    >>> t.children.tolist(), t.costs.round(3).tolist()  # 0 + 1 first; then {0, 1} + 2
    ([[0, 1], [2, 3]], [0.005, 16.335])
    """
    if features.ndim != 3:
        raise ValueError(f"features must be rows × cols × c, got shape {features.shape}")
    rows, cols, c = features.shape
    n = rows * cols
    if n < 2:
        raise ValueError("a merge tree needs at least two patches")
    edges = grid_edges(rows, cols) if edges is None else np.asarray(edges, np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2 or edges.size == 0:
        raise ValueError(f"edges must be a non-empty E×2 array, got shape {edges.shape}")
    if edges.min() < 0 or edges.max() >= n or np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError(f"edges must join two different patches among 0..{n - 1}")
    centres = np.empty((2 * n - 1, c))
    centres[:n] = features.reshape(n, c)
    sizes = np.zeros(2 * n - 1)
    sizes[:n] = 1.0
    alive = [True] * n + [False] * (n - 1)  # lists: scalar access is faster than NumPy's
    size_of = [1.0] * n + [0.0] * (n - 1)
    neighbours: list[set[int]] = [set() for _ in range(n)]
    lo, hi = edges.min(1), edges.max(1)
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    diff = centres[lo] - centres[hi]
    cost = 0.5 * np.einsum("ij,ij->i", diff, diff)  # Eq. 4 with s_A = s_B = 1
    heap = list(zip(cost.tolist(), lo.tolist(), hi.tolist(), strict=True))
    heapq.heapify(heap)
    children: list[tuple[int, int]] = []
    costs: list[float] = []
    pop, push, reduce, take = heapq.heappop, heapq.heappush, np.add.reduce, centres.take
    for new in range(n, 2 * n - 1):
        while True:
            if not heap:
                raise ValueError("the patch graph is not connected; some regions cannot merge")
            cost_ab, a, b = pop(heap)
            if alive[a] and alive[b]:  # lazy deletion: pairs of merged regions are stale
                break
        children.append((a, b))
        costs.append(cost_ab)
        size = size_of[a] + size_of[b]
        centres[new] = (size_of[a] * centres[a] + size_of[b] * centres[b]) / size  # Eq. 3
        sizes[new] = size_of[new] = size
        alive[a] = alive[b] = False
        alive[new] = True
        around = neighbours[a] | neighbours[b]
        around.discard(a)
        around.discard(b)
        neighbours[a].clear()
        neighbours[b].clear()
        for m in around:
            nb = neighbours[m]
            nb.discard(a)
            nb.discard(b)
            nb.add(new)
        neighbours.append(around)
        if around:
            near = np.fromiter(around, np.intp, len(around))
            diff = take(near, 0)
            diff -= centres[new]
            diff *= diff
            s_m = sizes.take(near)
            cost = reduce(diff, 1) * (s_m * size / (s_m + size))  # Eq. 4
            for cm, m in zip(cost.tolist(), near.tolist(), strict=True):
                push(heap, (cm, m, new))
    return MergeTree(np.array(children, np.int64), np.array(costs), (rows, cols))


def save_tree(path: str | os.PathLike, tree: MergeTree) -> None:
    """Write ``tree`` (children, costs, grid; a few tens of kB) as ``.npz``, atomically."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        children=tree.children.astype(np.int32),
        costs=tree.costs.astype(np.float64),
        grid=np.asarray(tree.grid, np.int64),
    )
    atomic_write_bytes(path, buf.getvalue())


def load_tree(path: str | os.PathLike) -> MergeTree:
    """Read a tree written by :func:`save_tree`.

    Raises
    ------
    FileFormatError
        If the file is not such a tree.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            grid = data["grid"].tolist()
            return MergeTree(
                data["children"].astype(np.int64),
                data["costs"].astype(np.float64),
                (int(grid[0]), int(grid[1])),
            )
    except (OSError, KeyError, ValueError, IndexError) as exc:
        raise FileFormatError(
            f"{path} is not a merge tree written by occseg ({exc}); compute it again"
        ) from None
