"""``occseg train KIND --config FILE``: train the click, boundary, order or two-in-one model.

Data-parallel over several processes, the same command under torchrun::

    torchrun --standalone --nproc_per_node 2 -m occseg train clicks --config FILE
"""

from __future__ import annotations

from pathlib import Path

import typer

from occseg.cli.common import console

app = typer.Typer()


@app.command("train")
def train(
    kind: str = typer.Argument(
        ...,
        help="What to train: clicks (RITM), boundaries (DNMMSI), order (OOSIS) or twoinone "
        "(Two-in-One; one stage per run, see configs/twoinone-lite0*.yaml).",
    ),
    config: Path = typer.Option(..., "--config", help="YAML training config (see configs/)."),
    out: str | None = typer.Option(None, help="Output folder (overrides the config's 'out')."),
    steps: int | None = typer.Option(None, min=1, help="Number of steps (overrides the config)."),
    images: list[Path] | None = typer.Option(
        None,
        "--images",
        metavar="DIR",
        help="Kind clicks: also train on the photos of DIR, without masks (region proposals "
        "as targets, MIS). Repeatable.",
    ),
    resume: bool = typer.Option(True, help="Continue from OUT/last.pt when it exists."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Train a model from a YAML config: clicks, boundaries, order or twoinone.

    Writes OUT/model.pt, last.pt (resumable), metrics.jsonl and config.json. Data-parallel:
    torchrun --standalone --nproc_per_node 2 -m occseg train KIND --config FILE
    """
    from occseg.io.outputs import check_output_folder
    from occseg.train.config import add_image_folders, load_config
    from occseg.train.run import describe, is_main_process
    from occseg.train.run import train as run

    cfg = load_config(kind, config, out=out, steps=steps)
    if images:
        cfg = add_image_folders(cfg, images)
    check_output_folder(cfg.loop.out, name="out")
    summary = run(cfg, resume=resume, progress=progress)
    if is_main_process():
        console.print(describe(summary))
