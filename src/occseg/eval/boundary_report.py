"""Writing boundary benchmark results: ``summary.json``, a Markdown table and the PR plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from occseg.errors import FileFormatError
from occseg.eval.boundaries import BoundaryReport, plot_pr
from occseg.io.atomic import atomic_write_text

if TYPE_CHECKING:
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

__all__ = ["read_boundary_report", "write_boundary_report", "write_interactive_report"]


def write_boundary_report(report: BoundaryReport, out: Path, *, title: str) -> dict:
    """Write ``summary.json``, ``summary.md`` and ``pr.png`` into ``out``; return the summary."""
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
        *_orientation_table(report),
        "![PR curve](pr.png)",
        "",
    ]
    atomic_write_text(out / "summary.md", "\n".join(md))
    plot_pr([(title, report)], out / "pr.png", title=title)
    return summary


def _orientation_table(report: BoundaryReport) -> list[str]:
    """Markdown lines of the oriented numbers (none for a report without orientations)."""
    o = report.orientation
    if o is None:
        return []
    r50 = "n/a" if not math.isfinite(o.r50) else f"{o.r50:.3f}"
    acc = "n/a" if not math.isfinite(o.ods_accuracy) else f"{o.ods_accuracy:.3f}"
    return [
        "## Oriented occlusion boundaries",
        "",
        "| ODS | OIS | AP | R50 | orientation accuracy at the ODS threshold |",
        "|---:|---:|---:|---:|---:|",
        f"| {o.ods:.3f} | {o.ois:.3f} | {o.ap:.3f} | {r50} | {acc} |",
        "",
        "Protocol: PIOD orientation PR (OPR): the same matching, but a matched pixel counts only "
        "when its predicted orientation is within π/2 of the annotated one (modulo 2π); the "
        "accuracy is the fraction of matched ground-truth pixels that are correctly oriented.",
        "",
    ]


def write_interactive_report(report: InteractiveBoundaryReport, out: Path, *, title: str) -> dict:
    """Write ``automatic/`` and ``interactive/`` reports, and ``summary.json``, ``summary.md``
    and ``pr.png`` (both curves) comparing them with avgFN / avgFP; return the summary."""
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


def read_boundary_report(out: Path) -> tuple[BoundaryReport | InteractiveBoundaryReport, str]:
    """The report and title of a sharded run that :func:`write_boundary_report` or
    :func:`write_interactive_report` wrote into ``out`` (only a shard's ``summary.json`` holds
    the per-image counts that merging needs).

    Raises
    ------
    FileFormatError
        If ``summary.json`` is missing, not JSON, or not the summary of a sharded run.
    """
    path = Path(out) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSON errors are ValueErrors
        raise FileFormatError(
            f"{out} holds no readable boundary report ({exc}); point to an "
            "`occseg eval boundaries --shard K/N` --out"
        ) from None
    if not isinstance(summary, dict):
        raise FileFormatError(f"{path} is not the summary of a boundary evaluation")
    title = str(summary.get("title", ""))
    if "interactive" in summary:
        from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

        return InteractiveBoundaryReport.from_dict(summary), title
    return BoundaryReport.from_dict(summary), title
