"""Fixtures of the annotation-app tests: a tiny image folder and a client factory."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from occseg.io import write_png

with warnings.catch_warnings():  # starlette's TestClient warns about the httpx version
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from occseg.app import Extensions, Project, create_app
from occseg.predict import load_predictor

#: Where the objects of the synthetic scene are, as (y0, y1, x0, x1).
RED_BOX = (15, 45, 20, 50)
BLUE_BOX = (25, 55, 45, 70)


def scene() -> np.ndarray:
    """A 60×80 dark image with a red box partly hidden by a blue box."""
    img = np.full((60, 80, 3), 25, np.uint8)
    y0, y1, x0, x1 = RED_BOX
    img[y0:y1, x0:x1] = (220, 50, 50)
    y0, y1, x0, x1 = BLUE_BOX
    img[y0:y1, x0:x1] = (40, 70, 230)
    return img


@pytest.fixture
def boxes() -> dict[str, tuple[int, int, int, int]]:
    """The synthetic scene's objects: name → (y0, y1, x0, x1)."""
    return {"red": RED_BOX, "blue": BLUE_BOX}


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """A folder with two images, a text file, and a secret file next to the folder."""
    folder = tmp_path / "images"
    write_png(folder / "scene.png", scene())
    write_png(folder / "flipped.png", scene()[:, ::-1].copy())
    (folder / "notes.txt").write_text("not an image")
    (tmp_path / "secret.png").write_bytes(b"top secret")
    return folder


@pytest.fixture
def make_client(images_dir: Path, tmp_path: Path) -> Callable[..., TestClient]:
    """Build a fresh server (as after a restart) over the same image and output folders."""

    def make(predictor=None, extensions: Extensions | None = None, **kwargs) -> TestClient:
        project = Project(images_dir, tmp_path / "out", model="graphcut")
        app = create_app(
            project,
            predictor or load_predictor("graphcut"),
            model_name="graphcut",
            extensions=extensions,
            **kwargs,
        )
        return TestClient(app, base_url="http://127.0.0.1")

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    """A server over the two-image folder with the graph-cut model."""
    return make_client()
