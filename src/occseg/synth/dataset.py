"""Generate a whole synthetic data set: ``occseg synth --n N --size S --seed K --jobs J --out DIR``.

Sample ``i`` is drawn from ``numpy.random.default_rng([seed, i])``, so the output does not depend on
``--jobs`` and the same seed gives the same bytes. A long run can be split into shards ``K/N``
(any machines, the same or different folders) and joined with :func:`merge_dataset`; the result is
the same bytes as one run.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from occseg.errors import ConfigError, DatasetError
from occseg.parallel import Shard, ordered_map, unshard
from occseg.progress import progress_bar
from occseg.synth.generate import generate_sample
from occseg.synth.writer import (
    finish_dataset,
    read_shard_records,
    sample_record,
    write_sample,
    write_shard_records,
)


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
    shard: Shard | None = None,
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
    shard
        Generate only this shard's samples (:meth:`~occseg.parallel.Shard.indices`; each keeps its
        index, folder name and seed in the whole data set) and write ``shard-K-of-N.json``
        instead of the index files; :func:`merge_dataset` joins the shards.

    Returns
    -------
    The per-sample records written to ``index.json`` / ``instances.json`` (or the shard file).
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
    indices = shard.indices(n) if shard is not None else range(n)
    with progress_bar(disable=not progress) as bar:
        handle = bar.add_task("synth", total=len(indices))
        records = ordered_map(task, indices, jobs=jobs, progress=lambda _: bar.advance(handle))
    info = {"seed": int(seed), "width": int(width), "height": int(height), "n": int(n)}
    if shard is None:
        finish_dataset(out, records, info)
    else:
        write_shard_records(out, shard, records, info)
    return records


def merge_dataset(out: str | os.PathLike, parts: Sequence[str | os.PathLike] = ()) -> list[dict]:
    """Join the shards ``1/N`` ... ``N/N`` of one :func:`generate_dataset` run into ``out``.

    The shard files (``shard-K-of-N.json``) are looked for in ``out`` and in every folder of
    ``parts``; the samples of shards written elsewhere are copied into ``out``. Then ``index.json``
    and ``instances.json`` are written: besides the shard files (kept, so merging again gives the
    same result), the folder holds the same bytes as an unsharded run.

    Raises
    ------
    DatasetError
        If no shard file is found.
    ConfigError
        If the shards come from different runs, or one is missing or found twice.
    """
    out = Path(out)
    folders = list({Path(f).resolve(): Path(f) for f in (out, *parts)}.values())
    found = [
        (folder, shard, info, recs)
        for folder in folders
        for shard, info, recs in read_shard_records(folder)
    ]
    if not found:
        raise DatasetError(
            f"no shard-K-of-N.json in {', '.join(map(str, folders))}; "
            "write the shards with generate_dataset(..., shard=...) first"
        )
    infos = {json.dumps(info, sort_keys=True) for _, _, info, _ in found}
    if len(infos) > 1:
        raise ConfigError("the shards come from different runs (seed, size or n differ)")
    records = unshard((shard, recs) for _, shard, _, recs in found)
    out.mkdir(parents=True, exist_ok=True)
    for folder, _, _, recs in found:
        if folder.resolve() != out.resolve():
            for rec in recs:
                shutil.copytree(folder / rec["folder"], out / rec["folder"], dirs_exist_ok=True)
    finish_dataset(out, records, found[0][2])
    return records
