"""Boundary mode's display threshold: shown map, automatic order input, saved per project."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from occseg.app import Extensions, Project
from occseg.errors import FileFormatError

URL = "/api/images/scene.png"


def _shown_columns(client) -> list[int]:
    """Columns of the image where the boundary PNG shows something."""
    r = client.get(f"{URL}/boundaries.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    alpha = np.asarray(Image.open(io.BytesIO(r.content)))[..., 3]
    return sorted({int(x) for x in np.nonzero(alpha)[1]})


def test_the_display_threshold_is_saved_for_the_project(make_client, stubs, tmp_path):
    ext = Extensions(boundary=stubs.GradedBoundaries(), order=stubs.AreaOrder())
    client = make_client(stubs.BoxPredictor(), ext)
    assert client.get("/api/info").json()["settings"] == {"boundary_threshold": 0.5}
    assert _shown_columns(client) == [60]  # 0.8 shown, 0.3 not

    r = client.patch("/api/settings", json={"boundary_threshold": 0.25})
    assert r.status_code == 200 and r.json() == {"settings": {"boundary_threshold": 0.25}}
    assert _shown_columns(client) == [20, 60]
    meta = json.loads((tmp_path / "out" / "project.json").read_text())
    assert meta["boundary_threshold"] == 0.25

    order = stubs.AreaOrder()
    client = make_client(stubs.BoxPredictor(), Extensions(stubs.GradedBoundaries(), order))
    assert client.get("/api/info").json()["settings"] == {"boundary_threshold": 0.25}
    assert _shown_columns(client) == [20, 60]  # after a restart too
    for v, (y, x) in enumerate([(10, 10), (40, 40)]):
        client.post(f"{URL}/clicks", json={"version": v, "y": y, "x": x})
    assert client.post(f"{URL}/order/auto", json={"version": 2}).status_code == 200
    # automatic ordering gets the map as boundary mode shows it
    assert sorted(set(np.nonzero(order.boundaries)[1].tolist())) == [20, 60]


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.2, "high", None])
def test_a_bad_threshold_is_a_one_line_422(client, value):
    r = client.patch("/api/settings", json={"boundary_threshold": value})
    detail = r.json()["detail"]
    assert r.status_code == 422 and "boundary_threshold" in detail and "\n" not in detail
    assert client.get("/api/info").json()["settings"] == {"boundary_threshold": 0.5}


def test_a_damaged_threshold_in_project_json_is_named(images_dir, tmp_path):
    Project(images_dir, tmp_path / "out")
    path = tmp_path / "out" / "project.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "boundary_threshold": "high"}))
    with pytest.raises(FileFormatError, match="boundary_threshold must be a number between 0"):
        Project(images_dir, tmp_path / "out")
