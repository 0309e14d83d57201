"""Do two different surfaces touch where the image passes from one to the other? (contact test)

Between two 4-neighbour pixels ``p``, ``q`` that see different objects (the room included) the
Mesh2OB map (paper 000, §3.1 and §3.3) marks an occlusion event on the closer pixel. Where an
object stands on the floor or on another object the two surfaces *meet* in 3-D along a contact
line: the visible surface is continuous in depth across the id change, and which pixel centre is
closer is decided by a sub-pixel difference, so such an event says nothing about occlusion order.
Paper 000 (§1) adopts the definition of its reference [62]: a piece of OB is an occlusion event
caused by the 3-D surfaces on either side of it. We read an event where neither surface passes
behind the other (they touch) as no occlusion *between the two objects*; the OB map keeps it as
Mesh2OB does, and this module tells these contact events from separated ones, on the meshes.

With the notation of :mod:`occseg.synth.continuity` (the plane ``Π`` through the camera centre
spanned by the rays ``d_p``, ``d_q``; ``t`` runs from 0 on ray p to 1 on ray q), the *lift* of
p's surface is the curve ``Π ∩ surface`` walked on p's mesh from the hit ``X_p`` towards ray q,
across shared edges, until it folds over a contour generator, ends at a border edge or reaches
ray q; the lift of q's surface is walked the same way from ``X_q`` towards ray p. Both are
polylines in ``Π``. *The two surfaces touch iff their lifts come within ``gap`` pixel
footprints of each other.*

* At a contact line the two lifts meet at the contact point, which lies between the two rays
  (possibly on a face that no pixel centre sees, such as the sliver of a box side at grazing
  incidence).
* At an occlusion the occluder's lift ends (fold or border) at its contour point, and the
  occluded surface's lift passes behind it: their distance is the true 3-D gap between the
  occluder's contour and the surface behind, measured in ``Π``. A face seen at grazing incidence
  is no contact with the wall behind, although its plane reaches the wall within one pixel: its
  mesh ends first.

``gap`` is in units of the pixel footprint ``z·|d_q − d_p|`` at the depth ``z`` of the closer hit:
two surfaces nearer than half a footprint cannot be told apart by rays through the pixel centres,
so they touch at the image's resolution (an object resting on a surface, or a tangent contact
such as a ball or a lying torus on the floor close to its contact point).
"""

from __future__ import annotations

import numpy as np

from occseg.synth.continuity import Wedges

#: Surfaces closer than this many pixel footprints touch (see the module notes).
TOUCH_GAP = 0.5
#: Segment pairs compared at once.
_CHUNK = 1 << 18


def lift_segments(
    vertices: np.ndarray,
    faces: np.ndarray,
    neighbour: np.ndarray,
    neighbour_edge: np.ndarray,
    wedges: Wedges,
    face_p: np.ndarray,
    lam_p: np.ndarray,
    *,
    max_steps: int = 10_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lift of p's surface towards ray q as line segments (module notes).

    Parameters
    ----------
    vertices, faces, neighbour, neighbour_edge
        The scene's triangles in camera coordinates and their edge adjacency
        (:func:`occseg.synth.topology.edge_neighbours`; the walk never leaves p's mesh).
    wedges
        The planes ``Π`` of the ``M`` pixel pairs (p first).
    face_p, lam_p
        ``(M,)`` triangle and ray parameter of p's hit (``X_p = lam_p · d_p``).
    max_steps
        Safety cap on walk steps (the lift is cut there).

    Returns
    -------
    pair, start, end
        ``(S,)`` pair index of each segment and its ``(S, 3)`` end points, one segment per
        triangle crossed, the last one cut at ray q.
    """
    idx = np.arange(len(face_p))
    x_in = np.asarray(lam_p, np.float64)[:, None] * wedges.dp
    a_in, _ = wedges.coords(x_in, idx)
    face = np.asarray(face_p, np.int64)
    entry = np.full(len(idx), -1, np.int64)
    t_in = np.full(len(idx), -np.inf)  # X_p may lie a hair outside its triangle (see continuity)
    pairs, starts, ends = [], [], []
    for _ in range(max_steps):
        if len(idx) == 0:
            break
        exit_k, t_out, x_out, a_out = wedges.lift_exit(vertices[faces[face]], entry, idx)
        fold = ~np.isfinite(t_out) | (t_out < t_in - 1e-9)
        over = ~fold & (t_out > 1.0)
        # Cut the piece inside this triangle at ray q (t = 1 where a = 0; a_in ≥ 0 > a_out).
        w = np.where(over, a_in / np.where(over, a_in - a_out, 1.0), 1.0)
        go = ~fold
        pairs.append(idx[go])
        starts.append(x_in[go])
        ends.append(x_in[go] + w[go, None] * (x_out[go] - x_in[go]))
        nxt = neighbour[face, exit_k]
        keep = go & ~over & (nxt >= 0)
        idx, x_in, a_in = idx[keep], x_out[keep], a_out[keep]
        entry = neighbour_edge[face[keep], exit_k[keep]]
        face = nxt[keep]
        t_in = t_out[keep]
    if not pairs:
        return np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3))
    return np.concatenate(pairs), np.concatenate(starts), np.concatenate(ends)


def _point_segment(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``x`` to segments ``[a, b]`` (rows)."""
    ab = b - a
    den = np.einsum("ij,ij->i", ab, ab)
    s = np.einsum("ij,ij->i", x - a, ab) / np.where(den > 0, den, 1.0)
    foot = a + np.clip(s, 0.0, 1.0)[:, None] * ab
    return np.linalg.norm(x - foot, axis=1)


def segment_distance(
    p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray, normal: np.ndarray
) -> np.ndarray:
    """Distance between coplanar segments ``[p0, p1]`` and ``[q0, q1]`` (rows; plane ``normal``).

    Zero where they cross, else the smallest end-point-to-segment distance.

    Examples
    --------
    >>> z, n = np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]])
    >>> segment_distance(z, z + [2, 0, 0], z + [1, -1, 0], z + [1, 1, 0], n).tolist()
    [0.0]
    >>> segment_distance(z, z + [2, 0, 0], z + [3, 1, 0], z + [3, 2, 0], n).round(3).tolist()
    [1.414]
    """

    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", np.cross(b - a, c - a), normal)

    cross = (side(p0, p1, q0) * side(p0, p1, q1) < 0) & (side(q0, q1, p0) * side(q0, q1, p1) < 0)
    ends = np.minimum(
        np.minimum(_point_segment(p0, q0, q1), _point_segment(p1, q0, q1)),
        np.minimum(_point_segment(q0, p0, p1), _point_segment(q1, p0, p1)),
    )
    return np.where(cross, 0.0, ends)


def surfaces_touch(
    vertices: np.ndarray,
    faces: np.ndarray,
    neighbour: np.ndarray,
    neighbour_edge: np.ndarray,
    face_p: np.ndarray,
    face_q: np.ndarray,
    dir_p: np.ndarray,
    dir_q: np.ndarray,
    lam_p: np.ndarray,
    lam_q: np.ndarray,
    *,
    gap: float = TOUCH_GAP,
) -> np.ndarray:
    """Decide, for pixel pairs on two different surfaces, whether the surfaces touch there.

    See the module docstring for the rule: the lifts of the two surfaces along the image segment
    from p to q come within ``gap`` pixel footprints of each other.

    Parameters
    ----------
    vertices, faces, neighbour, neighbour_edge
        The scene's triangles in camera coordinates and their edge adjacency.
    face_p, face_q
        ``(M,)`` triangles seen at p and q.
    dir_p, dir_q
        ``(M, 3)`` ray directions of p and q (camera frame, ``z = 1``).
    lam_p, lam_q
        ``(M,)`` ray parameters of the hits (``X = lam · dir``; the depth for ``z = 1``).
    gap
        Largest distance between the surfaces, in pixel footprints, that counts as touching.

    Returns
    -------
    ``(M,) bool``: True where the two surfaces touch (a contact event, no occlusion).

    Examples
    --------
    A wall standing on a floor, seen from above: the ray just above its foot sees the wall, the
    one just below sees the floor, and the two surfaces meet in between. Lifted by 0.2 the wall
    floats: the ray just below its foot sees the floor behind it, a gap of 4 pixel footprints.

    >>> from occseg.synth.topology import edge_neighbours
    >>> floor = [[-1, 1, 1], [1, 1, 1], [1, 1, 9], [-1, 1, 9]]  # y = 1 (y points down)
    >>> wall = [[-1, 1, 5], [1, 1, 5], [1, -2, 5], [-1, -2, 5]]  # z = 5, foot on the floor
    >>> f = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    >>> def touch(lift, yp, yq, fq):  # ray (0, yp, 1) hits wall face 2, (0, yq, 1) floor face fq
    ...     v = np.array(floor + [[x, y - lift, z] for x, y, z in wall], float)
    ...     nb, nbe = edge_neighbours(v, f)
    ...     dp, dq = np.array([[0, yp, 1.0]]), np.array([[0, yq, 1.0]])
    ...     return surfaces_touch(v, f, nb, nbe, [2], [fq], dp, dq, [5.0], [1 / yq]).tolist()
    >>> touch(0.0, 0.19, 0.21, 0), touch(0.2, 0.15, 0.17, 1)
    ([True], [False])
    """
    fp = np.asarray(face_p, np.int64)
    fq = np.asarray(face_q, np.int64)
    lp = np.asarray(lam_p, np.float64)
    lq = np.asarray(lam_q, np.float64)
    m = len(fp)
    fwd = Wedges.between(dir_p, dir_q)
    back = Wedges.between(fwd.dq, fwd.dp)
    tol = gap * np.minimum(lp, lq) * np.linalg.norm(fwd.dq - fwd.dp, axis=1)
    mesh = (vertices, faces, neighbour, neighbour_edge)
    pa, a0, a1 = lift_segments(*mesh, fwd, fp, lp)
    pb, b0, b1 = lift_segments(*mesh, back, fq, lq)
    # Every segment of p's lift against every segment of q's lift of the same pixel pair.
    order = np.argsort(pb, kind="stable")
    pb, b0, b1 = pb[order], b0[order], b1[order]
    count_b = np.bincount(pb, minlength=m)
    first_b = np.cumsum(count_b) - count_b
    reps = count_b[pa]
    ia = np.repeat(np.arange(len(pa)), reps)
    ib = np.repeat(first_b[pa], reps) + np.arange(len(ia)) - np.repeat(np.cumsum(reps) - reps, reps)
    touch = np.zeros(m, bool)
    for lo in range(0, len(ia), _CHUNK):  # bounded memory on meshes denser than the pixels
        ca, cb = ia[lo : lo + _CHUNK], ib[lo : lo + _CHUNK]
        dist = segment_distance(a0[ca], a1[ca], b0[cb], b1[cb], fwd.normal[pa[ca]])
        touch[pa[ca[dist <= tol[pa[ca]]]]] = True
    return touch
