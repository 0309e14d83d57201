"""Is the visible surface continuous between two neighbouring pixels? (self-occlusion test)

Mesh2OB (paper 000, sections 1, 3.1 and 3.3) defines an occlusion boundary geometrically: a place
in the image where the visible surface point jumps, which happens between objects and, inside one
object, at self-occlusions (contour generators such as a torus's inner rim, or a chair leg in front
of its seat). For two 4-neighbour pixels ``p``, ``q`` that see the same object we decide this from
the mesh itself, never from depth or normal thresholds:

*the two hits lie on one continuous sheet of the visible surface iff the lift of the image segment
from p to q, walked across the mesh from p's triangle through shared edges, arrives at q's
triangle.*

The image segment between the two pixel centres is the wedge of the plane ``Π`` through the camera
centre spanned by the two rays ``d_p`` and ``d_q``. Its lift is the curve ``Π ∩ surface`` traced
from the hit ``X_p`` towards the ray ``d_q``: inside a triangle it is a straight piece between the
two edges that ``Π`` cuts; at an edge it continues into the triangle across that edge. Points of
``Π`` are written ``X = a·d_p + b·d_q``; ``t = b / (a + b)`` runs from 0 on ray ``p`` to 1 on ray
``q`` and is monotone along any line of ``Π`` in front of the camera. The walk

* succeeds on reaching q's triangle (or a triangle whose plane passes through ``X_q`` itself, for
  hits that fall on a shared edge or vertex, up to float32 ray-casting error);
* fails when the lift turns back (``t`` decreases: the sheet folds over a contour generator and
  continues on the back side), overshoots ray ``q`` on another triangle (the sheet continues but q
  sees something in front of or behind it), or reaches a border / non-manifold edge (the sheet
  ends).

Any pixel footprint works: the walk crosses as many triangles as the segment's lift covers, so
dense meshes where neighbouring pixels see triangles several rings apart are handled exactly, and
flat or smoothly curved visible surfaces never fail. Because the walk uses 3-D plane tests it is
valid for triangles that extend behind the camera (room walls) and is two-sided (open meshes and
inconsistent winding are fine). Vertices lying exactly on ``Π`` are treated as being on its
positive side (symbolic perturbation), consistently for every triangle sharing them.

All pairs are walked in lock-step with NumPy; there is no Python loop over pixels, only over walk
steps (the number of triangles the longest lift crosses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_NEXT = np.array([1, 2, 0])


@dataclass(frozen=True, eq=False)
class Wedges:
    """The planes ``Π`` spanned by the rays ``d_p``, ``d_q`` of ``M`` pixel pairs (module notes).

    Points of ``Π`` are ``X = a·d_p + b·d_q``; :meth:`coords` gives ``(a, b)`` up to a common
    positive factor (the Gram determinant), which leaves their signs and ``t = b / (a + b)`` as
    they are.
    """

    dp: np.ndarray
    dq: np.ndarray
    normal: np.ndarray
    g11: np.ndarray
    g12: np.ndarray
    g22: np.ndarray

    @classmethod
    def between(cls, dir_p: np.ndarray, dir_q: np.ndarray) -> Wedges:
        """The wedges of ``(M, 3)`` ray directions ``dir_p``, ``dir_q``."""
        dp = np.asarray(dir_p, np.float64)
        dq = np.asarray(dir_q, np.float64)
        return cls(
            dp,
            dq,
            np.cross(dp, dq),
            np.einsum("ij,ij->i", dp, dp),
            np.einsum("ij,ij->i", dp, dq),
            np.einsum("ij,ij->i", dq, dq),
        )

    def coords(self, pts: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)`` of points ``pts`` (``(A, ..., 3)``, in the wedges ``idx``) in ``Π``."""
        extra = (1,) * (pts.ndim - 2)
        u = np.einsum("a...j,aj->a...", pts, self.dp[idx])
        v = np.einsum("a...j,aj->a...", pts, self.dq[idx])
        g11, g12, g22 = (g[idx].reshape(-1, *extra) for g in (self.g11, self.g12, self.g22))
        return g22 * u - g12 * v, g11 * v - g12 * u

    def lift_exit(
        self, tri: np.ndarray, entry: np.ndarray, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where the lift of the image segment leaves each triangle ``tri`` (``(A, 3, 3)``).

        The lift ``Π ∩ triangle`` enters across local edge ``entry`` (``-1`` for the starting
        triangle, where it may leave across any edge) and leaves across the edge of largest
        ``t``. Returns that edge ``(A,)``, its ``t`` (``-inf`` where ``Π`` leaves the triangle
        nowhere in front of the camera), the exit point ``(A, 3)`` and its ``a`` coordinate.
        """
        s = np.einsum("akj,aj->ak", tri, self.normal[idx])
        pos = s >= 0.0
        cross = pos != pos[:, _NEXT]
        denom = np.where(cross, s - s[:, _NEXT], 1.0)
        w = np.where(cross, s / denom, 0.0)
        pts = tri + w[:, :, None] * (tri[:, _NEXT] - tri)  # crossing point on each edge
        a, b = self.coords(pts, idx)
        total = a + b  # same sign as the true a + b (the Gram determinant is positive)
        valid = cross & (total > 0)
        t = np.where(valid, b / np.where(valid, total, 1.0), -np.inf)
        cand = np.where(entry[:, None] >= 0, cross & (np.arange(3) != entry[:, None]), valid)
        t_c = np.where(cand, t, -np.inf)
        exit_k = np.argmax(t_c, axis=1)
        rows = np.arange(len(tri))
        return exit_k, t_c[rows, exit_k], pts[rows, exit_k], a[rows, exit_k]


def surface_continuous(
    vertices: np.ndarray,
    faces: np.ndarray,
    neighbour: np.ndarray,
    neighbour_edge: np.ndarray,
    face_p: np.ndarray,
    face_q: np.ndarray,
    dir_p: np.ndarray,
    dir_q: np.ndarray,
    lam_q: np.ndarray,
    *,
    max_steps: int = 10_000,
) -> np.ndarray:
    """Decide, for pixel pairs on one object, whether their hits are surface neighbours.

    See the module docstring for the rule (Mesh2OB, paper 000 §3.1/§3.3 definition of OB).

    Parameters
    ----------
    vertices, faces
        ``(V, 3)`` camera-frame positions (camera at the origin) and ``(F, 3)`` vertex indices.
    neighbour, neighbour_edge
        From :func:`occseg.synth.topology.edge_neighbours`.
    face_p, face_q
        ``(M,)`` triangles seen at p and q.
    dir_p, dir_q
        ``(M, 3)`` ray directions of p and q.
    lam_q
        ``(M,)`` ray parameter of q's hit (``X_q = lam_q · dir_q``).
    max_steps
        Safety cap on walk steps; pairs still walking then count as continuous.

    Returns
    -------
    ``(M,) bool``: True where the visible surface is continuous from p to q (no occlusion).
    """
    m = len(face_p)
    result = np.ones(m, bool)
    if m == 0:
        return result
    wedges = Wedges.between(dir_p, dir_q)
    dp, dq = wedges.dp, wedges.dq

    idx = np.arange(m)
    face = np.asarray(face_p, np.int64).copy()
    target = np.asarray(face_q, np.int64)
    entry = np.full(m, -1, np.int64)
    # X_p sits at t = 0, but Embree's float32 hit may put it a hair outside p's triangle: the first
    # step never counts as a fold.
    t_in = np.full(m, -np.inf)
    lam_q = np.asarray(lam_q, np.float64)
    # Two planes "pass through X_q" if they meet ray q within 1% of the pixel footprint there:
    # this only absorbs float32 ray-casting error at shared edges, it is no depth threshold.
    tol_q = 0.01 * np.linalg.norm(dq - dp, axis=1) / np.linalg.norm(dq, axis=1)
    for _ in range(max_steps):
        done = face == target[idx]
        idx, face, entry, t_in = idx[~done], face[~done], entry[~done], t_in[~done]
        if len(idx) == 0:
            break
        tri = vertices[faces[face]]  # (A, 3, 3)
        exit_k, t_out, _, _ = wedges.lift_exit(tri, entry, idx)
        fold = ~np.isfinite(t_out) | (t_out < t_in - 1e-9)
        over = ~fold & (t_out > 1.0)
        stop_ok = np.zeros(len(idx), bool)
        if over.any():
            # The sheet spans ray q on another triangle: continuous only if it passes through X_q
            # itself (q's hit lies on an edge or vertex shared with this triangle).
            tri_o = tri[over]
            nrm = np.cross(tri_o[:, 1] - tri_o[:, 0], tri_o[:, 2] - tri_o[:, 0])
            dqo = dq[idx[over]]
            with np.errstate(divide="ignore", invalid="ignore"):
                lam_f = np.einsum("ij,ij->i", nrm, tri_o[:, 0]) / np.einsum("ij,ij->i", nrm, dqo)
            lq = lam_q[idx[over]]
            stop_ok[over] = np.abs(lam_f - lq) <= tol_q[idx[over]] * lq
        nxt = neighbour[face, exit_k]
        border = ~fold & ~over & (nxt < 0)
        failed = fold | (over & ~stop_ok) | border
        result[idx[failed]] = False
        keep = ~(fold | over | border)
        idx = idx[keep]
        entry = neighbour_edge[face[keep], exit_k[keep]]
        face = nxt[keep]
        t_in = t_out[keep]
    return result
