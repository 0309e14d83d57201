"""``render_scene``: RGB, depth, instances, triangles and exact occlusion boundaries of a view.

This is the "bring your own scene" entry point of Mesh2OB-style generation (paper 000 §3.3): any
trimesh meshes placed in world coordinates plus a pinhole camera give the full ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from occseg.errors import ConfigError
from occseg.synth.boundaries import occlusion_boundaries
from occseg.synth.camera import Camera
from occseg.synth.materials import Material, albedo, default_material
from occseg.synth.raycast import SceneGeometry, first_hits
from occseg.synth.shading import Light, barycentric, corner_normals, shade, to_srgb8
from occseg.synth.topology import edge_neighbours


@dataclass(frozen=True, eq=False)
class SceneRender:
    """Everything rendered for one view.

    Attributes
    ----------
    rgb
        ``H×W×3 uint8`` shaded, textured image.
    depth
        ``H×W float32`` metres along the optical axis, ``inf`` where nothing is hit.
    instances
        ``H×W uint16`` instance id: ``i + 1`` for ``meshes[i]``, 0 for the room and for misses.
    face_ids
        ``H×W int32`` index of the triangle seen inside its own mesh, ``-1`` for misses.
    ob
        ``H×W bool`` occlusion-boundary pixels (the occluding side of each event).
    ob_occludes
        ``H×W×4 bool``: the pixel occludes its left, right, top, bottom neighbour.
    ob_angle
        ``H×W float32`` PIOD angle (radians, occluder on the left), NaN off the boundary.
    ob_contact
        ``H×W bool`` the boundary pixels whose every event is a contact: two objects touching in
        3-D (an object standing on the floor or on another object), where ``ob`` marks the closer
        pixel although depth is continuous. ``ob_contact ⊆ ob``; ``ob & ~ob_contact`` are the
        pixels of separated occlusions (self-occlusions included).
    occlusions
        Sorted ``(front_id, back_id)`` pairs: ``front`` occludes ``back`` with the two surfaces
        separated in depth (0 = room). Contact events do not count, and where separated events
        point both ways the direction with the longer separated border is kept, so no pair is
        listed in both directions (:mod:`occseg.synth.boundaries`).
    visible
        ``{instance id: H×W bool}`` visible mask of every object id ≥ 1 with at least one pixel.
    """

    rgb: np.ndarray
    depth: np.ndarray
    instances: np.ndarray
    face_ids: np.ndarray
    ob: np.ndarray
    ob_occludes: np.ndarray
    ob_angle: np.ndarray
    ob_contact: np.ndarray
    occlusions: list[tuple[int, int]]
    visible: dict[int, np.ndarray]


def default_lights(camera: Camera) -> list[Light]:
    """A key light above and behind the camera and a dimmer fill light to its side."""
    pose = camera.cam_to_world
    key = pose[:3, 3] + pose[:3, :3] @ np.array([0.6, -1.2, -0.5])
    fill = pose[:3, 3] + pose[:3, :3] @ np.array([-2.0, -0.5, 1.5])
    return [Light(key, np.array([1.0, 0.97, 0.9]) * 1.1), Light(fill, np.array([0.35, 0.4, 0.5]))]


def _as_mesh(mesh, what: str) -> trimesh.Trimesh:
    if isinstance(mesh, trimesh.Scene):
        mesh = mesh.to_geometry() if hasattr(mesh, "to_geometry") else mesh.dump(concatenate=True)
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ConfigError(f"{what} is not a triangle mesh with faces (got {type(mesh).__name__})")
    return mesh


def render_scene(
    meshes: Sequence[trimesh.Trimesh],
    camera: Camera,
    *,
    room: trimesh.Trimesh | None = None,
    materials: Sequence[Material] | None = None,
    room_material: Material | None = None,
    lights: Sequence[Light] | None = None,
    ambient: float = 0.25,
    shadows: bool = True,
) -> SceneRender:
    """Render a view of meshes placed in world coordinates, with exact occlusion ground truth.

    Implements the Mesh2OB idea (paper 000, §3.3; the geometric OB definition of §1 and §3.1):
    rays through the pixel centres are cast with Embree; at each 4-neighbour pixel pair, different
    objects are an occlusion event, and so is the same object where the visible surface is not
    continuous on the mesh (:mod:`occseg.synth.continuity`). The closer pixel is the occluder.
    Events where two objects touch (:mod:`occseg.synth.contact`) are marked as contacts and give
    no occlusion order; the order lists each pair of objects at most once.
    Orientation follows paper 001 supplement 1.3 (which of the 4 neighbours a pixel occludes) and
    PIOD (angle with the occluder on the left). RGB is shaded from the same hits
    (:mod:`occseg.synth.shading`).

    Parameters
    ----------
    meshes
        Objects (``trimesh.Trimesh``; a ``trimesh.Scene`` is concatenated); ``meshes[i]`` gets
        instance id ``i + 1``.
    camera
        Intrinsics, image size and camera-to-world pose (OpenCV axes: x right, y down, z forward).
    room
        Optional mesh with instance id 0 (floor, walls); it takes part in occlusion like any object.
    materials, room_material
        Procedural materials per mesh (default: distinct flat colours).
    lights
        Point lights in world coordinates (default: :func:`default_lights`).
    ambient
        Ambient light level.
    shadows
        Cast shadow rays.

    Returns
    -------
    SceneRender

    Examples
    --------
    >>> import trimesh
    >>> from occseg.synth.camera import Camera, intrinsics, look_at
    >>> cam = Camera(intrinsics(64, 48, 60), 64, 48, look_at([0, -3, 0], [0, 0, 0]))
    >>> wall = trimesh.creation.box([4, 0.1, 4])
    >>> _ = wall.apply_translation([0, 1, 0])
    >>> out = render_scene([trimesh.creation.icosphere(radius=0.5), wall], cam)
    >>> out.occlusions, out.rgb.shape
    ([(1, 2)], (48, 64, 3))
    """
    if not isinstance(camera, Camera):
        raise ConfigError("camera must be an occseg.synth.Camera (K, width, height, cam_to_world)")
    objs = [_as_mesh(m, f"meshes[{i}]") for i, m in enumerate(meshes)]
    if len(objs) > 65534:
        raise ConfigError("at most 65534 meshes fit a uint16 instance map")
    all_meshes = ([_as_mesh(room, "room")] if room is not None else []) + objs
    ids = ([0] if room is not None else []) + list(range(1, len(objs) + 1))
    if materials is None:
        materials = [default_material(i) for i in range(len(objs))]
    if len(materials) != len(objs):
        raise ConfigError(f"got {len(materials)} materials for {len(objs)} meshes")
    mats = ([room_material or default_material(-1)] if room is not None else []) + list(materials)
    h, w = camera.height, camera.width

    w2c = camera.world_to_cam
    rot, trans = w2c[:3, :3], w2c[:3, 3]
    verts, faces, f_inst, f_local, f_mesh = [], [], [], [], []
    nbs, nbes, vnormals = [], [], []
    v_off = f_off = 0
    for k, (mesh, inst) in enumerate(zip(all_meshes, ids, strict=True)):
        v = np.asarray(mesh.vertices, np.float64)
        f = np.asarray(mesh.faces, np.int64)
        verts.append(v @ rot.T + trans)
        vnormals.append(np.asarray(mesh.vertex_normals, np.float64) @ rot.T)
        faces.append(f + v_off)
        nb, nbe = edge_neighbours(v, f)
        nbs.append(np.where(nb >= 0, nb + f_off, -1))
        nbes.append(nbe)
        f_inst.append(np.full(len(f), inst, np.int32))
        f_local.append(np.arange(len(f), dtype=np.int32))
        f_mesh.append(np.full(len(f), k, np.int32))
        v_off += len(v)
        f_off += len(f)
    geom = SceneGeometry(
        np.concatenate(verts),
        np.concatenate(faces),
        np.concatenate(f_inst),
        np.concatenate(f_local),
    )
    face_mesh = np.concatenate(f_mesh)
    scene = geom.embree_scene()

    dirs = camera.ray_directions()
    face, lam = first_hits(geom, dirs.reshape(-1, 3), scene)
    face = face.reshape(h, w)
    lam = lam.reshape(h, w)
    hit = face >= 0
    depth = lam.astype(np.float32)  # ray directions have z = 1, so λ is the depth
    obj = np.where(hit, geom.face_instance[np.maximum(face, 0)], -1)
    instances = np.maximum(obj, 0).astype(np.uint16)
    face_ids = np.where(hit, geom.face_local[np.maximum(face, 0)], -1).astype(np.int32)

    bnd = occlusion_boundaries(
        obj,
        lam,
        face,
        lam,
        dirs,
        geom.vertices,
        geom.faces,
        np.concatenate(nbs),
        np.concatenate(nbes),
    )

    rgb = np.zeros((h, w, 3), np.uint8)
    if hit.any():
        fh = face[hit]
        d = dirs[hit]
        pts = lam[hit][:, None] * d
        tri_all = geom.vertices[geom.faces]
        fn_all = np.cross(tri_all[:, 1] - tri_all[:, 0], tri_all[:, 2] - tri_all[:, 0])
        fn_all /= np.maximum(np.linalg.norm(fn_all, axis=1), 1e-300)[:, None]
        cn_all = corner_normals(np.concatenate(vnormals), geom.faces, fn_all)
        tri, fn, cn = tri_all[fh], fn_all[fh], cn_all[fh]
        nrm = np.einsum("nk,nkj->nj", barycentric(tri, pts), cn)
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1), 1e-12)[:, None]
        view = d / np.linalg.norm(d, axis=1)[:, None]
        flip = np.einsum("ij,ij->i", nrm, view) > 0
        nrm[flip] *= -1.0
        # Keep the shading normal on the visible side of the face (no light leaking at grazing).
        fn[np.einsum("ij,ij->i", fn, view) > 0] *= -1.0
        world = (pts - trans) @ rot  # camera → world
        mesh_of = face_mesh[fh]
        alb = np.zeros((len(fh), 3))
        spec = np.zeros(len(fh))
        shin = np.ones(len(fh))
        for k, mat in enumerate(mats):
            sel = mesh_of == k
            if sel.any():
                alb[sel] = albedo(mat, world[sel])
                spec[sel] = mat.specular
                shin[sel] = mat.shininess
        lts = list(lights) if lights is not None else default_lights(camera)
        lights_cam = [Light(rot @ np.asarray(lt.position, float) + trans, lt.color) for lt in lts]
        radiance = shade(
            pts, nrm, view, alb, spec, shin, lights_cam, ambient, scene if shadows else None
        )
        rgb[hit] = to_srgb8(radiance)

    visible = {int(i): instances == i for i in np.unique(instances[hit]) if i > 0}
    return SceneRender(
        rgb=rgb,
        depth=np.where(hit, depth, np.float32(np.inf)).astype(np.float32),
        instances=instances,
        face_ids=face_ids,
        ob=bnd.ob,
        ob_occludes=bnd.occludes,
        ob_angle=bnd.angle,
        ob_contact=bnd.contact,
        occlusions=bnd.occlusions,
        visible=visible,
    )
