"""Pinhole camera in the OpenCV convention (x right, y down, z forward).

Pixel ``(y, x)`` is the ray through the continuous image point ``(u, v) = (x, y)``: pixel centres
sit at integer coordinates, as in OpenCV, so a centred principal point is
``((W - 1) / 2, (H - 1) / 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from occseg.errors import ConfigError


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera.

    Attributes
    ----------
    K
        ``3×3`` intrinsics ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (pixels).
    width, height
        Image size in pixels.
    cam_to_world
        ``4×4`` pose: camera coordinates (OpenCV axes: x right, y down, z forward) to world.
    """

    K: np.ndarray
    width: int
    height: int
    cam_to_world: np.ndarray

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        pose = np.asarray(self.cam_to_world, dtype=np.float64)
        if K.shape != (3, 3) or pose.shape != (4, 4):
            raise ConfigError("camera K must be 3×3 and cam_to_world 4×4")
        if not (K[0, 0] > 0 and K[1, 1] > 0) or not np.all(np.isfinite(K)):
            raise ConfigError("camera focal lengths fx, fy must be positive and finite")
        if int(self.width) < 2 or int(self.height) < 2:
            raise ConfigError(f"image size {self.width}×{self.height} is too small (need ≥ 2×2)")
        rot = pose[:3, :3]
        if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-5) or np.linalg.det(rot) < 0:
            raise ConfigError("camera cam_to_world rotation must be orthonormal and right-handed")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "cam_to_world", pose)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def world_to_cam(self) -> np.ndarray:
        """The inverse pose (world → camera), ``4×4``."""
        inv = np.eye(4)
        rot = self.cam_to_world[:3, :3]
        inv[:3, :3] = rot.T
        inv[:3, 3] = -rot.T @ self.cam_to_world[:3, 3]
        return inv

    def ray_directions(self) -> np.ndarray:
        """Unnormalised camera-frame ray directions ``(H, W, 3)`` with ``z = 1`` per pixel."""
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float64)
        fx, fy, cx, cy, skew = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2], self.K[0, 1]
        dy = (ys - cy) / fy
        dx = (xs - cx - skew * dy) / fx
        return np.stack([dx, dy, np.ones_like(dx)], axis=-1)

    def to_json(self) -> dict:
        """JSON-ready dict: ``K``, ``width``, ``height``, ``cam_to_world``."""
        return {
            "K": self.K.tolist(),
            "width": self.width,
            "height": self.height,
            "cam_to_world": self.cam_to_world.tolist(),
        }

    @classmethod
    def from_json(cls, obj: dict) -> Camera:
        """Inverse of :meth:`to_json`; raises :class:`ConfigError` on missing fields."""
        try:
            return cls(
                K=np.asarray(obj["K"], float),
                width=int(obj["width"]),
                height=int(obj["height"]),
                cam_to_world=np.asarray(obj["cam_to_world"], float),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"camera needs K (3×3), width, height and cam_to_world (4×4): {exc}"
            ) from None


def intrinsics(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """``K`` for a centred principal point and square pixels with horizontal field of view."""
    f = 0.5 * (width - 1) / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """OpenCV-convention ``cam_to_world`` for a camera at ``eye`` looking at ``target``.

    ``up`` is the world up direction (default ``+z``); the image's y axis points against it.
    """
    eye = np.asarray(eye, float)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, float)
    z = np.asarray(target, float) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:  # looking straight along up: pick any perpendicular
        x = np.cross(z, np.array([1.0, 0.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose
