"""``occseg eval boundaries``: the BSDS boundary benchmark from the command line."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from occseg.cli import eval_app
from occseg.errors import ConfigError, DatasetError
from occseg.eval.boundaries import BoundaryReport, boundary_pr, plot_pr
from occseg.occlusion.detectors import DETECTORS, detect_boundaries
from occseg.progress import progress_bar

console = Console(stderr=True)

_DATASETS = ("bsds500",)


def _parse_dataset(spec: str) -> tuple[str, Path]:
    from occseg.data import parse_dataset_spec

    kind, path = parse_dataset_spec(spec)
    if kind not in _DATASETS:
        raise ConfigError(
            f"boundary evaluation reads {', '.join(_DATASETS)} datasets (boundaries of all "
            f"annotators); got {kind!r}"
        )
    return kind, path


def write_boundary_report(report: BoundaryReport, out: Path, *, title: str) -> dict:
    """Write ``summary.json``, ``summary.md`` and ``pr.png`` into ``out``; return the summary."""
    from occseg.io.atomic import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    summary = report.to_dict()
    summary["title"] = title
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    r50 = "n/a" if not math.isfinite(report.r50) else f"{report.r50:.3f}"
    md = [
        f"# {title}",
        "",
        "| images | ODS | OIS | AP | R50 | ODS threshold | ODS recall | ODS precision |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(report.counts)} | {report.ods:.3f} | {report.ois:.3f} | {report.ap:.3f} | {r50} "
        f"| {report.ods_threshold:.3f} | {report.ods_recall:.3f} | {report.ods_precision:.3f} |",
        "",
        f"Protocol: BSDS boundary benchmark ({report.curve.thresholds.size} thresholds, "
        "morphological thinning, bipartite matching within "
        f"{report.max_dist:g} of the image diagonal, all annotators).",
        "",
        "![PR curve](pr.png)",
        "",
    ]
    atomic_write_text(out / "summary.md", "\n".join(md))
    plot_pr([(title, report)], out / "pr.png", title=title)
    return summary


@eval_app.command("boundaries")
def eval_boundaries(
    dataset: str = typer.Option(..., help="KIND:PATH, e.g. bsds500:../data/bsds500."),
    method: str = typer.Option("sobel", help=f"Boundary detector: {' | '.join(DETECTORS)}."),
    out: Path = typer.Option(..., help="Output folder for summary.json, summary.md and pr.png."),
    split: str = typer.Option("test", help="Dataset split."),
    limit: int = typer.Option(0, help="Evaluate only the first N images (0 = all)."),
    jobs: int = typer.Option(1, help="Worker processes."),
    n_thresholds: int = typer.Option(99, help="Number of thresholds."),
    max_dist: float = typer.Option(0.0075, help="Tolerance as a fraction of the diagonal."),
) -> None:
    """Boundary precision/recall (ODS, OIS, AP, R50) of a detector on a boundary dataset."""
    from occseg.data.bsds500 import list_bsds500, read_bsds_ground_truth
    from occseg.io.images import read_image

    if method not in DETECTORS:
        raise ConfigError(f"unknown --method {method!r}; use one of {', '.join(DETECTORS)}")
    if jobs < 1 or n_thresholds < 1 or limit < 0 or not (0 < max_dist < 1):
        raise ConfigError(
            "--jobs and --n-thresholds must be >= 1, --limit >= 0, 0 < --max-dist < 1"
        )
    _, root = _parse_dataset(dataset)
    pairs = list_bsds500(root, split)
    if limit:
        pairs = pairs[:limit]
    if not pairs:
        raise DatasetError(f"no images in {dataset} ({split})")

    def maps() -> Iterator[np.ndarray]:
        for image_path, _ in pairs:
            yield detect_boundaries(read_image(image_path), method)

    def gts() -> Iterator[list[np.ndarray]]:
        for _, mat in pairs:
            yield read_bsds_ground_truth(mat).boundaries

    with progress_bar(console=console) as bar:
        task = bar.add_task(f"{method} boundaries", total=len(pairs))
        report = boundary_pr(
            maps(),
            gts(),
            n_thresholds,
            max_dist,
            jobs=jobs,
            names=[p.stem for p, _ in pairs],
            progress=lambda: bar.advance(task),
        )
    title = f"{method} on {dataset} ({split})"
    write_boundary_report(report, out, title=title)
    r50 = "n/a" if not math.isfinite(report.r50) else f"{report.r50:.3f}"
    typer.echo(
        f"{title}: ODS={report.ods:.3f} OIS={report.ois:.3f} AP={report.ap:.3f} R50={r50} "
        f"({len(pairs)} images) -> {out}"
    )
