"""``occseg export coco`` (an annotation project) and ``occseg export onnx`` (a click model)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from occseg.cli.common import console

app = typer.Typer(
    name="export", help="Export annotations and models to standard formats.", no_args_is_help=True
)


class MaskFormat(str, Enum):
    """``--format`` of ``occseg export coco``."""

    rle = "rle"
    polygons = "polygons"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@app.command("coco")
def export_coco(
    project: Path = typer.Option(..., "--project", help="Project folder of `occseg annotate`."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default PROJECT/export)."),
    finished_only: bool = typer.Option(
        False, "--finished-only", help="Leave out objects not finished with Enter."
    ),
    mask_format: MaskFormat = typer.Option(
        MaskFormat.rle,
        "--format",
        help="How masks are written: rle (compressed RLE) or polygons (rings, holes kept).",
    ),
) -> None:
    """COCO JSON with RLE or polygon masks, class names and COCOA occlusion order, plus PNG
    masks."""
    from occseg.app.export import export_coco
    from occseg.io.outputs import check_output_folder

    if out is not None:
        check_output_folder(out, name="--out")
    result = export_coco(project, out, finished_only=finished_only, mask_format=mask_format.value)
    typer.echo(
        f"wrote {result.coco_json}: {_count(result.n_images, 'image', 'images')}, "
        f"{_count(result.n_annotations, 'annotation', 'annotations')}, "
        f"{_count(result.n_categories, 'category', 'categories')}"
    )


@app.command("onnx")
def export_onnx(
    checkpoint: Path = typer.Argument(..., help="A click-model checkpoint (.pt)."),
    out: Path = typer.Argument(..., help="The .onnx file to write."),
    height: int = typer.Option(320, min=8, help="Example input height."),
    width: int = typer.Option(480, min=8, help="Example input width."),
    dynamic: bool = typer.Option(True, help="Dynamic batch and image size (else fixed)."),
    check: bool = typer.Option(True, help="Compare ONNX Runtime with torch (max abs diff)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT file."),
) -> None:
    """Export a click model to ONNX (inputs image, maps, prev; output logits).

    An encode-once model writes OUT's stem + -encoder.onnx and -decoder.onnx instead.
    """
    from occseg.checkpoint import load_clicknet
    from occseg.io.outputs import check_output_file
    from occseg.predict.onnx import check_onnx, export_onnx, onnx_files

    check_output_file(out, overwrite=overwrite, name="OUT")
    model = load_clicknet(checkpoint)
    for file in onnx_files(model, out)[1:]:  # an encode-once model writes a pair
        check_output_file(file, overwrite=overwrite, name="OUT")
    files = export_onnx(model, out, height=height, width=width, dynamic=dynamic)
    console.print(f"wrote {', '.join(map(str, files))}")
    if model.config.input_dither > 0:
        console.print(
            f"note: the graphs leave out the model's input dither: add Gaussian noise of "
            f"{model.config.input_dither:g}/255 (a fixed pattern, as "
            "occseg.predict.clicknet.dither does) to the image in [0, 1] before the graph"
        )
    if check:
        diff = check_onnx(model, files, height=height, width=width)
        console.print(f"max |onnxruntime - torch| on logits: {diff:.2e}")
