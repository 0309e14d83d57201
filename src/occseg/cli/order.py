"""``occseg order IMAGE --out DIR``: occlusion-ordered instances of one image (shipped model)."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import longest_side
from occseg.occlusion.pipeline import ORDER_MAX_SIDE
from occseg.occlusion.scores import DEFAULT_SCORE, SCORES, check_score

app = typer.Typer()


@app.command("order")
def order(
    image: Path = typer.Argument(..., help="An RGB image (PNG, JPEG, ...)."),
    model: str = typer.Option(
        "ordernet",
        help="Checkpoint written by `occseg train order` (model.pt), or ordernet: the shipped "
        "model.",
    ),
    out: Path = typer.Option(..., help="Folder for instances.png, depth.png and graph.json."),
    instances: str = typer.Option(
        "regions",
        help="regions: the regions the boundary map encloses, ordered by the oriented boundary "
        "between them; crf: the paper's CRF labelling (Eq. 8).",
    ),
    threshold: float = typer.Option(
        0.1, min=0.0, max=1.0, help="Boundaries below this (after NMS) are dropped."
    ),
    lam: float = typer.Option(20.0, min=0.0, help="CRF smoothness weight (Eq. 6)."),
    mu: float = typer.Option(100.0, min=0.0, help="CRF occlusion weight (Eq. 7)."),
    score: str = typer.Option(
        DEFAULT_SCORE,
        help=f"Instance confidence in graph.json, one of {', '.join(SCORES)}: the mean boundary "
        "probability on the outline minus the mean inside, or the paper's border sum minus "
        "inside sum (Sec. 5.4).",
    ),
    merge_regions: bool = typer.Option(
        True,
        help="Regions: join touching regions split by a weak boundary between matching colours.",
    ),
    max_side: int = typer.Option(
        ORDER_MAX_SIDE,
        "--max-side",
        min=0,
        callback=longest_side,
        help="Longest image side the network and the labelling work at; the instances come "
        "back at full size (0: full size).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into a non-empty --out (same-named files are replaced)."
    ),
) -> None:
    """Instances and their occlusion order (OOSIS, paper 001): network maps, instances (boundary
    regions or the CRF labelling), occlusion graph and relative depth."""
    from occseg.io import read_image
    from occseg.io.outputs import check_output_folder
    from occseg.occlusion.pipeline import check_instance_method, order_image, write_order_result
    from occseg.predict.ordernet import load_order_model, order_model_path

    checkpoint = order_model_path(model)
    check_score(score)
    check_instance_method(instances, merge_regions=merge_regions)
    check_output_folder(out, empty=True, overwrite=overwrite, name="--out")
    rgb = read_image(image)
    result = order_image(
        rgb, load_order_model(checkpoint), instances=instances, threshold=threshold, lam=lam,
        mu=mu, score=score, merge_regions=merge_regions, max_side=max_side,
    )  # fmt: skip
    paths = write_order_result(result, out)
    n, e = len(result.instances.order), len(result.edges)
    typer.echo(f"{n} instances, {e} occlusion edges -> {', '.join(str(p) for p in paths.values())}")
