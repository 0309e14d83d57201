"""Seeded random indoor scenes: a room, 3-12 objects, materials, lights and a camera.

Objects stand on the floor or on each other, clustered in front of the camera so that they overlap
in view and occlusions are frequent (the point of Mesh2OB-style data, paper 000 §3.3). The world is
metres with +z up and the floor at ``z = 0``. Every random choice comes from the one
``numpy.random.Generator`` passed in, so a seed fixes the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh

from occseg.synth.camera import Camera, intrinsics, look_at
from occseg.synth.materials import Material, random_material
from occseg.synth.shading import Light
from occseg.synth.shapes import BUILDERS, SUPPORTS, load_user_mesh

#: Relative frequency of each procedural kind (user meshes are added on top).
KIND_WEIGHTS = {
    "box": 0.2,
    "cylinder": 0.14,
    "sphere": 0.12,
    "torus": 0.12,
    "lathe": 0.14,
    "table": 0.14,
    "chair": 0.14,
}


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One object placed in the world; its instance id is its position in the scene + 1."""

    name: str
    kind: str
    mesh: trimesh.Trimesh
    material: Material
    pose: np.ndarray

    def to_json(self, instance_id: int) -> dict:
        """JSON-ready description (mesh geometry itself is not stored)."""
        return {
            "id": instance_id,
            "name": self.name,
            "kind": self.kind,
            "pose": np.round(self.pose, 6).tolist(),
            "bounds": np.round(self.mesh.bounds, 6).tolist(),
            "n_faces": len(self.mesh.faces),
            "material": self.material.to_json(),
        }


@dataclass(frozen=True, eq=False)
class Scene:
    """A generated scene: room (instance 0), objects (1..N), lights and camera."""

    room: trimesh.Trimesh
    room_material: Material
    objects: list[SceneObject]
    lights: list[Light]
    camera: Camera
    extra: dict = field(default_factory=dict)


def _room(rng: np.random.Generator) -> tuple[trimesh.Trimesh, np.ndarray]:
    size = np.array([rng.uniform(4.0, 7.0), rng.uniform(4.0, 7.0), rng.uniform(2.5, 3.2)])
    room = trimesh.creation.box(size)
    room.apply_translation([0, 0, size[2] / 2])
    room.invert()  # seen from inside
    return room, size


def generate_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    n_objects: int | None = None,
    user_meshes: Sequence[str] = (),
    user_mesh_prob: float = 0.3,
) -> Scene:
    """Draw a random indoor scene and a camera looking into it.

    Parameters
    ----------
    rng
        The only source of randomness.
    width, height
        Image size of the camera.
    n_objects
        Number of objects (default: uniform in 3..12).
    user_meshes
        Mesh files (any format trimesh reads); each object is one of them with probability
        ``user_mesh_prob``.

    Returns
    -------
    Scene
    """
    room, size = _room(rng)
    half = size[:2] / 2 - 0.35
    n = int(rng.integers(3, 13)) if n_objects is None else int(n_objects)
    kinds = list(KIND_WEIGHTS)
    probs = np.array(list(KIND_WEIGHTS.values()))
    probs /= probs.sum()
    centre = rng.uniform(-0.3, 0.3, size=2) * half
    spread = rng.uniform(0.35, 0.85)

    objects: list[SceneObject] = []
    footprints: list[tuple[np.ndarray, float, float, str]] = []  # xy, radius, top z, kind
    for i in range(n):
        if user_meshes and rng.random() < user_mesh_prob:
            path = str(user_meshes[int(rng.integers(len(user_meshes)))])
            mesh, kind = load_user_mesh(path, rng), "mesh"
        else:
            kind = str(rng.choice(kinds, p=probs))
            mesh = BUILDERS[kind](rng)
        yaw = rng.uniform(0, 2 * np.pi)
        rot = trimesh.transformations.rotation_matrix(yaw, [0, 0, 1])
        mesh.apply_transform(rot)
        radius = float(np.linalg.norm(mesh.extents[:2]) / 2)
        placed = None
        for _ in range(40):
            xy = centre + rng.normal(0, spread, size=2)
            if np.any(np.abs(xy) > half - radius):
                continue
            if all(np.linalg.norm(xy - c) > r + radius + 0.02 for c, r, _, _ in footprints):
                placed = (xy, 0.0)
                break
        if placed is None:  # try to rest it on a flat-topped object it fits on
            supports = [f for f in footprints if f[3] in SUPPORTS and f[1] > radius * 1.1]
            if not supports:
                continue
            c, r, top, _ = supports[int(rng.integers(len(supports)))]
            off = rng.normal(0, 0.3 * max(r - radius, 0.0), size=2)
            placed = (c + off, top)
        xy, z = placed
        pose = rot.copy()
        pose[:3, 3] = [xy[0], xy[1], z]
        mesh.apply_translation([xy[0], xy[1], z])
        footprints.append((xy, radius, z + float(mesh.extents[2]), kind))
        name = f"{kind}_{i + 1}"
        objects.append(SceneObject(name, kind, mesh, random_material(rng), pose))

    camera = _camera(rng, width, height, centre, half, footprints)
    lights = _lights(rng, size)
    room_mat = random_material(rng)
    return Scene(room, room_mat, objects, lights, camera)


def _camera(rng, width, height, centre, half, footprints) -> Camera:
    """A camera 1.8-3.8 m from the cluster, 0.9-2.0 m high, looking at it, outside every object."""
    eye = np.zeros(3)
    for _ in range(100):
        az = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(1.8, 3.8)
        xy = centre + dist * np.array([np.cos(az), np.sin(az)])
        xy = np.clip(xy, -half, half)
        eye = np.array([xy[0], xy[1], rng.uniform(0.9, 2.0)])
        if all(np.linalg.norm(xy - c) > r + 0.25 or eye[2] > t + 0.2 for c, r, t, _ in footprints):
            break
    target = np.array([centre[0], centre[1], rng.uniform(0.2, 0.6)]) + rng.normal(0, 0.2, 3)
    pose = look_at(eye, target)
    roll = rng.normal(0, np.radians(3))
    c, s = np.cos(roll), np.sin(roll)
    pose[:3, :2] = pose[:3, :2] @ np.array([[c, -s], [s, c]])
    return Camera(intrinsics(width, height, rng.uniform(50, 75)), width, height, pose)


def _lights(rng, size) -> list[Light]:
    """1-3 point lights under the ceiling with random warm/cool colours and intensities."""
    lights = []
    for k in range(int(rng.integers(1, 4))):
        pos = np.array(
            [
                rng.uniform(-0.4, 0.4) * size[0],
                rng.uniform(-0.4, 0.4) * size[1],
                size[2] - rng.uniform(0.1, 0.6),
            ]
        )
        tint = np.array([1.0, rng.uniform(0.85, 1.0), rng.uniform(0.65, 1.0)])
        if rng.random() < 0.3:
            tint = tint[::-1]
        power = rng.uniform(1.2, 2.2) / (1 + k)
        lights.append(Light(pos, tint * power))
    return lights
