"""``occseg synth``: generate synthetic occlusion scenes, or render a given scene file."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from occseg.cli import app
from occseg.errors import ConfigError


def parse_size(text: str) -> tuple[int, int]:
    """``"512"`` → (512, 512); ``"640x480"`` → (width 640, height 480)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[x×X,]\s*(\d+))?\s*", text)
    if not m:
        raise ConfigError(f"--size must be S or WxH (e.g. 512 or 640x480), got {text!r}")
    w = int(m.group(1))
    return w, int(m.group(2)) if m.group(2) else w


@app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    n: int = typer.Option(8, "--n", help="Number of samples."),
    size: str = typer.Option("512", "--size", help="Image size: S (square) or WxH."),
    seed: int = typer.Option(0, "--seed", help="Data-set seed (same seed, same bytes)."),
    jobs: int = typer.Option(1, "--jobs", help="Worker processes."),
    scene: Path | None = typer.Option(
        None, "--scene", help="Render this scene JSON (mesh files + poses + camera) instead."
    ),
    mesh: list[Path] = typer.Option(
        [], "--mesh", help="Mesh file (OBJ/PLY/GLB/...) to mix into generated scenes; repeatable."
    ),
    preview: bool = typer.Option(
        False, "--preview", help="Also write preview.png: 8 samples (RGB, depth, ids, OB)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Synthetic 3-D scenes with exact occlusion boundaries, orientation and occlusion order."""
    from occseg.synth.dataset import generate_dataset
    from occseg.synth.scene_file import write_scene_file

    if scene is not None:
        write_scene_file(scene, out)
        n_written = 1
    else:
        width, height = parse_size(size)
        generate_dataset(
            out, n, width, height, seed=seed, jobs=jobs, user_meshes=mesh, progress=not quiet
        )
        n_written = n
    if preview:
        from occseg.data.synth import read_synth_dataset
        from occseg.synth.preview import write_preview

        data = read_synth_dataset(out)
        samples = [data[i] for i in range(min(8, len(data)))]
        write_preview(Path(out) / "preview.png", [s.as_dict() for s in samples])
    typer.echo(
        f"wrote {n_written} sample(s) to {out}" + (f" and {out}/preview.png" if preview else "")
    )
