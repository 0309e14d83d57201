"""``occseg boundaries IMAGE``: the occlusion-boundary map of an image, optionally refined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from occseg.cli import app
from occseg.errors import ConfigError

#: The shipped OB model: DNMMSI at CPU width trained on synthetic scenes only (2200 steps,
#: half-precision weights; README "Interactive occlusion boundaries").
DEFAULT_OBNET = Path(__file__).resolve().parent.parent / "models" / "obnet.pt"


@app.command("boundaries")
def boundaries_cmd(
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
        help="Write the final binary output (NMS, then >= THRESHOLD; paper: 0.7 in training) "
        "instead of the probability map.",
    ),
) -> None:
    """Occlusion boundaries of IMAGE: automatic, or refined by FN/FP scribbles (paper 000)."""
    from occseg.io import read_image, write_png
    from occseg.io.scribbles import read_scribbles
    from occseg.predict.boundaries import OBPredictor, previous_output

    if model is None:
        if not DEFAULT_OBNET.is_file():
            raise ConfigError(
                f"no default occlusion-boundary model is installed (expected {DEFAULT_OBNET}); "
                "train one with `occseg train boundaries --config configs/obnet-cpu.yaml` and "
                "pass --model runs/obnet-cpu/model.pt"
            )
        model = DEFAULT_OBNET
    if threshold is not None and not 0 < threshold < 1:
        raise ConfigError(f"--threshold must be in (0, 1), got {threshold}")
    strokes = read_scribbles(scribbles) if scribbles is not None else []
    predictor = OBPredictor(model)
    predictor.set_image(read_image(image))
    prob = predictor.predict(strokes)
    if threshold is not None:
        prob = previous_output(prob, threshold, binary=True)
    write_png(out, np.round(prob * 255).astype(np.uint8))
    kinds = {k: sum(s.kind == k for s in strokes) for k in ("fn", "fp")}
    step = f"refined by {kinds['fn']} FN + {kinds['fp']} FP scribbles" if strokes else "automatic"
    typer.echo(f"wrote {out} ({step})")
