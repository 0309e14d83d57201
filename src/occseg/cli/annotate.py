"""``occseg annotate``: the annotation web app (:func:`occseg.app.serve.serve`)."""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import longest_side
from occseg.io.images import NETWORK_MAX_SIDE
from occseg.occlusion.pipeline import ORDER_MAX_SIDE

app = typer.Typer()


def _image_folder(value: Path | None) -> Path | None:
    if value is not None and not value.is_dir():
        raise typer.BadParameter(f"image folder not found: {value} (check the path)")
    return value


@app.command("annotate")
def annotate(
    images_dir: Path | None = typer.Argument(
        None,
        callback=_image_folder,
        help="Folder of images to annotate (default: bundled sample photographs).",
    ),
    out: Path = typer.Option(
        Path("occseg-project"),
        "--out",
        help="Project folder: annotations are saved here (an existing project is continued).",
    ),
    model: str = typer.Option(
        "clicknet", "--model", help="Click model name (e.g. graphcut) or checkpoint."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (local only)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="TCP port (0: any free port)."),
    classes: str = typer.Option(
        "", "--classes", help="Comma-separated class labels to offer, e.g. 'person,car'."
    ),
    max_side: int = typer.Option(
        NETWORK_MAX_SIDE,
        "--max-side",
        min=0,
        callback=longest_side,
        help="Longest image side the models work at (0: full size; the order network: at "
        f"most {ORDER_MAX_SIDE}).",
    ),
    boundary_model: str | None = typer.Option(
        None,
        "--boundary-model",
        help="Occlusion-boundary model for boundary mode: a checkpoint of `occseg train "
        "boundaries`, or none to turn boundary mode off (default: the shipped model, if "
        "installed).",
        show_default=False,
    ),
    order_model: str | None = typer.Option(
        None,
        "--order-model",
        help="Occlusion-order model for automatic ordering: a checkpoint of `occseg train "
        "order`, or none to turn automatic ordering off (default: the shipped model, if "
        "installed).",
        show_default=False,
    ),
    proposals: str = typer.Option(
        "efficientnet",
        "--proposals",
        help="Features of the proposals layer (r): efficientnet (ImageNet EfficientNet-Lite0) | "
        "colour (L*a*b* + texture) | none (no layer).",
    ),
) -> None:
    """Start the annotation web app and print the URL to open."""
    from occseg.app.serve import serve
    from occseg.io.outputs import check_output_folder

    check_output_folder(out, name="--out")
    serve(
        images_dir,
        out=out,
        model=model,
        host=host,
        port=port,
        classes=[c for c in classes.split(",") if c.strip()],
        max_side=max_side,
        boundary_model=boundary_model,
        order_model=order_model,
        proposals=proposals,
        echo=typer.echo,
    )
