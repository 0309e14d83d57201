"""Writing occlusion-order results: ``summary.json``, a Markdown table and the OAIR curves."""

from __future__ import annotations

import json
import os
from pathlib import Path

from occseg.eval.order import plot_oair
from occseg.eval.order_run import OrderRunResult
from occseg.io.atomic import atomic_write_text

__all__ = ["write_order_report"]


def _settings_text(s: dict, f) -> str:
    """The run's inputs and ground truth in words, for ``summary.md``."""
    if s.get("model"):
        classes = "by IoU alone (one class)" if s.get("class_agnostic") else "by class and IoU"
        side = s.get("max_side")
        size = "at full size" if not side else f"at most {side} px long"
        return (
            f"Inputs: the maps of {s['model']} {size}, graph adjacency gap {s.get('max_gap')}; "
            f"instances matched {classes}. Ground-truth order: {s['n_gt_pairs']} pairs. "
            f"The ground-truth instances ordered by the network's oriented boundaries, as the "
            f"app orders annotated objects: recall {f(s.get('given_recall'))}, accuracy "
            f"{f(s.get('given_accuracy'))} ({s.get('given_proposed')} pairs proposed, "
            f"{s.get('given_unlisted')} of them not in the ground truth)."
        )
    return (
        f"Inputs: ground-truth boundaries oriented by {s.get('inputs')}"
        f"{', refined' if s.get('refine') else ', plain jump moves'}, graph adjacency gap "
        f"{s.get('max_gap')}. "
        f"Ground-truth order: {s['n_gt_pairs']} object pairs ({s.get('mutual')} for the "
        f"{s.get('n_mutual_object_pairs')} mutually occluding pairs). Against every listed pair: "
        f"OAIR accuracy {f(s.get('OAIR_accuracy@0.5_all_pairs'))}, recall "
        f"{f(s.get('OAIR_recall@0.5_all_pairs'))}. Against the connected visible parts: "
        f"OAIR accuracy {f(s.get('OAIR_accuracy@0.5_parts'))}, recall "
        f"{f(s.get('OAIR_recall@0.5_parts'))}."
    )


def write_order_report(result: OrderRunResult, out: str | os.PathLike) -> dict:
    """Write ``summary.json``, ``summary.md`` and ``oair.png`` of ``result`` into ``out``; return
    the summary (with the run's title)."""
    out = Path(out)
    title = result.title
    out.mkdir(parents=True, exist_ok=True)
    s = dict(result.summary, title=title)
    atomic_write_text(out / "summary.json", json.dumps(s, indent=2, allow_nan=False) + "\n")

    def f(v) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    md = [
        f"# {title}",
        "",
        "| images | WC | OAIR acc@0.5 | OAIR rec@0.5 | mAP | cycle rate |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s['n_images']} | {f(s['WC'])} | {f(s['OAIR_accuracy@0.5'])} | "
        f"{f(s['OAIR_recall@0.5'])} | {f(s['mAP'])} | {f(s['cycle_rate'])} |",
        "",
        _settings_text(s, f),
        "",
        "![OAIR curves](oair.png)",
        "",
    ]
    atomic_write_text(out / "summary.md", "\n".join(md))
    label = "network + CRF" if s.get("model") else "CRF, GT inputs"
    plot_oair(result.report, out / "oair.png", label=label)
    return s
