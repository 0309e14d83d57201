"""Ray-cast shading: Lambert + Blinn-Phong with point lights and hard shadows.

RGB is shaded from the exact per-pixel hits of :mod:`occseg.synth.raycast`, so the picture and the
ground truth (instances, triangles, boundaries) are aligned to the pixel by construction. Normals
are interpolated from vertex normals with barycentric weights, except across creases sharper than
:data:`CREASE_DEG` (box edges, cylinder rims stay sharp). Shadows cast one shadow ray per pixel and
light through the same Embree scene.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from occseg.synth.raycast import occluded

#: Corners whose vertex normal differs from the face normal by more than this use the face normal.
CREASE_DEG = 40.0


@dataclass(frozen=True, eq=False)
class Light:
    """A point light at world ``position`` with linear RGB ``color`` (intensity included)."""

    position: np.ndarray
    color: np.ndarray

    def to_json(self) -> dict:
        """JSON-ready description."""
        return {
            "position": np.round(np.asarray(self.position, float), 6).tolist(),
            "color": np.round(np.asarray(self.color, float), 6).tolist(),
        }


def corner_normals(vertex_normals: np.ndarray, faces: np.ndarray, face_normals: np.ndarray):
    """``(F, 3, 3)`` per-corner shading normals with crease handling (see module docstring)."""
    vn = vertex_normals[faces]
    cos = np.einsum("fkj,fj->fk", vn, face_normals)
    smooth = cos > np.cos(np.radians(CREASE_DEG))
    return np.where(smooth[:, :, None], vn, face_normals[:, None, :])


def barycentric(tri: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``(N, 3)`` of ``points`` in triangles ``tri`` ``(N, 3, 3)``."""
    v0 = tri[:, 1] - tri[:, 0]
    v1 = tri[:, 2] - tri[:, 0]
    v2 = points - tri[:, 0]
    d00 = np.einsum("ij,ij->i", v0, v0)
    d01 = np.einsum("ij,ij->i", v0, v1)
    d11 = np.einsum("ij,ij->i", v1, v1)
    d20 = np.einsum("ij,ij->i", v2, v0)
    d21 = np.einsum("ij,ij->i", v2, v1)
    den = d00 * d11 - d01 * d01
    den = np.where(np.abs(den) > 0, den, 1.0)
    b1 = (d11 * d20 - d01 * d21) / den
    b2 = (d00 * d21 - d01 * d20) / den
    return np.stack([1.0 - b1 - b2, b1, b2], axis=1)


def shade(
    points: np.ndarray,
    normals: np.ndarray,
    view_dirs: np.ndarray,
    albedo: np.ndarray,
    specular: np.ndarray,
    shininess: np.ndarray,
    lights_cam: list[Light],
    ambient: float,
    scene=None,
) -> np.ndarray:
    """Linear RGB radiance ``(N, 3)`` at camera-frame hit points.

    Parameters
    ----------
    points, normals
        ``(N, 3)`` camera-frame hit points and unit shading normals (facing the camera).
    view_dirs
        ``(N, 3)`` unit directions from the camera to the points.
    albedo
        ``(N, 3)`` linear RGB.
    specular, shininess
        ``(N,)`` Blinn-Phong parameters.
    lights_cam
        Lights with positions in camera coordinates.
    ambient
        Ambient term (fraction of the albedo).
    scene
        Embree scene (camera frame) for shadow rays; None disables shadows.
    """
    out = albedo * ambient
    offset = points + normals * 1e-4 * (1.0 + np.linalg.norm(points, axis=1, keepdims=True))
    for light in lights_cam:
        to_l = np.asarray(light.position, float)[None, :] - points
        dist = np.linalg.norm(to_l, axis=1)
        ldir = to_l / np.maximum(dist, 1e-9)[:, None]
        lam = np.einsum("ij,ij->i", normals, ldir)
        lit = lam > 0
        if scene is not None and lit.any():
            lit[lit] = ~occluded(scene, offset[lit], ldir[lit], dist[lit] * 0.999)
        atten = 1.0 / (1.0 + 0.05 * dist * dist)
        half = ldir - view_dirs
        half /= np.maximum(np.linalg.norm(half, axis=1), 1e-9)[:, None]
        spec = specular * np.maximum(np.einsum("ij,ij->i", normals, half), 0.0) ** shininess
        term = np.where(lit, atten, 0.0)
        color = np.asarray(light.color, float)[None, :]
        out = out + term[:, None] * color * (albedo * lam[:, None] + spec[:, None])
    return out


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Tone-map linear RGB to ``uint8`` sRGB-like values (clip, gamma 1/2.2)."""
    return np.rint(np.clip(linear, 0.0, 1.0) ** (1.0 / 2.2) * 255.0).astype(np.uint8)
