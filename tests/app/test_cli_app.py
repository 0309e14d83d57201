"""`occseg annotate` / `occseg export coco` on the command line, and odd project states."""

from __future__ import annotations

import numpy as np

from occseg.app import Project
from occseg.app.project import SAMPLE_IMAGES
from occseg.app.serve import bind
from occseg.cli import main
from occseg.io import write_png


def test_annotate_help_and_user_errors(tmp_path, capsys):
    assert main(["annotate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--out" in out and "--port" in out and "127.0.0.1" in out
    assert main(["annotate", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "image folder not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["annotate", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no images" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # a mistake leaves no project folder behind
    assert main(["annotate", "--out", str(tmp_path / "o"), "--model", "nosuchmodel"]) == 2
    assert "nosuchmodel" in capsys.readouterr().err


def test_busy_port_is_a_one_line_error(images_dir, tmp_path, capsys):
    sock = bind("127.0.0.1", 0)
    try:
        port = str(sock.getsockname()[1])
        args = ["annotate", str(images_dir), "--out", str(tmp_path / "o"), "--port", port]
        assert main(args) == 2
        assert "choose another --port" in capsys.readouterr().err
    finally:
        sock.close()


def test_without_a_folder_the_bundled_samples_are_used(tmp_path):
    project = Project(None, tmp_path / "out")
    assert project.names == sorted(f"{n}.png" for n in SAMPLE_IMAGES)
    assert project.images_dir == (tmp_path / "out" / "samples").resolve()
    img = project.image("astronaut.png")
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_damaged_annotation_file_is_reported_not_replaced(client, tmp_path):
    path = tmp_path / "out" / "annotations" / "scene.png.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{half a file")
    r = client.get("/api/images/scene.png/annotation")
    assert r.status_code == 409 and "not valid JSON" in r.json()["detail"]
    r = client.post("/api/images/scene.png/clicks", json={"version": 0, "y": 1, "x": 1})
    assert r.status_code == 409 and path.read_text() == "{half a file"


def test_annotation_of_another_image_size_is_refused(client, images_dir, tmp_path, stubs):
    assert client.post("/api/images/scene.png/clicks", json={"version": 0, "y": 30, "x": 30})
    write_png(images_dir / "scene.png", np.zeros((10, 10, 3), np.uint8))
    from fastapi.testclient import TestClient

    from occseg.app import create_app

    fresh = Project(images_dir, tmp_path / "out")
    restarted = TestClient(create_app(fresh, stubs.RegionPredictor()), base_url="http://127.0.0.1")
    r = restarted.get("/api/images/scene.png/annotation")
    assert r.status_code == 409 and "move the annotation file away" in r.json()["detail"]


def test_large_images_are_sent_as_jpeg(tmp_path, make_client, images_dir):
    big = np.zeros((1500, 1500, 3), np.uint8)
    big[200:900, 300:1000] = 200
    write_png(images_dir / "big.png", big)
    client = make_client()
    r = client.get("/api/images/big.png/image")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert client.get("/api/images/scene.png/image").headers["content-type"] == "image/png"


def test_classes_option_is_offered(tmp_path, images_dir, monkeypatch, capsys):
    import uvicorn

    ran = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.update(ok=True))
    args = ["annotate", str(images_dir), "--out", str(tmp_path / "o"), "--port", "0"]
    assert main([*args, "--classes", "cup, saucer,,spoon"]) == 0
    assert ran == {"ok": True}
    out = capsys.readouterr().out
    assert "open http://127.0.0.1:" in out and str((tmp_path / "o").resolve()) in out
    import json

    meta = json.loads((tmp_path / "o" / "project.json").read_text())
    assert meta["classes"] == ["cup", "saucer", "spoon"] and meta["model"] == "clicknet"


def test_proposals_option_chooses_the_layer(tmp_path, images_dir, monkeypatch, capsys):
    import uvicorn

    apps = []
    monkeypatch.setattr(
        uvicorn.Server, "run", lambda self, sockets=None: apps.append(self.config.app)
    )
    args = ["annotate", str(images_dir), "--out", str(tmp_path / "o"), "--port", "0"]
    args += ["--boundary-model", "none", "--order-model", "none"]
    for choice in ([], ["--proposals", "colour"], ["--proposals", "none"]):
        assert main([*args, *choice]) == 0
    layers = [app.state.occseg.proposals for app in apps]
    assert [layer and layer.features for layer in layers] == ["efficientnet", "colour", None]
    assert [app.state.occseg.capabilities["proposals"] for app in apps] == [True, True, False]
    assert main([*args, "--proposals", "sift"]) == 2
    assert "unknown features 'sift'" in capsys.readouterr().err
    assert main(["annotate", "--help"]) == 0
    assert "--proposals" in capsys.readouterr().out
