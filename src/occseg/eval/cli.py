"""``occseg eval clicks`` and ``occseg demo``: the click protocol from the command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from occseg.cli import app, eval_app
from occseg.errors import ConfigError
from occseg.eval.clicks import ClickReport
from occseg.eval.report import write_click_report
from occseg.eval.runner import run_click_eval
from occseg.predict import load_predictor
from occseg.progress import progress_bar
from occseg.types import Sample

console = Console(stderr=True)


def _print_summary(summary: dict) -> None:
    table = Table(title=f"{summary.get('method')} on {summary.get('dataset', '?')}")
    max_clicks = summary["max_clicks"]
    cols = ["samples", "NoC@85", "NoC@90", f"NoC@90≥{max_clicks}"]
    cols += [f"mIoU@{k}" for k in summary["mIoU@k"]] + ["s/click"]
    for c in cols:
        table.add_column(c, justify="right")
    table.add_row(
        str(summary["n_samples"]),
        f"{summary['NoC@85']:.2f}",
        f"{summary['NoC@90']:.2f}",
        str(summary[f"NoC@90>={max_clicks}"]),
        *[f"{100 * v:.1f}" for v in summary["mIoU@k"].values()],
        f"{summary['seconds_per_click']:.3f}",
    )
    Console(width=max(Console().width, 132)).print(table)


def parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["refine=hybrid", "flip=false", "refine.weight=2"]`` -> keyword arguments (bool, int,
    float or str values; ``A.B=V`` goes to ``A_options={"B": V}``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option must look like KEY=VALUE, got {pair!r}")
        value: Any = raw.strip()
        if value.lower() in ("true", "false"):
            value = value.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    pass
        name, dot, sub = key.strip().replace("-", "_").partition(".")
        if dot:  # "refine.weight=0.5" -> refine_options={"weight": 0.5}
            out.setdefault(f"{name}_options", {})[sub] = value
        else:
            out[name] = value
    return out


def _evaluate(
    method: str,
    samples: Sequence[Sample],
    *,
    max_clicks: int,
    all_clicks: bool,
    jobs: int,
    predictor_options: dict[str, Any] | None = None,
) -> ClickReport:
    try:  # fail fast (one clear line) on an unknown method or option
        load_predictor(method, **(predictor_options or {}))
    except TypeError as exc:
        raise ConfigError(f"bad --option for {method}: {exc}") from None
    if len(samples) == 0:
        raise ConfigError("the dataset has no samples; check --dataset and --limit")
    with progress_bar("NoC@90 {task.fields[noc]}", console=console) as bar:
        task = bar.add_task(method, total=len(samples), noc="-")
        done: list = []

        def tick(result) -> None:
            done.append(result.noc(0.90, max_clicks))
            bar.update(task, advance=1, noc=f"{sum(done) / len(done):.2f}")

        return run_click_eval(
            method,
            samples,
            max_clicks=max_clicks,
            target_iou=None if all_clicks else 0.90,
            jobs=jobs,
            progress=tick,
            predictor_options=predictor_options,
        )


@eval_app.command("clicks")
def eval_clicks(
    dataset: str = typer.Option(..., help="KIND:PATH, e.g. coco_mval:../data/coco_mval."),
    method: str = typer.Option("graphcut", help="Predictor name or checkpoint path."),
    out: Path = typer.Option(..., help="Output folder for summary.json, per_sample.json, plots."),
    max_clicks: int = typer.Option(20, min=1, help="Clicks per object."),
    limit: int = typer.Option(0, min=0, help="Evaluate only the first N samples (0 = all)."),
    every: int = typer.Option(1, min=1, help="Evaluate every N-th sample (before --limit)."),
    jobs: int = typer.Option(1, min=1, help="Worker processes."),
    all_clicks: bool = typer.Option(
        False, help="Always make --max-clicks clicks (exact mIoU@k) instead of stopping at 90%."
    ),
    option: list[str] = typer.Option(
        [],
        help="Predictor option KEY=VALUE (repeatable), e.g. refine=hybrid, refine.weight=0.5.",
    ),
) -> None:
    """Click evaluation (NoC@85/90, mIoU@k) with the standard simulated user."""
    from occseg.data import open_dataset

    samples: Sequence[Sample] = open_dataset(dataset)
    if every > 1:
        samples = samples[::every]
    if limit:
        samples = samples[:limit]
    options = parse_options(option)
    report = _evaluate(
        method,
        samples,
        max_clicks=max_clicks,
        all_clicks=all_clicks,
        jobs=jobs,
        predictor_options=options,
    )
    report.meta["dataset"] = dataset
    summary = write_click_report(report, out, title=f"{method} on {dataset}")
    _print_summary(summary)
    console.print(f"wrote {out}/summary.json, per_sample.json, summary.md, miou_vs_clicks.png")


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    method: str = typer.Option("graphcut", help="Predictor name or checkpoint path."),
    n: int = typer.Option(12, min=1, help="Number of generated images."),
) -> None:
    """Evaluate a predictor on a generated toy dataset (no files needed) and show the results."""
    from occseg.data.toy import toy_samples

    samples = toy_samples(n)
    report = _evaluate(method, samples, max_clicks=20, all_clicks=False, jobs=1)
    report.meta["dataset"] = f"toy (n={n}, generated)"
    summary = write_click_report(report, out, title=f"{method} on generated toy images")
    _print_summary(summary)
    console.print(f"mIoU vs clicks plot: {out / 'miou_vs_clicks.png'} (all results in {out}/)")
