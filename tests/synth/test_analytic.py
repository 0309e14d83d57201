"""Analytic scenes whose occlusion boundaries are known exactly (Mesh2OB ground truth)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from occseg.synth import Camera, intrinsics, look_at, render_scene
from occseg.synth.boundaries import BOTTOM, DIRECTIONS, LEFT, RIGHT, TOP

W, H = 128, 96


def _front_camera(width: int = W, height: int = H, hfov: float = 60.0) -> Camera:
    return Camera(intrinsics(width, height, hfov), width, height, np.eye(4))


def _self_events(out) -> np.ndarray:
    """``H×W bool``: pixels marked as occluding a neighbour of their own instance."""
    inst = out.instances.astype(np.int64)
    pad = np.pad(inst, 1, constant_values=-1)
    neigh = [pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]]
    same = np.stack([n == inst for n in neigh], axis=-1)
    return (out.ob_occludes & same).any(axis=-1)


def _wall(z: float, size: float = 60.0) -> trimesh.Trimesh:
    wall = trimesh.creation.box([size, size, 0.1])
    wall.apply_translation([0.0, 0.0, z])
    return wall


def test_sphere_in_front_of_plane_gives_projected_circle_pointing_outward():
    cam = _front_camera()
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=1.0)
    sphere.apply_translation([0.0, 0.0, 4.0])
    out = render_scene([sphere, _wall(8.0)], cam)
    f, cx, cy = cam.K[0, 0], cam.K[0, 2], cam.K[1, 2]
    radius = f * 1.0 / np.sqrt(4.0**2 - 1.0)
    ys, xs = np.nonzero(out.ob)
    dist = np.hypot(xs - cx, ys - cy)
    assert np.all(np.abs(dist - radius) <= 1.0)
    assert np.all(out.instances[out.ob] == 1)  # the sphere is the occluder everywhere
    assert out.occlusions == [(1, 2)]
    assert not _self_events(out).any()
    # Complete: every point of the ideal circle has a marked pixel next to it (the marked pixels
    # lie just inside the circle, so on diagonals the nearest one can be up to √2 px away).
    phi = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    cxs, cys = cx + radius * np.cos(phi), cy + radius * np.sin(phi)
    gap = np.hypot(cxs[:, None] - xs[None], cys[:, None] - ys[None]).min(axis=1)
    assert gap.max() <= np.sqrt(2.0)
    # Orientation: the occluded neighbours lie outside, the normal points outward.
    radial = np.stack([xs - cx, ys - cy], axis=1) / dist[:, None]
    for k in range(4):
        flagged = out.ob_occludes[ys, xs, k]
        assert np.all(radial[flagged] @ DIRECTIONS[k] > 0)
    theta = out.ob_angle[ys, xs].astype(np.float64)
    normal = np.stack([np.sin(theta), np.cos(theta)], axis=1)
    assert np.all(np.einsum("ij,ij->i", normal, radial) > np.cos(np.radians(30)))
    assert np.all(np.isnan(out.ob_angle[~out.ob]))


@pytest.mark.parametrize("oblique", [False, True])
@pytest.mark.parametrize("subdivide", [0, 3])
def test_cube_faces_have_no_boundary(oblique: bool, subdivide: int):
    cube = trimesh.creation.box([1.0, 1.0, 1.0])
    for _ in range(subdivide):  # many small triangles: walks cross several of them per pixel
        cube = cube.subdivide()
    if oblique:  # three faces and their convex edges in view
        cube.apply_transform(trimesh.transformations.euler_matrix(0.5, 0.6, 0.2))
    cube.apply_translation([0.0, 0.0, 4.0])
    out = render_scene([cube, _wall(8.0)], _front_camera())
    assert out.occlusions == [(1, 2)]
    assert not _self_events(out).any()
    # Marked pixels are exactly the cube pixels that touch the wall.
    inst = out.instances
    pad = np.pad(inst, 1, mode="edge")
    touches_wall = (
        (pad[1:-1, :-2] == 2) | (pad[1:-1, 2:] == 2) | (pad[:-2, 1:-1] == 2) | (pad[2:, 1:-1] == 2)
    )
    assert np.array_equal(out.ob, (inst == 1) & touches_wall)


def test_dense_smooth_sphere_smaller_triangles_than_pixels_has_no_self_boundary():
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=1.0)  # 82k triangles
    sphere.apply_translation([0.0, 0.0, 6.0])
    out = render_scene([sphere], _front_camera(64, 48))
    assert out.ob.any()
    assert not _self_events(out).any()


def test_torus_seen_obliquely_shows_inner_self_occlusion_contour():
    torus = trimesh.creation.torus(
        major_radius=1.0, minor_radius=0.35, major_sections=96, minor_sections=48
    )
    eye = np.array([0.0, -4.5, 1.1])  # low elevation: the front tube hides the back tube's inside
    cam = Camera(intrinsics(W, H, 50), W, H, look_at(eye, [0, 0, 0]))
    out = render_scene([torus], cam)
    self_ev = _self_events(out)
    assert self_ev.sum() >= 20
    ys, xs = np.nonzero(self_ev)
    # The contour runs across the middle of the torus, not on its outer silhouette.
    cols = np.nonzero(out.instances.any(axis=0))[0]
    assert xs.min() > cols.min() + 10 and xs.max() < cols.max() - 10
    # The occluder is the front tube: below the contour in the image, and closer.
    occ_y = []
    steps = ((-1, 0), (1, 0), (0, -1), (0, 1))
    for k, (dy, dx) in zip((TOP, BOTTOM, LEFT, RIGHT), steps, strict=True):
        sel = out.ob_occludes[ys, xs, k] & (out.instances[ys + dy, xs + dx] == 1)
        assert np.all(out.depth[ys[sel], xs[sel]] < out.depth[ys[sel] + dy, xs[sel] + dx])
        if k == TOP:
            occ_y.append(sel.sum())
    assert occ_y[0] > 0
    # Seen from straight above, the same torus shows no self-occlusion.
    top = Camera(intrinsics(W, H, 50), W, H, look_at([0, 0, 5.0], [0, 0, 0], up=[0, 1, 0]))
    assert not _self_events(render_scene([torus], top)).any()


def test_two_boxes_one_hiding_part_of_the_other_give_one_directed_edge():
    near = trimesh.creation.box([1.0, 1.0, 1.0])
    near.apply_translation([-0.6, 0.0, 4.0])
    far = trimesh.creation.box([1.5, 1.5, 1.5])
    far.apply_translation([0.6, 0.2, 8.0])
    out = render_scene([near, far], _front_camera())
    assert out.occlusions == [(1, 2)]
    # Where the two boxes meet, only the near box is marked, occluding towards the far box.
    inst = out.instances
    h_pairs = (inst[:, :-1] == 1) & (inst[:, 1:] == 2)
    assert h_pairs.any()
    assert np.all(out.ob_occludes[:, :-1, RIGHT][h_pairs])
    assert not np.any(out.ob_occludes[:, 1:, LEFT][h_pairs])
    # No pixel of the far box occludes a pixel of the near box, in any direction.
    pad = np.pad(inst.astype(np.int64), 1, constant_values=-1)
    neigh = {LEFT: pad[1:-1, :-2], RIGHT: pad[1:-1, 2:], TOP: pad[:-2, 1:-1], BOTTOM: pad[2:, 1:-1]}
    for k, other in neigh.items():
        assert not np.any(out.ob_occludes[..., k] & (inst == 2) & (other == 1))
        assert np.any(out.ob_occludes[..., k] & (inst == 1) & (other == 2)) or k != RIGHT


def test_concave_crease_of_a_union_is_not_a_boundary():
    slab = trimesh.creation.box([2.0, 2.0, 0.4])
    upright = trimesh.creation.box([2.0, 0.4, 2.0])
    upright.apply_translation([0.0, 0.8, 1.0])
    ell = trimesh.boolean.union([slab, upright], engine="manifold")  # one connected mesh
    eye = np.array([0.3, -4.0, 2.5])  # looking into the inner corner: the crease is in view
    cam = Camera(intrinsics(W, H, 60), W, H, look_at(eye, [0.0, 0.4, 0.5]))
    out = render_scene([ell], cam)
    assert out.instances.astype(bool).mean() > 0.2
    assert not _self_events(out).any()


def test_chair_legs_in_front_of_each_other_are_self_occlusions():
    from occseg.synth.shapes import chair

    mesh = chair(np.random.default_rng(0))
    assert mesh.body_count == 1  # legs, seat and back are one surface
    eye = np.array([1.6, -1.6, 0.25])  # low, diagonal: front legs cross the back legs
    cam = Camera(intrinsics(W, H, 45), W, H, look_at(eye, [0.0, 0.0, 0.35]))
    out = render_scene([mesh], cam)
    self_ev = _self_events(out)
    assert self_ev.sum() >= 10
    ys, xs = np.nonzero(self_ev)
    pad = np.pad(out.depth, 1, constant_values=np.inf)
    neigh = np.stack([pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]], axis=-1)
    occluded_depth = np.where(out.ob_occludes, neigh, -np.inf).max(axis=-1)
    assert np.all(out.depth[ys, xs] < occluded_depth[ys, xs])
