"""Writing selection-crop results: ``summary.json``, ``per_object.json``, a Markdown table and
the recall/area-vs-padding plot (paper ``002``, Fig. 3a)."""

from __future__ import annotations

import os
from pathlib import Path

from occseg.eval.clicks import clicks_to_json
from occseg.eval.selection_recall import SelectionRecallReport
from occseg.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["plot_selection_recall", "selection_markdown", "write_selection_report"]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def selection_markdown(summary: dict, title: str = "") -> str:
    """``summary.md``: one table row per padding (instance recall %, mean crop area %)."""
    lines = [f"# Selection crop{': ' + title if title else ''}", ""]
    lines += ["| padding (px) | instance recall % | mean crop area % |", "|---:|---:|---:|"]
    for row in summary["pads"]:
        pad = f"{row['pad']} (model)" if row["pad"] == summary["model_pad"] else str(row["pad"])
        lines.append(
            f"| {pad} | {_percent(row['instance_recall'])} | {_percent(row['mean_area_share'])} |"
        )
    missed = summary["missed_at_model_pad"]
    relative = summary.get("relative_pad", 0.0)
    also = f" and by {relative:g} of the box's size" if relative else ""
    lines += [
        "",
        f"{summary['n_objects']} objects ({summary['n_empty']} empty ones skipped); crop: "
        f"selection probability > {summary['threshold']}, padded{also} (paper 002, Sec. 4.2). "
        "Instance recall: the share of objects entirely inside the crop; crop area: the crop's "
        "share of the image, averaged over objects. One-click selection mIoU: "
        f"{_percent(summary['selection_mIoU'])} %.",
        "",
        f"Missed at the model's padding ({summary['model_pad']} px): "
        + (", ".join(missed) if missed else "none")
        + ".",
        "",
        "![recall and area vs padding](recall_vs_padding.png)",
        "",
    ]
    return "\n".join(lines)


def plot_selection_recall(summary: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Plot instance recall and mean crop area (both in %) against the padding in pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary["pads"] if r["instance_recall"] is not None]
    pads = [r["pad"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(pads, [100 * r["instance_recall"] for r in rows], marker="o", label="instance recall")
    ax.plot(pads, [100 * r["mean_area_share"] for r in rows], marker="s", label="mean crop area")
    ax.axvline(summary["model_pad"], color="0.6", ls=":", label="model padding")
    ax.set(xlabel="padding (pixels)", ylabel="% (of objects / of the image area)", title=title)
    ax.set_ylim(0, 101)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def write_selection_report(
    report: SelectionRecallReport, out: str | os.PathLike, *, title: str = ""
) -> dict:
    """Write ``summary.json``, ``per_object.json``, ``summary.md`` and ``recall_vs_padding.png``
    of ``report`` into ``out``; return the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    atomic_write_json(out / "summary.json", summary)
    per_object = [
        {
            "name": r.name,
            "click": clicks_to_json([r.click])[0] if r.click is not None else None,
            "object_box": r.object_box,
            "crops": {str(p): box for p, box in r.crops.items()},
            "iou": r.iou,
        }
        for r in report.results
    ]
    atomic_write_json(out / "per_object.json", per_object)
    atomic_write_text(out / "summary.md", selection_markdown(summary, title))
    plot_selection_recall(summary, out / "recall_vs_padding.png", title=title)
    return summary
