"""Generate a whole synthetic data set: ``occseg synth --n N --size S --seed K --jobs J --out DIR``.

Sample ``i`` is drawn from ``numpy.random.default_rng([seed, i])``, so the output does not depend on
``--jobs`` and the same seed gives the same bytes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

from occseg.errors import ConfigError
from occseg.synth.generate import generate_sample
from occseg.synth.writer import finish_dataset, run_jobs, sample_record, write_sample


def _folder(index: int) -> str:
    return f"{index:06d}"


def _generate_one(
    index: int,
    *,
    out: str,
    seed: int,
    width: int,
    height: int,
    user_meshes: tuple[str, ...],
) -> dict:
    scene, render = generate_sample(seed, index, width, height, user_meshes=user_meshes)
    objects = [o.to_json(i + 1) for i, o in enumerate(scene.objects)]
    meta = {
        "index": index,
        "seed": seed,
        "camera": scene.camera.to_json(),
        "room": {"id": 0, "name": "room", "material": scene.room_material.to_json()},
        "objects": objects,
        "lights": [lt.to_json() for lt in scene.lights],
    }
    write_sample(Path(out) / _folder(index), render, meta)
    return sample_record(_folder(index), render, objects)


def generate_dataset(
    out: str | os.PathLike,
    n: int,
    width: int,
    height: int,
    *,
    seed: int = 0,
    jobs: int = 1,
    user_meshes: Sequence[str] = (),
    progress: bool = True,
) -> list[dict]:
    """Generate ``n`` random scenes and write them under ``out`` (paper 000 §3.3, Mesh2OB).

    Parameters
    ----------
    out
        Output folder (created).
    n
        Number of samples.
    width, height
        Image size.
    seed
        Data-set seed; sample ``i`` uses ``default_rng([seed, i])``.
    jobs
        Worker processes.
    user_meshes
        Mesh files mixed into the scenes.
    progress
        Show a progress bar.

    Returns
    -------
    The per-sample records written to ``index.json`` / ``instances.json``.
    """
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if width < 16 or height < 16 or width * height > 16_000_000:
        raise ConfigError(f"image size {width}×{height} must be between 16×16 and 16 megapixels")
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    for path in user_meshes:
        if not Path(path).is_file():
            raise ConfigError(f"mesh file not found: {path}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    task = functools.partial(
        _generate_one,
        out=str(out),
        seed=int(seed),
        width=int(width),
        height=int(height),
        user_meshes=tuple(str(p) for p in user_meshes),
    )
    records = run_jobs(task, list(range(n)), min(jobs, n), progress)
    info = {"seed": int(seed), "width": int(width), "height": int(height), "n": int(n)}
    finish_dataset(out, records, info)
    return records
