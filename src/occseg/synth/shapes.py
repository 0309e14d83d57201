"""Procedural object meshes for synthetic indoor scenes.

Every builder takes a ``numpy.random.Generator`` and returns a watertight mesh in its own frame:
centred on the z axis, resting on ``z = 0``, metres. Composites (tables, chairs) are boolean unions
of their parts (manifold3d), so legs, seat and back form one connected surface: where a leg meets a
seat the surface is continuous (no false boundary), and a leg in front of the seat is a genuine
self-occlusion that the mesh walk of :mod:`occseg.synth.continuity` finds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import trimesh


def _rest_on_floor(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
    return mesh


def _union(parts: list[trimesh.Trimesh]) -> trimesh.Trimesh:
    try:
        merged = trimesh.boolean.union(parts, engine="manifold")
    except Exception:  # pragma: no cover - manifold missing: fall back to separate parts
        merged = trimesh.util.concatenate(parts)
    return _rest_on_floor(merged)


def box(rng: np.random.Generator) -> trimesh.Trimesh:
    """A box, 0.15-0.8 m per side."""
    return _rest_on_floor(trimesh.creation.box(rng.uniform(0.15, 0.8, size=3)))


def cylinder(rng: np.random.Generator) -> trimesh.Trimesh:
    """An upright cylinder (sometimes lying on its side)."""
    r, h = rng.uniform(0.08, 0.3), rng.uniform(0.15, 0.9)
    mesh = trimesh.creation.cylinder(radius=r, height=h, sections=int(rng.integers(24, 49)))
    if rng.random() < 0.25:
        mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    return _rest_on_floor(mesh)


def sphere(rng: np.random.Generator) -> trimesh.Trimesh:
    """A ball, radius 0.08-0.35 m."""
    radius = rng.uniform(0.08, 0.35)
    return _rest_on_floor(trimesh.creation.icosphere(subdivisions=3, radius=radius))


def torus(rng: np.random.Generator) -> trimesh.Trimesh:
    """A torus lying flat or standing on its rim (both show inner self-occlusions)."""
    major = rng.uniform(0.15, 0.35)
    minor = major * rng.uniform(0.2, 0.45)
    mesh = trimesh.creation.torus(major, minor, major_sections=48, minor_sections=20)
    if rng.random() < 0.5:
        mesh.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    return _rest_on_floor(mesh)


def lathe(rng: np.random.Generator) -> trimesh.Trimesh:
    """A revolved profile (vase, bottle, lamp foot): a smooth random radius along the height."""
    h = rng.uniform(0.25, 0.9)
    n = int(rng.integers(4, 8))
    zs = np.linspace(0.0, h, n)
    rs = rng.uniform(0.04, 0.22, size=n)
    zf = np.linspace(0.0, h, 24)
    rf = np.interp(zf, zs, rs)
    rf = np.convolve(np.pad(rf, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    profile = np.concatenate([[[0.0, 0.0]], np.stack([rf, zf], 1), [[0.0, h]]])
    return _rest_on_floor(trimesh.creation.revolve(profile, sections=int(rng.integers(24, 41))))


def table(rng: np.random.Generator) -> trimesh.Trimesh:
    """A table: a top on four legs (box or round legs), one connected mesh."""
    lx, ly = rng.uniform(0.6, 1.4), rng.uniform(0.5, 0.9)
    height, thick = rng.uniform(0.45, 0.8), rng.uniform(0.025, 0.06)
    leg = rng.uniform(0.03, 0.07)
    round_legs = rng.random() < 0.5
    parts = [trimesh.creation.box([lx, ly, thick])]
    parts[0].apply_translation([0, 0, height - thick / 2])
    inset = rng.uniform(0.02, 0.1)
    for sx in (-1, 1):
        for sy in (-1, 1):
            if round_legs:
                part = trimesh.creation.cylinder(leg / 2, height - thick / 2, sections=16)
            else:
                part = trimesh.creation.box([leg, leg, height - thick / 2])
            x, y = sx * (lx / 2 - inset - leg / 2), sy * (ly / 2 - inset - leg / 2)
            part.apply_translation([x, y, (height - thick / 2) / 2])
            parts.append(part)
    return _union(parts)


def chair(rng: np.random.Generator) -> trimesh.Trimesh:
    """A chair: seat, four legs, back posts and a back rest, one connected mesh."""
    w, d = rng.uniform(0.38, 0.55), rng.uniform(0.38, 0.55)
    seat_h, thick = rng.uniform(0.38, 0.5), rng.uniform(0.03, 0.06)
    back_h = rng.uniform(0.3, 0.55)
    leg = rng.uniform(0.025, 0.05)
    parts = [trimesh.creation.box([w, d, thick])]
    parts[0].apply_translation([0, 0, seat_h - thick / 2])
    for sx in (-1, 1):
        for sy in (-1, 1):
            top = seat_h + (back_h if sy > 0 else 0.0) - (thick / 2 if sy < 0 else 0.0)
            part = trimesh.creation.box([leg, leg, top])
            part.apply_translation([sx * (w / 2 - leg / 2), sy * (d / 2 - leg / 2), top / 2])
            parts.append(part)
    rest = trimesh.creation.box([w - 2 * leg, leg * 0.8, back_h * rng.uniform(0.3, 0.6)])
    rest.apply_translation([0, d / 2 - leg / 2, seat_h + back_h * rng.uniform(0.55, 0.8)])
    parts.append(rest)
    return _union(parts)


#: Builders by kind name.
BUILDERS: dict[str, Callable[[np.random.Generator], trimesh.Trimesh]] = {
    "box": box,
    "cylinder": cylinder,
    "sphere": sphere,
    "torus": torus,
    "lathe": lathe,
    "table": table,
    "chair": chair,
}

#: Kinds that offer a flat top other objects can rest on.
SUPPORTS = ("box", "table", "cylinder")


def load_user_mesh(path: str, rng: np.random.Generator, size: float | None = None):
    """Load any mesh file trimesh reads (OBJ, PLY, GLB, STL, ...) scaled to ``size`` metres.

    Raises
    ------
    ConfigError
        If the file is missing or holds no triangles.
    """
    from occseg.errors import ConfigError

    try:
        loaded = trimesh.load(path, force="mesh")
    except Exception as exc:
        raise ConfigError(f"cannot read mesh file {path}: {exc}") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ConfigError(f"mesh file {path} holds no triangles")
    extent = float(np.max(loaded.extents))
    if extent <= 0:
        raise ConfigError(f"mesh file {path} is degenerate (zero size)")
    target = size if size is not None else float(rng.uniform(0.3, 0.9))
    loaded.apply_scale(target / extent)
    return _rest_on_floor(loaded)
