"""``occseg train clicks`` and ``occseg export onnx``: thin verbs over the library."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from occseg.cli import app

console = Console(stderr=True)

train_app = typer.Typer(help="Train models from a YAML config.", no_args_is_help=True)
export_app = typer.Typer(help="Export trained models to other formats.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(export_app, name="export")


_CONFIG = typer.Option(..., "--config", help="YAML training config (see configs/).")
_OUT = typer.Option(None, help="Output folder (overrides the config's 'out').")
_STEPS = typer.Option(None, help="Number of steps (overrides the config).")
_RESUME = typer.Option(True, help="Continue from OUT/last.pt when it exists.")
_PROGRESS = typer.Option(True, help="Show a progress bar.")


def _report(summary: dict) -> None:
    """One line on rank 0: steps, time, first and last loss, files written."""
    if int(os.environ.get("RANK", "0")) != 0:
        return
    stage2 = summary.get("stage2_start")
    console.print(
        f"trained steps {summary['start_step']}..{summary['steps']} in "
        f"{summary['seconds']:.0f} s{'' if stage2 is None else f' (stage 2 from step {stage2})'}; "
        f"loss {summary['first_loss']:.4f} → {summary['last_loss']:.4f}; "
        f"wrote {summary['out']}/model.pt, last.pt, metrics.jsonl"
    )


@train_app.command("clicks")
def train_clicks_cmd(
    config: Path = _CONFIG,
    out: str | None = _OUT,
    steps: int | None = _STEPS,
    resume: bool = _RESUME,
    progress: bool = _PROGRESS,
) -> None:
    """Train the click model (RITM) with random + iterative click simulation.

    Data-parallel over several processes: torchrun --standalone --nproc_per_node 2
    -m occseg.train clicks --config CONFIG
    """
    from occseg.train.clicks import train_clicks
    from occseg.train.config import load_train_config

    cfg = load_train_config(config, out=out, steps=steps)
    _report(train_clicks(cfg, resume=resume, progress=progress))


@train_app.command("order")
def train_order_cmd(
    config: Path = _CONFIG,
    out: str | None = _OUT,
    steps: int | None = _STEPS,
    resume: bool = _RESUME,
    progress: bool = _PROGRESS,
) -> None:
    """Train the OOSIS semantic + oriented-boundary network (paper 001) on synthetic scenes.

    Data-parallel over several processes: torchrun --standalone --nproc_per_node 2
    -m occseg.train order --config CONFIG
    """
    from occseg.train.order import load_order_config, train_order

    cfg = load_order_config(config, out=out, steps=steps)
    _report(train_order(cfg, resume=resume, progress=progress))


@train_app.command("boundaries")
def train_boundaries_cmd(
    config: Path = _CONFIG,
    out: str | None = _OUT,
    steps: int | None = _STEPS,
    resume: bool = _RESUME,
    progress: bool = _PROGRESS,
) -> None:
    """Train the scribble-interactive occlusion-boundary model (two stages, paper 000).

    Data-parallel over several processes: torchrun --standalone --nproc_per_node 2
    -m occseg.train boundaries --config CONFIG
    """
    from occseg.train.boundaries import train_boundaries
    from occseg.train.config import load_boundary_config

    cfg = load_boundary_config(config, out=out, steps=steps)
    _report(train_boundaries(cfg, resume=resume, progress=progress))


@export_app.command("onnx")
def export_onnx_cmd(
    checkpoint: Path = typer.Argument(..., help="A click-model checkpoint (.pt)."),
    out: Path = typer.Argument(..., help="The .onnx file to write."),
    height: int = typer.Option(320, min=8, help="Example input height."),
    width: int = typer.Option(480, min=8, help="Example input width."),
    dynamic: bool = typer.Option(True, help="Dynamic batch and image size (else fixed)."),
    check: bool = typer.Option(True, help="Compare ONNX Runtime with torch (max abs diff)."),
) -> None:
    """Export a click model to ONNX (inputs image, maps, prev; output logits)."""
    from occseg.checkpoint import load_clicknet
    from occseg.predict.onnx import check_onnx, export_onnx

    model = load_clicknet(checkpoint)
    export_onnx(model, out, height=height, width=width, dynamic=dynamic)
    console.print(f"wrote {out}")
    if check:
        diff = check_onnx(model, out, height=height, width=width)
        console.print(f"max |onnxruntime - torch| on logits: {diff:.2e}")
