"""``occseg eval boundaries``: the BSDS boundary benchmark from the command line."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import typer
from rich.console import Console

from occseg.cli import eval_app
from occseg.errors import ConfigError, DatasetError
from occseg.eval.boundaries import BoundaryReport, boundary_pr, plot_pr
from occseg.occlusion.detectors import DETECTORS, detect_boundaries
from occseg.progress import progress_bar

if TYPE_CHECKING:
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

console = Console(stderr=True)


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


def write_interactive_report(report: InteractiveBoundaryReport, out: Path, *, title: str) -> dict:
    """Write ``automatic/`` and ``interactive/`` reports, and ``summary.json``, ``summary.md``
    and ``pr.png`` (both curves) comparing them with avgFN / avgFP; return the summary."""
    from occseg.io.atomic import atomic_write_text

    write_boundary_report(report.automatic, out / "automatic", title=f"{title}, automatic")
    write_boundary_report(report.interactive, out / "interactive", title=f"{title}, scribbles")
    summary = report.to_dict()
    summary["title"] = title
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    rows = [("automatic", report.automatic), ("with scribbles", report.interactive)]
    if report.oracle is not None:
        rows.append(("scribbled errors fixed exactly (oracle)", report.oracle))
    fn, fp = report.effort.avg_fn, report.effort.avg_fp
    md = [
        f"# {title}",
        "",
        "| step | ODS | OIS | AP | R50 |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {r.ods:.3f} | {r.ois:.3f} | {r.ap:.3f} | "
            f"{'n/a' if not math.isfinite(r.r50) else f'{r.r50:.3f}'} |"
            for name, r in rows
        ),
        "",
        f"avgFN = {fn * 100:.2f} × 10⁻², avgFP = {fp * 1e4:.2f} × 10⁻⁴ "
        f"({len(report.effort.fn_ratios)} images; paper 000 Sec. 4.1).",
        "",
        "Protocol: automatic prediction, then FN/FP scribbles simulated from it (every segment "
        "longer than 30 pixels after NMS and thresholding), edge NMS before the BSDS boundary "
        "benchmark.",
        "",
        "![PR curves](pr.png)",
        "",
    ]
    atomic_write_text(out / "summary.md", "\n".join(md))
    plot_pr(rows, out / "pr.png", title=title)
    return summary


@eval_app.command("boundaries")
def eval_boundaries(
    dataset: str = typer.Option(
        ..., help="KIND:PATH (bsds500, synth, piod, p2orm), e.g. bsds500:../data/bsds500."
    ),
    method: str = typer.Option(
        "sobel",
        help=f"Boundary detector ({' | '.join(DETECTORS)}) or the path of an OB model "
        "checkpoint (from `occseg train boundaries`).",
    ),
    out: Path = typer.Option(..., help="Output folder for summary.json, summary.md and pr.png."),
    split: str | None = typer.Option(None, help="Dataset split (BSDS500: default test)."),
    interactive: bool = typer.Option(
        False,
        "--interactive",
        help="OB model only: evaluate automatic, then with scribbles simulated from the "
        "automatic output; report both and avgFN/avgFP.",
    ),
    threshold: float = typer.Option(0.7, help="--interactive: T for the error segments."),
    max_segments: int = typer.Option(
        0, help="--interactive: at most this many FN and FP segments per image (0 = all)."
    ),
    oracle: bool = typer.Option(
        False,
        "--oracle",
        help="--interactive: also score the automatic map with exactly the scribbled errors "
        "fixed (the most the scribbles can give).",
    ),
    limit: int = typer.Option(0, help="Evaluate only the first N images (0 = all)."),
    jobs: int = typer.Option(1, help="Worker processes."),
    n_thresholds: int = typer.Option(99, help="Number of thresholds."),
    max_dist: float = typer.Option(0.0075, help="Tolerance as a fraction of the diagonal."),
) -> None:
    """Boundary precision/recall (ODS, OIS, AP, R50) of a detector or OB model on a dataset.

    An OB model's maps are thinned by edge NMS before the benchmark (paper 000, Sec. 3.2).
    """
    from occseg.data.boundaries import open_boundary_dataset

    model = Path(method) if method not in DETECTORS else None
    if model is not None and not model.is_file():
        raise ConfigError(
            f"unknown --method {method!r}; use one of {', '.join(DETECTORS)} or the path of "
            "an OB model checkpoint"
        )
    if interactive and model is None:
        raise ConfigError("--interactive needs an OB model checkpoint as --method")
    if oracle and not interactive:
        raise ConfigError("--oracle needs --interactive")
    if jobs < 1 or n_thresholds < 1 or limit < 0 or not (0 < max_dist < 1):
        raise ConfigError(
            "--jobs and --n-thresholds must be >= 1, --limit >= 0, 0 < --max-dist < 1"
        )
    if not 0 < threshold < 1 or max_segments < 0:
        raise ConfigError("--threshold must be in (0, 1) and --max-segments >= 0")
    data = open_boundary_dataset(dataset, split=split)
    if limit:
        data = data[:limit]
    if len(data) == 0:
        raise DatasetError(f"no images in {dataset}")
    name = method if model is None else model.stem
    title = f"{name} on {dataset}" + (f" ({split})" if split else "")

    if interactive:
        from occseg.eval.interactive_boundaries import evaluate_interactive_boundaries
        from occseg.predict.boundaries import OBPredictor

        with progress_bar(console=console) as bar:
            task = bar.add_task(f"{name} automatic + scribbles", total=len(data))
            both = evaluate_interactive_boundaries(
                OBPredictor(model),
                data,
                threshold=threshold,
                max_segments=max_segments or None,
                n_thresholds=n_thresholds,
                max_dist=max_dist,
                jobs=jobs,
                oracle=oracle,
                progress=lambda: bar.advance(task),
            )
        write_interactive_report(both, out, title=title)
        a, i = both.automatic, both.interactive
        typer.echo(
            f"{title}: automatic ODS={a.ods:.3f} OIS={a.ois:.3f} AP={a.ap:.3f}; with scribbles "
            f"ODS={i.ods:.3f} OIS={i.ois:.3f} AP={i.ap:.3f}; avgFN={both.effort.avg_fn:.4f} "
            f"avgFP={both.effort.avg_fp:.6f}"
            + ("" if both.oracle is None else f"; oracle ODS={both.oracle.ods:.3f}")
            + f" ({len(data)} images) -> {out}"
        )
        return

    if model is None:
        detect: Callable[[np.ndarray], np.ndarray] = partial(detect_boundaries, method=method)
    else:
        from occseg.predict.boundaries import OBPredictor

        predictor = OBPredictor(model)

        def detect(image: np.ndarray) -> np.ndarray:
            predictor.set_image(image)
            return predictor.automatic()

    def maps() -> Iterator[np.ndarray]:
        for sample in data:
            yield detect(sample.image)

    def gts() -> Iterator[tuple[np.ndarray, ...]]:
        for sample in data:
            yield sample.boundaries

    with progress_bar(console=console) as bar:
        task = bar.add_task(f"{name} boundaries", total=len(data))
        report = boundary_pr(
            maps(),
            gts(),
            n_thresholds,
            max_dist,
            nms=model is not None,
            jobs=jobs,
            names=data.names,
            progress=lambda: bar.advance(task),
        )
    write_boundary_report(report, out, title=title)
    r50 = "n/a" if not math.isfinite(report.r50) else f"{report.r50:.3f}"
    typer.echo(
        f"{title}: ODS={report.ods:.3f} OIS={report.ois:.3f} AP={report.ap:.3f} R50={r50} "
        f"({len(data)} images) -> {out}"
    )
