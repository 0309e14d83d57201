"""Writing evaluation results: JSON (machine-readable), a Markdown table and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from occseg.errors import FileFormatError
from occseg.eval.clicks import ClickReport, SampleResult, click_from_json, clicks_to_json
from occseg.io.atomic import atomic_write_json, atomic_write_text


def click_summary_markdown(summaries: list[dict]) -> str:
    """A Markdown table with one row per summary (method) of a click evaluation."""
    if not summaries:
        return ""
    ks = list(summaries[0]["mIoU@k"])
    max_clicks = summaries[0]["max_clicks"]
    head = ["method", "samples", "NoC@85", "NoC@90", f"NoC@90≥{max_clicks}"]
    head += [f"mIoU@{k}" for k in ks] + ["s/click"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        row = [
            str(s.get("method", "?")),
            str(s["n_samples"]),
            f"{s['NoC@85']:.2f}",
            f"{s['NoC@90']:.2f}",
            str(s[f"NoC@90>={max_clicks}"]),
        ]
        row += [f"{100 * s['mIoU@k'][k]:.1f}" for k in ks] + [f"{s['seconds_per_click']:.3f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_miou_curves(curves: dict[str, np.ndarray], path: Path, title: str = "") -> None:
    """Plot mean IoU against the number of clicks, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for name, curve in curves.items():
        ax.plot(np.arange(1, len(curve) + 1), 100 * np.asarray(curve), marker="o", ms=3, label=name)
    ax.set_xlabel("number of clicks")
    ax.set_ylabel("mIoU (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def write_click_report(report: ClickReport, out: Path, *, title: str = "") -> dict:
    """Write ``summary.json``, ``per_sample.json``, ``summary.md`` and ``miou_vs_clicks.png``.

    Returns the summary dictionary.
    """
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    atomic_write_json(out / "summary.json", summary)
    per_sample = [
        {
            "name": r.name,
            "ious": [round(v, 6) for v in r.ious],
            "clicks": clicks_to_json(r.clicks),
            "seconds": round(r.seconds, 6),
        }
        for r in report.results
    ]
    atomic_write_json(out / "per_sample.json", per_sample)
    md = f"# Click evaluation{': ' + title if title else ''}\n\n" + click_summary_markdown(
        [summary]
    )
    atomic_write_text(out / "summary.md", md)
    if report.results:
        plot_miou_curves(
            {summary.get("method", "method"): report.miou_curve()},
            out / "miou_vs_clicks.png",
            title,
        )
    return summary


def read_click_report(out: Path) -> ClickReport:
    """Read back the report :func:`write_click_report` wrote into ``out``.

    IoUs and seconds are as written (rounded to 1e-6); the meta (method, options, data set,
    shard) comes from ``summary.json``.

    Raises
    ------
    FileFormatError
        If ``summary.json`` or ``per_sample.json`` is missing or malformed.
    """
    out = Path(out)
    try:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        per_sample = json.loads((out / "per_sample.json").read_text(encoding="utf-8"))
        results = [
            SampleResult(
                str(r["name"]),
                [float(v) for v in r["ious"]],
                [click_from_json(c) for c in r["clicks"]],
                float(r["seconds"]),
            )
            for r in per_sample
        ]
        max_clicks = int(summary["max_clicks"])
    except (OSError, KeyError, TypeError, ValueError) as exc:  # JSON errors are ValueErrors
        raise FileFormatError(
            f"{out} holds no readable click report ({exc}); point to an `occseg eval clicks` --out"
        ) from None
    standard = ClickReport([], max_clicks).summary()
    meta = {k: v for k, v in summary.items() if k not in standard}
    return ClickReport(results, max_clicks, meta=meta)
