"""Generated scenes: ground-truth consistency, writer/reader round trip, determinism, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from pycocotools import mask as mask_utils

from occseg.cli import main
from occseg.data import open_dataset
from occseg.data.synth import read_synth_dataset
from occseg.synth.boundaries import BOTTOM, LEFT, RIGHT, TOP
from occseg.synth.dataset import generate_dataset
from occseg.synth.generate import generate_sample

W, H = 128, 96


@pytest.fixture(scope="module")
def samples():
    return [generate_sample(11, i, W, H) for i in range(6)]


def _pairs(out):
    """Horizontal and vertical neighbour pairs: (p slice, q slice, k of p→q, k of q→p)."""
    return [
        ((slice(None), slice(0, -1)), (slice(None), slice(1, None)), RIGHT, LEFT),
        ((slice(0, -1), slice(None)), (slice(1, None), slice(None)), BOTTOM, TOP),
    ]


def test_cross_object_pairs_mark_the_closer_pixel_and_occlusions_are_events(samples):
    for scene, out in samples:
        assert 3 <= len(scene.objects) <= 12
        seen: set[tuple[int, int]] = set()
        for sp, sq, k_pq, k_qp in _pairs(out):
            ip, iq = out.instances[sp], out.instances[sq]
            dp, dq = out.depth[sp], out.depth[sq]
            m_pq, m_qp = out.ob_occludes[(*sp, k_pq)], out.ob_occludes[(*sq, k_qp)]
            cross = ip != iq
            # Every cross-object pair is an event, marked exactly once, on the closer pixel.
            assert np.all((m_pq ^ m_qp)[cross])
            assert np.all(dp[cross & m_pq] <= dq[cross & m_pq])
            assert np.all(dq[cross & m_qp] <= dp[cross & m_qp])
            for a, b in zip(ip[cross & m_pq], iq[cross & m_pq], strict=True):
                seen.add((int(a), int(b)))
            for a, b in zip(iq[cross & m_qp], ip[cross & m_qp], strict=True):
                seen.add((int(a), int(b)))
        # The order lists separated events only, each pair once (see test_contact.py).
        assert set(out.occlusions) <= seen
        assert len(out.occlusions) > 0
        assert not any((b, a) in out.occlusions for a, b in out.occlusions)
        # The map and the angle agree; the visible masks partition the objects' pixels.
        assert np.array_equal(out.ob, np.isfinite(out.ob_angle))
        for inst, mask in out.visible.items():
            assert np.array_equal(mask, out.instances == inst)


def test_writer_reader_round_trip_and_coco(tmp_path: Path):
    generate_dataset(tmp_path / "d", 2, W, H, seed=5, progress=False)
    data = read_synth_dataset(tmp_path / "d")
    assert len(data) == 2
    _, out = generate_sample(5, 1, W, H)
    s = data[1]
    assert np.array_equal(s.rgb, out.rgb)
    assert np.array_equal(s.instances, out.instances)
    assert np.array_equal(s.depth, out.depth)
    assert np.array_equal(s.ob_occludes, out.ob_occludes)
    assert np.array_equal(s.ob_contact, out.ob_contact) and s.ob_contact.any()
    assert np.array_equal(np.isnan(s.ob_angle), np.isnan(out.ob_angle))
    assert s.occlusions == out.occlusions
    objects = open_dataset(f"synth:{tmp_path / 'd'}", min_area_fraction=0)
    big = {i for i in np.unique(out.instances) if i != 0}
    assert {n for n in objects.names if n.startswith(data.folders[1])} == {
        f"{data.folders[1]}_{i}" for i in big
    }
    obj = objects[objects.names.index(f"{data.folders[1]}_{min(big)}")]
    assert np.array_equal(obj.mask, out.instances == min(big))
    assert np.array_equal(obj.image, out.rgb)
    coco = data.coco()
    img = coco["images"][1]
    anns = [a for a in coco["annotations"] if a["image_id"] == img["id"]]
    assert [a["id"] for a in anns] == img["annotation_ids"]
    for ann in anns:
        rle = dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode())
        assert np.array_equal(mask_utils.decode(rle).astype(bool), s.mask(ann["instance_id"]))
    ids = [a["instance_id"] for a in anns]
    expected = {(a, b) for a, b in out.occlusions if a in ids and b in ids}
    pairs = [p.split("-") for p in img["depth_constraint"].split(",") if p]
    got = {(ids[int(i) - 1], ids[int(j) - 1]) for i, j in pairs}
    assert got == expected


def test_same_seed_same_bytes_whatever_the_jobs(tmp_path: Path):
    generate_dataset(tmp_path / "a", 3, 64, 48, seed=2, jobs=1, progress=False)
    generate_dataset(tmp_path / "b", 3, 64, 48, seed=2, jobs=2, progress=False)
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b and len(files_a) == 3 * 8 + 2
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    generate_dataset(tmp_path / "c", 1, 64, 48, seed=3, progress=False)
    assert (tmp_path / "c/000000/rgb.png").read_bytes() != (
        tmp_path / "a/000000/rgb.png"
    ).read_bytes()


def test_cli_generates_with_preview_and_reports_bad_options(tmp_path: Path, capsys):
    assert main(["synth", "--n", "2", "--size", "64x48", "--out", str(tmp_path / "o"),
                 "--preview", "--quiet"]) == 0  # fmt: skip
    assert (tmp_path / "o/preview.png").is_file()
    assert main(["synth", "--size", "huge", "--out", str(tmp_path / "x")]) == 2
    assert "--size" in capsys.readouterr().err


def test_scene_file_with_user_meshes(tmp_path: Path):
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    ball.export(tmp_path / "ball.ply")
    trimesh.creation.box([8.0, 8.0, 0.1]).export(tmp_path / "wall.obj")
    pose = np.eye(4)
    pose[2, 3] = 6.0
    scene = {
        "camera": {
            "K": [[80.0, 0, 31.5], [0, 80.0, 23.5], [0, 0, 1]],
            "width": 64,
            "height": 48,
            "cam_to_world": np.eye(4).tolist(),
        },
        "meshes": [
            {"path": "wall.obj", "pose": pose.tolist(), "room": True},
            {"path": "ball.ply", "pose": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]]},
        ],
    }
    (tmp_path / "scene.json").write_text(json.dumps(scene))
    assert (
        main(["synth", "--scene", str(tmp_path / "scene.json"), "--out", str(tmp_path / "s")]) == 0
    )
    sample = read_synth_dataset(tmp_path / "s")[0]
    assert sample.occlusions == [(1, 0)]
    assert sample.ob.any() and np.all(sample.instances[sample.ob] == 1)
    (tmp_path / "bad.json").write_text("{}")
    assert main(["synth", "--scene", str(tmp_path / "bad.json"), "--out", str(tmp_path / "t")]) == 2


def test_user_meshes_are_mixed_into_generated_scenes(tmp_path: Path):
    trimesh.creation.annulus(0.2, 0.5, 0.3).export(tmp_path / "ring.obj")
    generate_dataset(
        tmp_path / "u", 3, 64, 48, seed=1, user_meshes=[tmp_path / "ring.obj"], progress=False
    )
    kinds = [o["kind"] for s in read_synth_dataset(tmp_path / "u") for o in s.meta["objects"]]
    assert "mesh" in kinds
    assert main(["synth", "--n", "1", "--mesh", str(tmp_path / "nope.ply"),
                 "--out", str(tmp_path / "v")]) == 2  # fmt: skip
