"""Edge adjacency of triangle meshes: which triangle lies across each edge.

Vertices are identified by position (exact equality), so meshes whose vertices were split at
texture or normal seams are still connected across those seams. An edge shared by exactly two
triangles links them; border edges and non-manifold edges (three or more triangles) link nothing.
"""

from __future__ import annotations

import numpy as np


def edge_neighbours(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangle across each edge, for every triangle of a mesh (or a soup of meshes).

    Local edge ``k`` of triangle ``f`` runs from ``faces[f, k]`` to ``faces[f, (k + 1) % 3]``.

    Parameters
    ----------
    vertices
        ``(V, 3)`` vertex positions.
    faces
        ``(F, 3)`` integer vertex indices.

    Returns
    -------
    neighbour, neighbour_edge
        ``(F, 3) int64`` arrays: the triangle across local edge ``k`` (``-1`` on a border or a
        non-manifold edge) and that edge's local index inside the neighbour.

    Examples
    --------
    >>> v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], float)
    >>> nb, _ = edge_neighbours(v, np.array([[0, 1, 2], [1, 3, 2]]))
    >>> nb.tolist()
    [[-1, 1, -1], [-1, -1, 0]]
    """
    faces = np.asarray(faces, dtype=np.int64)
    n_faces = len(faces)
    neighbour = np.full((n_faces, 3), -1, np.int64)
    neighbour_edge = np.full((n_faces, 3), -1, np.int64)
    if n_faces == 0:
        return neighbour, neighbour_edge
    _, canon = np.unique(np.asarray(vertices, dtype=np.float64), axis=0, return_inverse=True)
    canon = canon.reshape(-1).astype(np.int64)
    cf = canon[faces]
    a = cf.reshape(-1)
    b = np.roll(cf, -1, axis=1).reshape(-1)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (int(canon.max()) + 1) + hi
    key[lo == hi] = -1 - np.arange(int((lo == hi).sum()))  # degenerate edges: unique, unmatched
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    counts = np.diff(np.r_[starts, len(ks)])
    pair = starts[counts == 2]
    e0, e1 = order[pair], order[pair + 1]
    f0, k0 = np.divmod(e0, 3)
    f1, k1 = np.divmod(e1, 3)
    neighbour[f0, k0], neighbour_edge[f0, k0] = f1, k1
    neighbour[f1, k1], neighbour_edge[f1, k1] = f0, k0
    return neighbour, neighbour_edge
