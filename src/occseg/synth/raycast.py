"""Exact first-hit ray casting with Embree (through ``embreex``).

The meshes of a scene are concatenated into one triangle soup in camera coordinates (camera at
the origin, which keeps Embree's float32 arithmetic well conditioned); the first hit of every
pixel ray gives the triangle seen at that pixel. Hit distances are then recomputed in float64 by
intersecting each ray with the plane of its triangle, so depth is exact to double precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh


@dataclass(frozen=True, eq=False)
class SceneGeometry:
    """All triangles of a scene in camera coordinates.

    Attributes
    ----------
    vertices
        ``(V, 3) float64`` camera-frame vertex positions.
    faces
        ``(F, 3) int64`` vertex indices (global).
    face_instance
        ``(F,) int32`` instance id of each face (0 = room).
    face_local
        ``(F,) int32`` index of each face inside its own mesh.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_instance: np.ndarray
    face_local: np.ndarray

    def embree_scene(self) -> rtcore_scene.EmbreeScene:
        """Build the Embree acceleration structure for these triangles."""
        scene = rtcore_scene.EmbreeScene()
        tris = self.vertices[self.faces].astype(np.float32)
        TriangleMesh(scene, np.ascontiguousarray(tris))
        return scene


def first_hits(
    geometry: SceneGeometry,
    directions: np.ndarray,
    scene: rtcore_scene.EmbreeScene | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cast rays from the camera centre; return the face hit and the exact ray parameter.

    Parameters
    ----------
    geometry
        The scene's triangles in camera coordinates.
    directions
        ``(N, 3)`` ray directions (camera frame, any length).
    scene
        A prebuilt Embree scene for ``geometry`` (built here if None).

    Returns
    -------
    face, lam
        ``(N,) int64`` global face id (``-1`` for a miss) and ``(N,) float64`` ray parameter
        ``λ`` with hit point ``λ·d`` (``inf`` for a miss).
    """
    if scene is None:
        scene = geometry.embree_scene()
    d = np.ascontiguousarray(directions, dtype=np.float64)
    origins = np.zeros((len(d), 3), np.float32)
    face = scene.run(origins, d.astype(np.float32)).astype(np.int64)
    lam = np.full(len(d), np.inf)
    hit = face >= 0
    tri = geometry.vertices[geometry.faces[face[hit]]]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    denom = np.einsum("ij,ij->i", normal, d[hit])
    num = np.einsum("ij,ij->i", normal, tri[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = num / denom
    # A ray grazing its triangle's plane has no stable plane intersection: keep Embree's value.
    bad = ~np.isfinite(exact) | (exact <= 0)
    if bad.any():
        rough = scene.run(origins[hit][bad], d[hit][bad].astype(np.float32), output=1)["tfar"]
        exact[bad] = rough.astype(np.float64)
    lam[hit] = exact
    return face, lam


def occluded(
    scene: rtcore_scene.EmbreeScene,
    origins: np.ndarray,
    directions: np.ndarray,
    max_distance: np.ndarray,
) -> np.ndarray:
    """Shadow rays: True where something lies between ``origin`` and ``origin + dist·dir``.

    ``directions`` must be unit vectors; ``max_distance`` is ``(N,)``.
    """
    if len(origins) == 0:
        return np.zeros(0, bool)
    res = scene.run(
        np.ascontiguousarray(origins, dtype=np.float32),
        np.ascontiguousarray(directions, dtype=np.float32),
        dists=np.ascontiguousarray(max_distance, dtype=np.float32),
        query="OCCLUDED",
    )
    return np.asarray(res) >= 0
