"""``occseg order IMAGE --model PATH --out DIR``: occlusion-ordered instances of one image."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.occlusion.scores import DEFAULT_SCORE, SCORES, check_score

app = typer.Typer()


@app.command("order")
def order(
    image: Path = typer.Argument(..., help="An RGB image (PNG, JPEG, ...)."),
    model: Path | None = typer.Option(
        None, help="Checkpoint written by `occseg train order` (model.pt)."
    ),
    out: Path = typer.Option(..., help="Folder for instances.png, depth.png and graph.json."),
    threshold: float = typer.Option(
        0.1, min=0.0, max=1.0, help="Boundaries below this (after NMS) are dropped."
    ),
    lam: float = typer.Option(20.0, min=0.0, help="Smoothness weight (Eq. 6)."),
    mu: float = typer.Option(100.0, min=0.0, help="Occlusion weight (Eq. 7)."),
    score: str = typer.Option(
        DEFAULT_SCORE,
        help=f"Instance confidence in graph.json, one of {', '.join(SCORES)}: the mean boundary "
        "probability on the outline minus the mean inside, or the paper's border sum minus "
        "inside sum (Sec. 5.4).",
    ),
) -> None:
    """Instances and their occlusion order (OOSIS, paper 001): network maps, CRF labelling,
    occlusion graph and relative depth."""
    from occseg.errors import ConfigError
    from occseg.io import read_image
    from occseg.io.outputs import check_output_folder
    from occseg.occlusion.pipeline import order_image, write_order_result
    from occseg.predict.ordernet import load_order_model

    if model is None:
        raise ConfigError(
            "no occlusion-order model is shipped yet; pass --model PATH of a checkpoint written "
            "by `occseg train order`"
        )
    check_score(score)
    check_output_folder(out, name="--out")
    rgb = read_image(image)
    result = order_image(
        rgb, load_order_model(model), threshold=threshold, lam=lam, mu=mu, score=score
    )
    paths = write_order_result(result, out)
    n, e = len(result.instances.order), len(result.edges)
    typer.echo(f"{n} instances, {e} occlusion edges -> {', '.join(str(p) for p in paths.values())}")
