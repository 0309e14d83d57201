"""Procedural solid textures: appearance that does not give the boundaries away for free.

Textures are evaluated at the 3-D hit points (solid textures), so they need no UV maps and stay
glued to the surface. Patterns: flat colour, 3-D checker, stripes, value noise (fBm) and wood-like
rings. Noise comes from a seeded periodic lattice, so the same point always gets the same colour.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from occseg.errors import ConfigError

PATTERNS = ("flat", "checker", "stripes", "noise", "wood")


@dataclass(frozen=True, eq=False)
class Material:
    """A procedural material.

    Attributes
    ----------
    pattern
        One of :data:`PATTERNS`.
    colors
        ``2×3`` linear RGB in [0, 1]: the two colours the pattern mixes.
    scale
        Pattern frequency, cycles per metre.
    axis
        Unit 3-vector: stripe normal / wood grain axis.
    specular
        Specular strength in [0, 1]; ``shininess`` is the Blinn-Phong exponent.
    seed
        Seed of the noise lattice.
    """

    pattern: str = "flat"
    colors: np.ndarray = field(default_factory=lambda: np.array([[0.6, 0.6, 0.6]] * 2))
    scale: float = 4.0
    axis: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))
    specular: float = 0.1
    shininess: float = 20.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ConfigError(f"unknown material pattern {self.pattern!r}; use one of {PATTERNS}")
        object.__setattr__(self, "colors", np.asarray(self.colors, float).reshape(2, 3))
        axis = np.asarray(self.axis, float).reshape(3)
        object.__setattr__(self, "axis", axis / max(float(np.linalg.norm(axis)), 1e-12))

    def to_json(self) -> dict:
        """JSON-ready description."""
        return {
            "pattern": self.pattern,
            "colors": np.round(self.colors, 6).tolist(),
            "scale": round(float(self.scale), 6),
            "axis": np.round(self.axis, 6).tolist(),
            "specular": round(float(self.specular), 6),
            "shininess": round(float(self.shininess), 6),
            "seed": int(self.seed),
        }


def random_material(rng: np.random.Generator) -> Material:
    """Draw a material: pattern, two colours (often similar, sometimes contrasting), scale."""
    pattern = str(rng.choice(PATTERNS, p=[0.2, 0.2, 0.2, 0.2, 0.2]))
    hsv = np.array([rng.random(), rng.uniform(0.1, 0.8), rng.uniform(0.25, 0.9)])
    second = hsv + np.array([rng.normal(0, 0.08), rng.normal(0, 0.15), rng.normal(0, 0.25)])
    if rng.random() < 0.35:  # a contrasting second colour
        second = np.array([rng.random(), rng.uniform(0.0, 0.8), rng.uniform(0.2, 0.95)])
    colors = np.stack([_hsv_to_rgb(hsv), _hsv_to_rgb(second)])
    if pattern == "wood":
        colors = np.stack(
            [_hsv_to_rgb([rng.uniform(0.05, 0.11), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.7)])]
            * 2
        )
        colors[1] *= rng.uniform(0.5, 0.75)
    axis = rng.normal(size=3)
    return Material(
        pattern=pattern,
        colors=colors,
        scale=float(rng.uniform(2.0, 12.0)),
        axis=axis,
        specular=float(rng.uniform(0.0, 0.5)),
        shininess=float(rng.uniform(8.0, 80.0)),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def default_material(index: int) -> Material:
    """A flat colour that differs between neighbouring indices (for user meshes)."""
    hue = (index * 0.618033988749895) % 1.0
    rgb = _hsv_to_rgb([hue, 0.45, 0.75])
    return Material(pattern="flat", colors=np.stack([rgb, rgb]), specular=0.15)


def albedo(material: Material, points: np.ndarray) -> np.ndarray:
    """Linear RGB albedo ``(N, 3)`` of ``material`` at world points ``(N, 3)``."""
    p = np.asarray(points, np.float64) * material.scale
    c0, c1 = material.colors
    if material.pattern == "flat":
        mix = np.zeros(len(p))
    elif material.pattern == "checker":
        mix = (np.floor(p).astype(np.int64).sum(axis=1) % 2).astype(np.float64)
    elif material.pattern == "stripes":
        phase = p @ material.axis
        mix = 0.5 + 0.5 * np.tanh(6.0 * np.sin(2 * np.pi * phase))
    elif material.pattern == "noise":
        mix = np.clip(fbm(p, material.seed) * 1.6 + 0.5, 0.0, 1.0)
    else:  # wood: rings around the grain axis, perturbed by noise
        along = p @ material.axis
        radial = np.linalg.norm(p - along[:, None] * material.axis, axis=1)
        rings = radial * 2.0 + 0.6 * fbm(p * np.array([0.5, 0.5, 2.0]), material.seed)
        mix = np.abs(np.sin(np.pi * rings)) ** 3
    return c0 + mix[:, None] * (c1 - c0)


def fbm(points: np.ndarray, seed: int, octaves: int = 3) -> np.ndarray:
    """Fractal value noise in about [-0.5, 0.5] at ``(N, 3)`` points (seeded, deterministic)."""
    total = np.zeros(len(points))
    amp, freq = 0.5, 1.0
    for octave in range(octaves):
        total += amp * (value_noise(points * freq, seed + 7919 * octave) - 0.5)
        amp *= 0.5
        freq *= 2.03
    return total


_LATTICE = 32


@functools.lru_cache(maxsize=64)
def _lattice(seed: int) -> np.ndarray:
    """A seeded periodic ``32³`` lattice of values in [0, 1), lightly smoothed."""
    grid = np.random.default_rng(seed & 0x7FFFFFFF).random((_LATTICE,) * 3)
    smooth = ndimage.uniform_filter(grid, size=2, mode="wrap")
    lo, hi = smooth.min(), smooth.max()
    return (smooth - lo) / max(hi - lo, 1e-12)


def value_noise(points: np.ndarray, seed: int) -> np.ndarray:
    """Trilinear value noise in [0, 1] on a seeded periodic integer lattice (period 32)."""
    coords = np.mod(np.asarray(points, np.float64), _LATTICE).T
    return ndimage.map_coordinates(_lattice(int(seed)), coords, order=1, mode="grid-wrap")


def _hsv_to_rgb(hsv) -> np.ndarray:
    """HSV (each in [0, 1], wrapped/clipped) to linear-ish RGB."""
    h = float(hsv[0]) % 1.0
    s = float(np.clip(hsv[1], 0, 1))
    v = float(np.clip(hsv[2], 0, 1))
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb) ** 2.2  # perceptual → linear
