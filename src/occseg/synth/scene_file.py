"""Bring your own scene: a JSON file listing mesh files with world poses and a camera.

Format (paths relative to the JSON file's folder)::

    {
      "camera": {"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "width": 640, "height": 480,
                 "cam_to_world": [[...4×4, OpenCV axes: x right, y down, z forward...]]},
      "meshes": [
        {"path": "room.ply", "room": true},
        {"path": "chair.obj", "pose": [[...4×4 mesh-to-world...]], "name": "chair"}
      ],
      "lights": [{"position": [x, y, z], "color": [r, g, b]}]      (optional)
    }

At most one mesh may be the room (instance id 0); the others get ids 1, 2, ... in file order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import trimesh

from occseg.errors import ConfigError, FileFormatError
from occseg.synth.camera import Camera
from occseg.synth.render import SceneRender, render_scene
from occseg.synth.shading import Light
from occseg.synth.writer import finish_dataset, sample_record, write_sample


def load_scene_file(path: str | os.PathLike) -> tuple[list, trimesh.Trimesh | None, Camera, dict]:
    """Read a scene JSON: ``(meshes placed in world, room mesh or None, camera, info)``.

    Raises
    ------
    FileFormatError
        If the JSON is malformed or lacks fields; ConfigError for unreadable mesh files.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"scene file not found: {path}")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        camera = Camera.from_json(spec["camera"])
        entries = spec["meshes"]
        if not isinstance(entries, list) or not entries:
            raise ValueError("'meshes' must be a non-empty list")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(
            f"{path} is not a valid scene file ({exc}); it needs 'camera' "
            "(K, width, height, cam_to_world) and 'meshes' (list of {{path, pose}})"
        ) from None
    meshes, names, room = [], [], None
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or "path" not in entry:
            raise FileFormatError(f"{path}: meshes[{k}] needs a 'path'")
        mesh_path = (path.parent / entry["path"]).resolve()
        try:
            mesh = trimesh.load(mesh_path, force="mesh")
        except Exception as exc:
            raise ConfigError(f"cannot read mesh {mesh_path}: {exc}") from None
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            raise ConfigError(f"mesh {mesh_path} holds no triangles")
        pose = np.asarray(entry.get("pose", np.eye(4)), float)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise FileFormatError(f"{path}: meshes[{k}].pose must be a finite 4×4 matrix")
        mesh.apply_transform(pose)
        if entry.get("room", False):
            if room is not None:
                raise FileFormatError(f"{path}: only one mesh can be the room")
            room = mesh
            continue
        meshes.append(mesh)
        names.append(str(entry.get("name", Path(entry["path"]).stem)))
    lights = None
    if "lights" in spec:
        try:
            lights = [
                Light(np.asarray(lt["position"], float), np.asarray(lt["color"], float))
                for lt in spec["lights"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}: lights need position and color ({exc})") from None
    return meshes, room, camera, {"names": names, "lights": lights, "source": str(path)}


def render_scene_file(path: str | os.PathLike) -> tuple[SceneRender, dict]:
    """Render a scene JSON; returns the render and the ``meta.json`` content."""
    meshes, room, camera, info = load_scene_file(path)
    render = render_scene(meshes, camera, room=room, lights=info["lights"])
    objects = [
        {"id": i + 1, "name": name, "kind": "mesh", "n_faces": len(m.faces)}
        for i, (name, m) in enumerate(zip(info["names"], meshes, strict=True))
    ]
    meta = {"source": info["source"], "camera": camera.to_json(), "objects": objects}
    if room is not None:
        meta["room"] = {"id": 0, "name": "room"}
    return render, meta


def write_scene_file(path: str | os.PathLike, out: str | os.PathLike) -> SceneRender:
    """Render a scene JSON and write it as a one-sample data set under ``out``."""
    render, meta = render_scene_file(path)
    out = Path(out)
    write_sample(out / "000000", render, meta)
    record = sample_record("000000", render, meta["objects"])
    h, w = render.rgb.shape[:2]
    finish_dataset(out, [record], {"scene": str(path), "width": w, "height": h, "n": 1})
    return render
