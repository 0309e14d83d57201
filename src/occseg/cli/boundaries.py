"""``occseg boundaries IMAGE``: the occlusion-boundary map of an image, optionally refined."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import longest_side, open_unit_interval
from occseg.io.images import NETWORK_MAX_SIDE

app = typer.Typer()


@app.command("boundaries")
def boundaries(
    image: Path = typer.Argument(..., help="RGB image (PNG/JPEG/...)."),
    out: Path = typer.Option(..., "--out", help="PNG to write (8-bit OB map)."),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="OB model checkpoint (from `occseg train boundaries`; default: the shipped one).",
    ),
    scribbles: Path | None = typer.Option(
        None,
        "--scribbles",
        help='JSON {"fn": [[[y, x], ...], ...], "fp": [...]}: polylines over missed / wrong '
        "boundaries; the map is then refined in a second step.",
    ),
    threshold: float | None = typer.Option(
        None,
        callback=open_unit_interval,
        help="Write the final binary output (NMS, then >= THRESHOLD; paper: 0.7 in training) "
        "instead of the probability map.",
    ),
    flip: bool = typer.Option(
        False,
        "--flip",
        help="Average the map with that of the mirrored image (better maps, twice the time).",
    ),
    max_side: int = typer.Option(
        NETWORK_MAX_SIDE,
        "--max-side",
        min=0,
        callback=longest_side,
        help="Longest image side the network sees, as in the app; the map comes back at full "
        "size (0: full size).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out file."),
) -> None:
    """Occlusion boundaries of IMAGE: automatic, or refined by FN/FP scribbles (paper 000)."""
    from occseg.io import read_image
    from occseg.io.outputs import check_output_file
    from occseg.io.scribbles import read_scribbles
    from occseg.predict.boundary_map import boundary_map, write_boundary_map

    check_output_file(out, overwrite=overwrite, name="--out")
    strokes = read_scribbles(scribbles) if scribbles is not None else []
    prob = boundary_map(
        read_image(image),
        model=model,
        scribbles=strokes,
        threshold=threshold,
        flip=flip,
        max_side=max_side,
    )
    write_boundary_map(out, prob)
    fn, fp = (sum(s.kind == k for s in strokes) for k in ("fn", "fp"))
    step = f"refined by {fn} FN + {fp} FP scribbles" if strokes else "automatic"
    typer.echo(f"wrote {out} ({step})")
