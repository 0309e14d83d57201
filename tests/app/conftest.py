"""Fixtures of the annotation-app tests: a tiny image folder and a client factory."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from occseg.io import write_png

with warnings.catch_warnings():  # starlette's TestClient warns about the httpx version
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from occseg.app import Extensions, Project, create_app
from occseg.types import BoundaryClick, Click, Scribble

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


class RegionPredictor:
    """Stub click model for the API tests (independent of any real model's quality).

    The object is the union of the same-colour connected regions under positive clicks, minus
    those under negative clicks; ``prev_prob`` is ignored.
    """

    threshold = 0.49

    def set_image(self, image: np.ndarray) -> None:
        flat = image.astype(np.int64)
        key = (flat[..., 0] << 16) | (flat[..., 1] << 8) | flat[..., 2]
        self.labels = np.zeros(key.shape, np.int32)
        n = 0
        for value in np.unique(key):
            comp, k = ndimage.label(key == value)
            self.labels[comp > 0] = comp[comp > 0] + n
            n += k

    def predict(self, clicks: Sequence, prev_prob=None) -> np.ndarray:
        mask = np.zeros(self.labels.shape, bool)
        for c in clicks:
            region = self.labels == self.labels[c.y, c.x]
            mask = mask | region if c.positive else mask & ~region
        return mask.astype(np.float32)


class RefinePredictor(RegionPredictor):
    """Stub click model that refines the previous mask: it starts from ``prev_prob`` (nothing
    without one) and adds the same-colour region under each positive click, removes the one
    under each negative click; records every call as ``(clicks, prev_prob)``."""

    def set_image(self, image: np.ndarray) -> None:
        super().set_image(image)
        self.calls: list = []

    def predict(self, clicks: Sequence, prev_prob=None) -> np.ndarray:
        self.calls.append((tuple(clicks), prev_prob))
        mask = np.zeros(self.labels.shape, bool) if prev_prob is None else prev_prob > 0.5
        for c in clicks:
            region = self.labels == self.labels[c.y, c.x]
            mask = mask | region if c.positive else mask & ~region
        return mask.astype(np.float32)


class BoxPredictor:
    """Stub model: a 7×7 square around every positive click; supports boundary clicks."""

    supports_boundary_clicks = True
    threshold = 0.49

    def __init__(self) -> None:
        self.shape = (0, 0)
        self.seen: list = []

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict(self, clicks: Sequence, prev_prob=None) -> np.ndarray:
        self.seen = list(clicks)
        prob = np.zeros(self.shape, np.float32)
        for c in clicks:
            if isinstance(c, BoundaryClick) or (isinstance(c, Click) and c.positive):
                prob[max(0, c.y - 3) : c.y + 4, max(0, c.x - 3) : c.x + 4] = 1
        return prob


class EdgePredictor:
    """Stub Two-in-One model: the selection click selects a 9×9 square; each boundary click
    moves the side of the box it lies beyond (or on) to the click, so the mask follows the
    clicked boundary. It takes interactions as the real one does (a positive selection click,
    then boundary clicks only) and records every call ``(clicks, prev_prob)``."""

    supports_boundary_clicks = True
    threshold = 0.5

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]
        self.calls: list = []

    def predict(self, clicks: Sequence, prev_prob=None) -> np.ndarray:
        from occseg.predict.twoinone import check_boundary_interactions

        check_boundary_interactions(clicks, self.shape)
        self.calls.append((tuple(clicks), prev_prob))
        sel = clicks[0]
        y0, y1, x0, x1 = sel.y - 4, sel.y + 5, sel.x - 4, sel.x + 5
        for c in clicks[1:]:
            dy, dx = c.y - sel.y, c.x - sel.x
            if abs(dx) >= abs(dy):
                x0, x1 = (x0, c.x + 1) if dx >= 0 else (c.x, x1)
            else:
                y0, y1 = (y0, c.y + 1) if dy >= 0 else (c.y, y1)
        prob = np.zeros(self.shape, np.float32)
        prob[max(0, y0) : y1, max(0, x0) : x1] = 1
        return prob


class LineBoundaries:
    """Stub boundary model: the FN scribbles' points are boundaries."""

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict_boundaries(self, scribbles: Sequence[Scribble]) -> np.ndarray:
        prob = np.zeros(self.shape, np.float32)
        for s in scribbles:
            if s.kind == "fn":
                for y, x in s.points:
                    prob[y, x] = 1
        return prob


class GradedBoundaries:
    """Stub boundary model: a faint vertical boundary (0.3) at column 20 and a strong one (0.8)
    at column 60, whatever the scribbles."""

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict_boundaries(self, scribbles: Sequence[Scribble]) -> np.ndarray:
        prob = np.zeros(self.shape, np.float32)
        prob[:, 20] = 0.3
        prob[:, 60] = 0.8
        return prob


class AreaOrder:
    """Stub order model: the smaller mask is in front."""

    def order_objects(self, image, masks, boundaries):
        self.boundaries = boundaries
        idx = sorted(range(len(masks)), key=lambda i: masks[i].sum())
        return [(idx[i], idx[j]) for i in range(len(idx)) for j in range(i + 1, len(idx))]


@pytest.fixture
def stubs() -> SimpleNamespace:
    """Stub models that offer every optional capability (deterministic, instant)."""
    return SimpleNamespace(
        RegionPredictor=RegionPredictor,
        RefinePredictor=RefinePredictor,
        BoxPredictor=BoxPredictor,
        EdgePredictor=EdgePredictor,
        LineBoundaries=LineBoundaries,
        GradedBoundaries=GradedBoundaries,
        AreaOrder=AreaOrder,
    )


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
        project = Project(images_dir, tmp_path / "out", model="region-stub")
        app = create_app(
            project,
            predictor or RegionPredictor(),
            model_name="region-stub",
            extensions=extensions,
            **kwargs,
        )
        return TestClient(app, base_url="http://127.0.0.1")

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    """A server over the two-image folder with the region stub model."""
    return make_client()
