"""Occlusion boundaries with orientation from ray-cast geometry (Mesh2OB, paper 000 §3.3).

Every 4-neighbour pixel pair ``(p, q)`` is tested once:

* different objects (the room is object 0; rays that hit nothing are a separate "void") → an
  occlusion event;
* the same object → an event when the visible surface is not continuous from p to q, decided on
  the mesh by :func:`occseg.synth.continuity.surface_continuous` (self-occlusion at contour
  generators), never by a depth or normal threshold.

At an event the closer pixel (smaller depth) is the occluder and is marked. Orientation is given in
two forms: ``occludes[y, x, k]`` says pixel ``(y, x)`` occludes its left, right, top or bottom
neighbour (``k = 0..3``, the |D| = 4 ground truth of paper 001, supplement 1.3), and ``angle`` is
the PIOD boundary direction with the occluder on its left (see :func:`boundary_angle`). This map
is the Mesh2OB one and agrees with the published Mesh2Occ tool.

An event between different objects where the two surfaces touch in 3-D (an object standing on the
floor or on another object) is a *contact*, decided on the meshes by
:func:`occseg.synth.contact.surfaces_touch`: the surfaces meet between the two rays, depth is
continuous, and which pixel is closer flips with sub-pixel differences, so it carries no occlusion
order. Contacts stay in ``occludes`` / ``ob`` and are also reported as their own pixel class
(``contact``). The instance-level order ``occlusions`` uses the *separated* events only; where
separated events point both ways between two objects, the direction with the longer separated
border (more events, then the larger summed relative depth step) is kept, so no pair is listed
twice. Objects that truly occlude each other both ways (interlocking or interpenetrating, such as
a table whose legs pass through another table's top) keep only their dominant direction: the
order has no 2-cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from occseg.synth.contact import surfaces_touch
from occseg.synth.continuity import surface_continuous

LEFT, RIGHT, TOP, BOTTOM = 0, 1, 2, 3
#: Image-plane unit vectors ``(dx, dy)`` (y down) towards the left, right, top, bottom neighbour.
DIRECTIONS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])


@dataclass(frozen=True, eq=False)
class Boundaries:
    """Occlusion-boundary ground truth of one view.

    Attributes
    ----------
    occludes
        ``H×W×4 bool``: pixel occludes its left, right, top, bottom neighbour.
    ob
        ``H×W bool``: ``occludes.any(-1)``.
    contact
        ``H×W bool``: the boundary pixels whose every event is a contact (two objects touching,
        no separated occlusion). ``contact ⊆ ob``; ``ob & ~contact`` are the pixels with at least
        one separated occlusion event (self-occlusions included), so the two classes split ``ob``.
    angle
        ``H×W float32`` radians in ``(-π, π]``, NaN off the boundary (PIOD convention).
    occlusions
        Sorted ``(front_id, back_id)`` instance pairs with a separated occlusion event, at most
        one direction per pair (see the module notes).
    """

    occludes: np.ndarray
    ob: np.ndarray
    contact: np.ndarray
    angle: np.ndarray
    occlusions: list[tuple[int, int]]


def occlusion_boundaries(
    ids: np.ndarray,
    depth: np.ndarray,
    face: np.ndarray,
    lam: np.ndarray,
    directions: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    neighbour: np.ndarray,
    neighbour_edge: np.ndarray,
) -> Boundaries:
    """Occlusion events over all 4-neighbour pixel pairs, with orientation (paper 000 §3.3).

    Parameters
    ----------
    ids
        ``H×W int`` object id per pixel (0 = room), ``-1`` where the ray hits nothing.
    depth
        ``H×W`` depth along the optical axis (``inf`` for misses); decides which side is closer
        and gives the depth steps that break ties between directions.
    face
        ``H×W int`` global triangle id per pixel (``-1`` for misses).
    lam
        ``H×W`` ray parameter of the hit (hit point ``= lam · directions``).
    directions
        ``H×W×3`` camera-frame ray directions (``z = 1``: the contact test measures gaps in
        pixel footprints ``lam · |d_q − d_p|``).
    vertices, faces, neighbour, neighbour_edge
        The scene's triangles in camera coordinates and their edge adjacency
        (:func:`occseg.synth.topology.edge_neighbours`).

    Returns
    -------
    Boundaries
        The Mesh2OB map, its contact pixels and the occlusion order of separated events.
    """
    h, w = ids.shape
    occludes = np.zeros((h, w, 4), bool)
    touching = np.zeros((h, w, 4), bool)  # the flags of ``occludes`` that are contact events
    pairs: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    for axis in (1, 0):  # horizontal pairs (q right of p), then vertical (q below p)
        sl_p = (slice(None), slice(0, w - 1)) if axis == 1 else (slice(0, h - 1), slice(None))
        sl_q = (slice(None), slice(1, w)) if axis == 1 else (slice(1, h), slice(None))
        ip, iq = ids[sl_p], ids[sl_q]
        event = ip != iq
        same = ~event & (ip >= 0) & (face[sl_p] != face[sl_q])
        if same.any():
            cont = surface_continuous(
                vertices,
                faces,
                neighbour,
                neighbour_edge,
                face[sl_p][same],
                face[sl_q][same],
                directions[sl_p][same],
                directions[sl_q][same],
                lam[sl_q][same],
            )
            event[same] = ~cont
        p_front = depth[sl_p] <= depth[sl_q]
        k_p, k_q = (RIGHT, LEFT) if axis == 1 else (BOTTOM, TOP)
        at_p, at_q = (*sl_p, k_p), (*sl_q, k_q)
        occludes[at_p] = event & p_front
        occludes[at_q] = event & ~p_front
        cross = event & (ip != iq) & (ip >= 0) & (iq >= 0)
        touch = np.zeros_like(cross)
        touch[cross] = surfaces_touch(
            vertices,
            faces,
            neighbour,
            neighbour_edge,
            face[sl_p][cross],
            face[sl_q][cross],
            directions[sl_p][cross],
            directions[sl_q][cross],
            lam[sl_p][cross],
            lam[sl_q][cross],
        )
        touching[at_p] = touch & p_front
        touching[at_q] = touch & ~p_front
        sep = cross & ~touch
        front = np.where(p_front, ip, iq)[sep]
        back = np.where(p_front, iq, ip)[sep]
        pairs.append(np.stack([front, back], axis=1).astype(np.int64))
        near, far = np.minimum(depth[sl_p], depth[sl_q]), np.maximum(depth[sl_p], depth[sl_q])
        steps.append((far[sep] - near[sep]) / near[sep])
    ob = np.asarray(occludes.any(axis=2))
    contact = ob & ~(occludes & ~touching).any(axis=2)
    occlusions = resolve_pairs(np.concatenate(pairs), np.concatenate(steps))
    return Boundaries(
        occludes=occludes,
        ob=ob,
        contact=contact,
        angle=boundary_angle(occludes),
        occlusions=occlusions,
    )


def resolve_pairs(pairs: np.ndarray, steps: np.ndarray) -> list[tuple[int, int]]:
    """Instance-level occlusion order from separated events, one direction per object pair.

    Parameters
    ----------
    pairs
        ``(N, 2) int`` ``(front, back)`` ids of the separated occlusion events.
    steps
        ``(N,)`` relative depth step of each event (``far / near − 1``).

    Returns
    -------
    Sorted ``(front, back)`` pairs. Where events point both ways, the direction with more events
    (the longer separated border) is kept, then the one with the larger summed depth step; an
    exact tie lists neither direction (the geometry does not decide it).

    Examples
    --------
    >>> resolve_pairs(np.array([[1, 0], [1, 0], [0, 1], [2, 1]]), np.array([0.1, 0.2, 0.5, 0.3]))
    [(1, 0), (2, 1)]
    """
    if not len(pairs):
        return []
    keys, inv = np.unique(pairs, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    score = {
        (int(a), int(b)): (int(n), float(s))
        for (a, b), n, s in zip(
            keys, np.bincount(inv), np.bincount(inv, weights=steps), strict=True
        )
    }
    return [p for p, sc in score.items() if sc > score.get((p[1], p[0]), (0, 0.0))]


def boundary_angle(occludes: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """PIOD orientation angle from the per-pixel 4-neighbour occlusion flags.

    The occlusion normal ``n`` of a boundary pixel points from the occluder to the occludee: the
    sum of the unit vectors towards the neighbours it occludes (paper 001, supplement 1.3), averaged
    with nearby boundary pixels (Gaussian weights, ``sigma`` pixels) so that slanted boundaries get
    slanted angles; where the average disagrees with the pixel's own flags the pixel's own normal
    is kept. The boundary direction ``τ`` has the occluder on its left (PIOD, Wang & Yuille 2016):
    on screen (y down) ``τ = (n_y, -n_x)``. The angle is measured counter-clockwise from the image
    x axis with y pointing *up* (as in PIOD), i.e. ``θ = atan2(-τ_y, τ_x) = atan2(n_x, n_y)``, and
    conversely ``n ∝ (sin θ, cos θ)`` in image coordinates (x right, y down).

    Parameters
    ----------
    occludes
        ``H×W×4 bool`` (left, right, top, bottom).
    sigma
        Smoothing of the normal field along the boundary, pixels (0 for none).

    Returns
    -------
    ``H×W float32`` radians in ``(-π, π]``, NaN off the boundary.

    Examples
    --------
    A pixel that occludes only its bottom neighbour (occluder above) gives ``θ = 0``: the boundary
    runs to the right with the occluder on its left (above).

    >>> occ = np.zeros((1, 1, 4), bool); occ[0, 0, 3] = True
    >>> float(boundary_angle(occ, sigma=0)[0, 0])
    0.0
    """
    ob = np.asarray(occludes.any(axis=2))
    flags = occludes.astype(np.float64)
    nx = flags[..., RIGHT] - flags[..., LEFT]
    ny = flags[..., BOTTOM] - flags[..., TOP]
    if sigma > 0:
        weight = ndimage.gaussian_filter(ob.astype(np.float64), sigma, mode="constant")
        sx = ndimage.gaussian_filter(nx, sigma, mode="constant")
        sy = ndimage.gaussian_filter(ny, sigma, mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            sx, sy = sx / weight, sy / weight
        agree = (sx * nx + sy * ny) > 0
        use = ob & agree
        nx = np.where(use, sx, nx)
        ny = np.where(use, sy, ny)
    # A pixel that occludes two opposite neighbours only (a 1-pixel-wide occluder) has n = 0:
    # its side with the larger smoothed weight is unknown, so fall back to the first flag.
    zero = ob & (nx == 0) & (ny == 0)
    if zero.any():
        first = np.argmax(occludes, axis=2)
        nx = np.where(zero, DIRECTIONS[first, 0], nx)
        ny = np.where(zero, DIRECTIONS[first, 1], ny)
    angle = np.arctan2(nx, ny)
    angle = np.where(angle <= -np.pi, np.pi, angle)
    return np.where(ob, angle, np.nan).astype(np.float32)
