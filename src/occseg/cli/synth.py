"""``occseg synth``: generate synthetic occlusion scenes, or render a given scene file."""

from __future__ import annotations

import re
from pathlib import Path

import typer

app = typer.Typer()


def _size(text: str) -> str:
    """Typer callback: ``S`` or ``WxH`` (checked here, parsed by :func:`_width_height`)."""
    if not re.fullmatch(r"\s*\d+\s*(?:[x×X,]\s*\d+)?\s*", text):
        raise typer.BadParameter(f"must be S or WxH (e.g. 512 or 640x480), got {text!r}")
    return text


def _width_height(text: str) -> tuple[int, int]:
    """``"512"`` → (512, 512); ``"640x480"`` → (width 640, height 480)."""
    numbers = [int(v) for v in re.findall(r"\d+", text)]
    return numbers[0], numbers[-1]


@app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder (new or empty)."),
    n: int = typer.Option(8, "--n", min=1, help="Number of samples."),
    size: str = typer.Option("512", "--size", callback=_size, help="Image size: S or WxH."),
    seed: int = typer.Option(0, "--seed", min=0, help="Data-set seed (same seed, same bytes)."),
    jobs: int = typer.Option(1, "--jobs", min=1, help="Worker processes."),
    scene: Path | None = typer.Option(
        None, "--scene", help="Render this scene JSON (mesh files + poses + camera) instead."
    ),
    mesh: list[Path] = typer.Option(
        [], "--mesh", help="Mesh file (OBJ/PLY/GLB/...) to mix into generated scenes; repeatable."
    ),
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="Generate only part K of N (e.g. 2/4) into --out (a folder the other parts may "
        "share); join the parts with `occseg merge synth`.",
    ),
    preview: bool = typer.Option(
        False, "--preview", help="Also write preview.png: 8 samples (RGB, depth, ids, OB)."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into a non-empty --out (same-named files are replaced)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Synthetic 3-D scenes with exact occlusion boundaries, orientation and occlusion order."""
    from occseg.errors import ConfigError
    from occseg.io.outputs import check_output_folder
    from occseg.parallel import Shard
    from occseg.synth.dataset import generate_dataset
    from occseg.synth.scene_file import write_scene_file

    part = Shard.parse(shard) if shard is not None else None
    if part is not None and (scene is not None or preview):
        raise ConfigError("--shard generates part of a data set: leave out --scene and --preview")
    # the parts of a sharded run may share one folder; a whole run starts in a new one
    check_output_folder(out, empty=part is None, overwrite=overwrite, name="--out")
    if scene is not None:
        write_scene_file(scene, out)
        n_written = 1
    else:
        width, height = _width_height(size)
        records = generate_dataset(
            out, n, width, height, seed=seed, jobs=jobs, user_meshes=[str(m) for m in mesh],
            progress=not quiet, shard=part,
        )  # fmt: skip
        n_written = len(records)
    if preview:
        from occseg.data.synth import read_synth_dataset
        from occseg.synth.preview import write_preview

        data = read_synth_dataset(out)
        samples = [data[i].as_dict() for i in range(min(8, len(data)))]
        write_preview(out / "preview.png", samples)
    shown = "" if part is None else f" (shard {part})"
    typer.echo(
        f"wrote {n_written} sample(s){shown} to {out}"
        + (f" and {out}/preview.png" if preview else "")
    )
