"""``occseg annotate`` and ``occseg export coco``: thin wrappers over the app's library calls."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from occseg.cli import app

__all__ = ["annotate", "export_app", "export_coco_command"]


def _find_group(name: str) -> typer.Typer | None:
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    return None


def _export_group() -> typer.Typer:
    """The shared ``export`` command group.

    ``occseg.train.cli`` also registers ``export`` (``export onnx``); it is imported first so both
    verbs land in one group whatever order the command modules are imported in.
    """
    existing = _find_group("export")
    if existing is None:
        with contextlib.suppress(ImportError):
            from occseg.train import cli as _train_cli  # noqa: F401
        existing = _find_group("export")
    if existing is not None:
        return existing
    group = typer.Typer(no_args_is_help=True)

    @group.callback()
    def export() -> None:
        """Export annotations in standard formats."""

    app.add_typer(group, name="export")
    return group


export_app = _export_group()


@app.command("annotate")
def annotate(
    images_dir: Path | None = typer.Argument(
        None, help="Folder of images to annotate (default: bundled sample photographs)."
    ),
    out: Path = typer.Option(
        Path("occseg-project"), "--out", help="Project folder: annotations are saved here."
    ),
    model: str = typer.Option("graphcut", "--model", help="Click model name or checkpoint."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (local only)."),
    port: int = typer.Option(8765, "--port", help="TCP port (0: any free port)."),
    classes: str = typer.Option(
        "", "--classes", help="Comma-separated class labels to offer, e.g. 'person,car'."
    ),
    max_side: int = typer.Option(
        1280, "--max-side", help="Longest image side the model works at (0: full size)."
    ),
    boundary_model: Path | None = typer.Option(
        None,
        "--boundary-model",
        help="Occlusion-boundary checkpoint (`occseg train boundaries`): enables boundary mode.",
    ),
    order_model: Path | None = typer.Option(
        None,
        "--order-model",
        help="Occlusion-order checkpoint (`occseg train order`): enables automatic ordering.",
    ),
) -> None:
    """Start the annotation web app and print the URL to open."""
    from occseg.app.serve import serve

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
        echo=typer.echo,
    )


@export_app.command("coco")
def export_coco_command(
    project: Path = typer.Option(..., "--project", help="Project folder of `occseg annotate`."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default PROJECT/export)."),
    finished_only: bool = typer.Option(
        False, "--finished-only", help="Leave out objects not finished with Enter."
    ),
) -> None:
    """COCO JSON with RLE masks, class names and COCOA occlusion order, plus PNG masks."""
    from occseg.app.export import export_coco

    result = export_coco(project, out, finished_only=finished_only)

    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    typer.echo(
        f"wrote {result.coco_json}: {count(result.n_images, 'image', 'images')}, "
        f"{count(result.n_annotations, 'annotation', 'annotations')}, "
        f"{count(result.n_categories, 'category', 'categories')}"
    )
