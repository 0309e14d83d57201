"""``occseg proposals IMAGE --out DIR``: ranked whole-image region proposals (MIS merge tree)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer()


@app.command("proposals")
def proposals(
    image: Path = typer.Argument(..., help="An image (PNG, JPEG, ...; any mode or bit depth)."),
    out: Path = typer.Option(..., help="Folder for proposal_NN.png, proposals.json, tree.npz."),
    k: int = typer.Option(20, "--k", min=1, max=1000, help="Number of proposals to write."),
    features: str = typer.Option(
        "efficientnet",
        help="Patch features: efficientnet (ImageNet EfficientNet-Lite0) | colour (L*a*b* + "
        "texture).",
    ),
    stride: int = typer.Option(8, help="Patch side in pixels: 8 | 16."),
    min_area: float = typer.Option(
        0.05, min=0.0, max=1.0, help="Smallest proposal, as a share of the image."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Write into a non-empty --out (same-named files are replaced)."
    ),
) -> None:
    """Region proposals of one image, no training needed (MIS, paper 004): the most stable
    regions of a Ward merge tree of patch features, best first. The network features are
    ImageNet-supervised (not self-supervised as in the paper)."""
    from occseg.io import read_image
    from occseg.io.outputs import check_output_folder
    from occseg.proposals.propose import check_options, propose, write_proposals

    check_options(features, stride)
    check_output_folder(out, empty=True, overwrite=overwrite, name="--out")
    rgb = read_image(image)
    result = propose(rgb, k=k, features=features, stride=stride, min_area=min_area)
    path = write_proposals(result, out)
    typer.echo(f"{len(result.items)} proposals ({features} features) -> {path}")
