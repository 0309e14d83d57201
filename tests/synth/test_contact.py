"""Contact lines versus separated occlusions: the occlusion order lists no contact artefacts."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from occseg.synth import Camera, generate_scene, intrinsics, look_at, render_scene
from occseg.synth.boundaries import resolve_pairs
from occseg.synth.generate import render_generated

W, H = 128, 96


def _floor() -> trimesh.Trimesh:
    floor = trimesh.creation.box([30.0, 30.0, 0.2])
    floor.apply_translation([0.0, 0.0, -0.1])  # top face at z = 0
    return floor


def _box(size, yaw: float = 0.4, at=(0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    """A box resting on ``z = at[2]``, turned by ``yaw`` about the vertical axis."""
    box = trimesh.creation.box(size)
    box.apply_translation([0.0, 0.0, size[2] / 2])
    box.apply_transform(trimesh.transformations.rotation_matrix(yaw, [0, 0, 1]))
    box.apply_translation(at)
    return box


def _camera() -> Camera:
    return Camera(intrinsics(W, H, 60), W, H, look_at([0.5, -4.0, 1.6], [0.0, 0.0, 0.4]))


def _neighbour_ids(inst: np.ndarray) -> np.ndarray:
    """``H×W×4`` id of the left, right, top, bottom neighbour (-1 outside the image)."""
    pad = np.pad(inst.astype(np.int64), 1, constant_values=-1)
    return np.stack([pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]], axis=-1)


def _marks(out, front: int, back: int) -> np.ndarray:
    """``H×W bool``: pixels of ``front`` that the OB map marks as occluding a ``back`` pixel."""
    nb = _neighbour_ids(out.instances)
    return (out.ob_occludes & (nb == back)).any(-1) & (out.instances == front)


def _project(camera: Camera, points: np.ndarray) -> np.ndarray:
    """World points → ``(x, y)`` pixel coordinates (pixel centres at integers)."""
    cam = points @ camera.world_to_cam[:3, :3].T + camera.world_to_cam[:3, 3]
    uvw = cam @ camera.K.T
    return uvw[:, :2] / uvw[:, 2:]


def _distance_to_segments(xy: np.ndarray, segments: list[tuple[np.ndarray, np.ndarray]]):
    best = np.full(len(xy), np.inf)
    for a, b in segments:
        s = np.clip((xy - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(xy - (a + s[:, None] * (b - a)), axis=1))
    return best


def _visible_bottom_edges(box: trimesh.Trimesh, camera: Camera):
    """Image segments of the bottom edges of the box's side faces that face the camera."""
    eye = camera.cam_to_world[:3, 3]
    lo = box.vertices[np.isclose(box.vertices[:, 2], box.vertices[:, 2].min())]
    centre = lo.mean(axis=0)
    ring = lo[np.argsort(np.arctan2(*(lo[:, :2] - centre[:2]).T[::-1]))]
    edges = []
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        mid = (a + b) / 2
        outward = np.array([mid[0] - centre[0], mid[1] - centre[1], 0.0])
        if outward @ (eye - mid) > 0:
            pa, pb = _project(camera, np.stack([a, b]))
            edges.append((pa, pb))
    return edges


def test_box_standing_on_the_floor_touches_it_and_the_floor_occludes_nothing():
    cam = _camera()
    box = _box([1.0, 1.0, 1.0])
    out = render_scene([box], cam, room=_floor())
    # The Mesh2OB map marks the closer pixel, so at the contact line the floor's pixels are marked
    # occluding the box in places: the artefact that used to list (0, 1) next to (1, 0).
    assert _marks(out, 0, 1).any()
    assert out.occlusions == [(1, 0)]  # the box hides the floor behind it, never the reverse
    # The contact pixels are exactly the foot of the box: close to the visible bottom edges, and
    # present all along them.
    edges = _visible_bottom_edges(box, cam)
    assert len(edges) == 2
    ys, xs = np.nonzero(out.ob_contact)
    assert len(ys) > 0
    assert _distance_to_segments(np.stack([xs, ys], 1).astype(float), edges).max() <= 1.5
    for a, b in edges:
        n = int(np.linalg.norm(b - a))
        samples = a + np.linspace(0.1, 0.9, n)[:, None] * (b - a)
        gaps = np.hypot(samples[:, :1] - xs[None], samples[:, 1:] - ys[None]).min(axis=1)
        assert gaps.max() <= 1.5
    # The rest of the silhouette (sides and top against the floor behind) is separated.
    sy, sx = np.nonzero(out.ob & ~out.ob_contact & (out.instances == 1))
    assert (_distance_to_segments(np.stack([sx, sy], 1).astype(float), edges) > 3).sum() >= 50


def test_box_lifted_off_the_floor_is_separated_everywhere():
    out = render_scene([_box([1.0, 1.0, 1.0], at=(0.0, 0.0, 0.2))], _camera(), room=_floor())
    assert out.occlusions == [(1, 0)]
    assert not out.ob_contact.any()
    assert _marks(out, 1, 0).any() and not _marks(out, 0, 1).any()


def test_box_standing_on_a_box_touches_it_and_is_listed_once():
    big = _box([1.2, 1.2, 0.6])
    small = _box([0.5, 0.5, 0.5], yaw=1.0, at=(0.1, 0.0, 0.6))
    out = render_scene([big, small], _camera(), room=_floor())
    assert _marks(out, 1, 2).any()  # the contact artefact is in the OB map ...
    assert out.occlusions == [(1, 0), (2, 0), (2, 1)]  # ... but not in the order
    nb = _neighbour_ids(out.instances)
    contact_12 = (
        out.ob_contact[..., None] & out.ob_occludes & (nb > 0) & (nb != out.instances[..., None])
    )
    assert contact_12.any()  # an object-object contact class


@pytest.mark.parametrize("gap", [0.0, 0.15])
def test_box_in_front_of_a_wall_is_listed_once_front_first(gap: float):
    """A box 0.15 m (about 4 pixel footprints) in front of a wall, or flush against it."""
    cam = Camera(intrinsics(W, H, 50), W, H, look_at([1.5, -4.0, 1.5], [0.0, 0.0, 0.0]))
    wall = trimesh.creation.box([2.0, 0.4, 2.0])
    wall.apply_translation([0.0, 0.2, 0.0])
    box = trimesh.creation.box([0.8, 0.8, 0.8])
    box.apply_translation([0.2, -0.4 - gap, -0.2])
    out = render_scene([box, wall], cam)
    assert out.occlusions == [(1, 2)]
    assert _marks(out, 1, 2).any()
    # Flush, the box's top and side faces meet the wall: contact there; the silhouette on the far
    # side (the box's front edge with the wall 0.8 m behind) stays separated.
    assert out.ob_contact.any() == (gap == 0.0)
    assert (out.ob & ~out.ob_contact & (out.instances == 1)).any()


def test_contact_map_does_not_depend_on_the_chunk_size(monkeypatch):
    from occseg.synth import contact

    scene = ([_box([1.2, 1.2, 0.6]), _box([0.5, 0.5, 0.5], 1.0, (0.1, 0.0, 0.6))], _camera())
    whole = render_scene(*scene, room=_floor()).ob_contact
    monkeypatch.setattr(contact, "_CHUNK", 7)
    assert np.array_equal(render_scene(*scene, room=_floor()).ob_contact, whole)


def test_resolve_pairs_keeps_the_longer_separated_border_and_drops_ties():
    pairs = np.array([[1, 2], [1, 2], [2, 1], [3, 4], [4, 3], [5, 0]])
    steps = np.array([0.1, 0.1, 0.5, 0.2, 0.2, 0.3])
    assert resolve_pairs(pairs, steps) == [(1, 2), (5, 0)]
    assert resolve_pairs(pairs[[0, 2]], steps[[0, 2]]) == [(2, 1)]  # equal counts: larger step
    assert resolve_pairs(np.zeros((0, 2), np.int64), np.zeros(0)) == []


@pytest.fixture(scope="module")
def generated():
    scenes = [generate_scene(np.random.default_rng([21, i]), 96, 96) for i in range(3)]
    return [render_generated(s) for s in scenes]


def test_generated_scenes_list_no_pair_both_ways(generated):
    n_contact = 0
    for out in generated:
        listed = set(out.occlusions)
        assert listed
        assert not any((b, a) in listed for a, b in listed)  # no 2-cycle in the order graph
        for a, b in listed:  # every listed pair is an event of the OB map in that direction
            assert _marks(out, a, b).any()
        # Every listed pair has a depth step of at least 1 % somewhere on its border.
        nb = _neighbour_ids(out.instances)
        pad = np.pad(out.depth, 1, constant_values=np.inf)
        nd = np.stack([pad[1:-1, :-2], pad[1:-1, 2:], pad[:-2, 1:-1], pad[2:, 1:-1]], axis=-1)
        ratio = nd / out.depth[..., None]
        for a, b in listed:
            sel = out.ob_occludes & (out.instances == a)[..., None] & (nb == b)
            assert ratio[sel].max() >= 1.01, (a, b)
        # The contact class: boundary pixels of two objects touching; never a self-occlusion or a
        # pixel next to nothing (where there is no surface to touch), never off the boundary.
        assert not (out.ob_contact & ~out.ob).any()
        inst = out.instances.astype(np.int64)
        self_or_void = (out.ob_occludes & ((nb == inst[..., None]) | ~np.isfinite(nd))).any(-1)
        assert self_or_void.any()  # the rooms' corners and the objects' self-occlusions
        assert not (out.ob_contact & self_or_void).any()
        n_contact += int(out.ob_contact.sum())
    assert n_contact > 0  # objects stand on the floor and on each other
