"""Occlusion-ordered instance segmentation metrics (paper 001, Sec. 4 and 5).

* **OAIR** (Sec. 4): predicted instances are matched to ground-truth instances of the same class,
  highest confidence first, each to the unmatched ground truth of largest IoU if that IoU reaches
  the threshold (predictions below a minimum confidence are ignored). A ground-truth occlusion
  pair ``(front, back)`` is *recovered* when both ends are matched and *correctly ordered* when
  the prediction's occlusion graph has a directed path from the front's match to the back's and
  none the other way. Recall = recovered / pairs, accuracy = correct / recovered (counts pooled
  over images); sweeping the IoU threshold (0.5-0.95) or the confidence gives the OAIR curves.
* **Weighted coverage** (Eq. 16): ``WC = 1/n sum_i |r_i| max_j IoU(r_i, s_j)``. The extracted
  text says ``n`` is "the number of pixels in the image" but also that the best value is 1 for a
  perfect segmentation; with background that is not an instance only ``n = sum_i |r_i|`` (the
  ground-truth instance area, as in the WC of Silberman et al.) gives both, so that is the
  reading used here. The data-set WC is the mean over images.
* **Mask mAP@[.5:.95]**: COCO's protocol (pycocotools) with the ad-hoc confidences.
* **Cycle rate**: percentage of predicted instances that lie on a cycle of their graph (Sec. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from occseg.occlusion.graph import cycle_fraction, find_cycles, reachability
from occseg.types import Segmentation

__all__ = [
    "OrderReport",
    "connected_parts",
    "evaluate_order",
    "iou_matrix",
    "mask_map",
    "match_instances",
    "oair_counts",
    "plot_oair",
    "weighted_coverage",
]

IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())


def iou_matrix(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, list[int], list[int]]:
    """IoU of every ground-truth id (rows) with every predicted id (columns), ids without 0."""
    g = np.asarray(gt).astype(np.int64).ravel()
    p = np.asarray(pred).astype(np.int64).ravel()
    gi, g_idx = np.unique(g, return_inverse=True)
    pi, p_idx = np.unique(p, return_inverse=True)
    inter = np.bincount(g_idx * len(pi) + p_idx, minlength=len(gi) * len(pi))
    inter = inter.reshape(len(gi), len(pi)).astype(np.float64)
    area_g, area_p = inter.sum(1), inter.sum(0)
    union = area_g[:, None] + area_p[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    rows, cols = gi != 0, pi != 0
    return iou[rows][:, cols], gi[rows].tolist(), pi[cols].tolist()


def match_instances(
    gt: Segmentation, pred: Segmentation, iou_threshold: float = 0.5, min_score: float = -np.inf
) -> dict[int, int]:
    """Greedy matching of Sec. 4: ``{pred_id: gt_id}``."""
    iou, g_ids, p_ids = iou_matrix(gt.instances, pred.instances)
    order = sorted(
        (j for j, pid in enumerate(p_ids) if pred.scores.get(pid, 0.0) >= min_score),
        key=lambda j: -pred.scores.get(p_ids[j], 0.0),
    )
    used = np.zeros(len(g_ids), bool)
    g_cls = np.array([gt.classes.get(g, 0) for g in g_ids])
    out = {}
    for j in order:
        cand = (~used) & (g_cls == pred.classes.get(p_ids[j], 0))
        if not cand.any():
            continue
        col = np.where(cand, iou[:, j], -1.0)
        i = int(col.argmax())
        if col[i] >= iou_threshold and col[i] > 0:
            used[i] = True
            out[p_ids[j]] = g_ids[i]
    return out


def oair_counts(
    gt: Segmentation, pred: Segmentation, iou_threshold: float = 0.5, min_score: float = -np.inf
) -> tuple[int, int, int]:
    """``(ground-truth pairs, recovered pairs, correctly ordered pairs)`` of one image."""
    match = match_instances(gt, pred, iou_threshold, min_score)
    to_pred = {g: p for p, g in match.items()}
    pairs = sorted(set(gt.edges))
    ids = pred.ids
    pos = {p: k for k, p in enumerate(ids)}
    reach = reachability(ids, pred.edges)
    recovered = correct = 0
    for front, back in pairs:
        if front in to_pred and back in to_pred:
            recovered += 1
            a, b = pos[to_pred[front]], pos[to_pred[back]]
            correct += bool(reach[a, b] and not reach[b, a])
    return len(pairs), recovered, correct


def connected_parts(seg: Segmentation) -> Segmentation:
    """Ground truth as the labelling of Sec. 3.2 can represent it: one instance per 4-connected
    visible part of an object (same class); adjacent parts of two objects ordered ``(a, b)``
    get the edge ``(part of a, part of b)``. Ids are renumbered from 1; scores are dropped."""
    from skimage.measure import label

    inst = np.asarray(seg.instances).astype(np.int64)
    parts = label(inst, background=0, connectivity=1).astype(np.int64)
    owner = np.zeros(int(parts.max()) + 1, np.int64)
    owner[parts.ravel()] = inst.ravel()
    ordered = set(seg.edges)
    edges = set()
    for a, b in ((parts[:, 1:], parts[:, :-1]), (parts[1:], parts[:-1])):
        touch = (a != b) & (a > 0) & (b > 0)
        for pa, pb in np.unique(np.stack([a[touch], b[touch]], 1), axis=0).tolist():
            for x, y in ((pa, pb), (pb, pa)):
                if (int(owner[x]), int(owner[y])) in ordered:
                    edges.add((x, y))
    classes = {i: seg.classes.get(int(owner[i]), 0) for i in range(1, len(owner))}
    return Segmentation(parts, classes, sorted(edges))


def weighted_coverage(gt: np.ndarray, pred: np.ndarray) -> float:
    """Eq. 16 with ``n`` = ground-truth instance area (see the module notes); NaN without GT."""
    iou, _, _ = iou_matrix(gt, pred)
    g = np.asarray(gt).ravel()
    ids, area = np.unique(g[g != 0], return_counts=True)
    if not len(ids):
        return float("nan")
    best = iou.max(1) if iou.shape[1] else np.zeros(len(ids))
    return float((area * best).sum() / area.sum())


def mask_map(gts: Sequence[Segmentation], preds: Sequence[Segmentation]) -> float:
    """COCO mask mAP@[.5:.95] (pycocotools) of the predictions with their scores."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from occseg.io.coco import mask_to_rle

    images: list[dict] = []
    anns: list[dict] = []
    dets: list[dict] = []
    cats: set[int] = set()
    for k, (gt, pred) in enumerate(zip(gts, preds, strict=True)):
        h, w = gt.instances.shape
        images.append({"id": k, "height": h, "width": w})
        for i in gt.ids:
            m = gt.instances == i
            c = int(gt.classes.get(i, 0)) + 1
            cats.add(c)
            rle = mask_to_rle(m)
            ys, xs = np.nonzero(m)
            bbox = [float(xs.min()), float(ys.min()), float(np.ptp(xs) + 1), float(np.ptp(ys) + 1)]
            anns.append(
                {"id": len(anns) + 1, "image_id": k, "category_id": c, "segmentation": rle,
                 "area": float(m.sum()), "bbox": bbox, "iscrowd": 0}
            )  # fmt: skip
        for i in pred.ids:
            c = int(pred.classes.get(i, 0)) + 1
            cats.add(c)
            dets.append(
                {"image_id": k, "category_id": c, "segmentation": mask_to_rle(pred.instances == i),
                 "score": float(pred.scores.get(i, 0.0))}
            )  # fmt: skip
    if not anns:
        return float("nan")
    if not dets:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": c, "name": str(c)} for c in sorted(cats)],
        }
        coco.createIndex()
        dt = coco.loadRes(dets)
        ev = COCOeval(coco, dt, iouType="segm")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(max(ev.stats[0], 0.0))


@dataclass
class OrderReport:
    """Data-set results; curves hold ``(threshold, recall, accuracy)`` rows."""

    wc: float
    map: float
    cycle_rate: float
    images_with_cycles: float
    iou_curve: list[tuple[float, float, float]]
    score_curve: list[tuple[float, float, float]]
    n_images: int
    n_pairs: int
    extra: dict = field(default_factory=dict)

    def point(self, iou: float) -> tuple[float, float]:
        for t, r, a in self.iou_curve:
            if math.isclose(t, iou):
                return r, a
        raise KeyError(iou)

    def to_dict(self) -> dict:
        r50, a50 = self.point(0.5)

        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        out = {
            "WC": clean(self.wc),
            "OAIR_accuracy@0.5": clean(a50),
            "OAIR_recall@0.5": clean(r50),
            "mAP": clean(self.map),
            "cycle_rate": clean(self.cycle_rate),
            "images_with_cycles": clean(self.images_with_cycles),
            "n_images": self.n_images,
            "n_gt_pairs": self.n_pairs,
            "oair_iou_curve": [
                {"iou": t, "recall": clean(r), "accuracy": clean(a)} for t, r, a in self.iou_curve
            ],
            "oair_score_curve": [
                {"min_score": t, "recall": clean(r), "accuracy": clean(a)}
                for t, r, a in self.score_curve
            ],
        }
        out.update({k: clean(v) for k, v in self.extra.items()})
        return out


def _pooled(counts: list[tuple[int, int, int]]) -> tuple[float, float]:
    n, rec, cor = (sum(c[k] for c in counts) for k in range(3))
    recall = rec / n if n else float("nan")
    accuracy = cor / rec if rec else float("nan")
    return recall, accuracy


def evaluate_order(
    gts: Sequence[Segmentation],
    preds: Sequence[Segmentation],
    *,
    iou_thresholds: Sequence[float] = IOU_THRESHOLDS,
    n_score_thresholds: int = 6,
    compute_map: bool = True,
) -> OrderReport:
    """OAIR curves, weighted coverage, mask mAP and cycle rate over a data set."""
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} ground truths but {len(preds)} predictions")
    iou_curve = []
    for t in iou_thresholds:
        r, a = _pooled([oair_counts(g, p, t) for g, p in zip(gts, preds, strict=True)])
        iou_curve.append((float(t), r, a))
    scores = np.array([s for p in preds for s in (p.scores.get(i, 0.0) for i in p.ids)])
    score_curve = []
    if scores.size:
        for t in np.quantile(scores, np.linspace(0, 1, n_score_thresholds, endpoint=False)):
            r, a = _pooled([oair_counts(g, p, 0.5, t) for g, p in zip(gts, preds, strict=True)])
            score_curve.append((float(t), r, a))
    wcs = [weighted_coverage(g.instances, p.instances) for g, p in zip(gts, preds, strict=True)]
    wcs = [w for w in wcs if not math.isnan(w)]
    n_inst = sum(len(p.ids) for p in preds)
    in_cycles = sum(cycle_fraction(p.ids, p.edges) * len(p.ids) for p in preds)
    with_cycles = sum(bool(find_cycles(p.ids, p.edges)) for p in preds)
    return OrderReport(
        wc=float(np.mean(wcs)) if wcs else float("nan"),
        map=mask_map(gts, preds) if compute_map else float("nan"),
        cycle_rate=in_cycles / n_inst if n_inst else 0.0,
        images_with_cycles=with_cycles / len(preds) if preds else 0.0,
        iou_curve=iou_curve,
        score_curve=score_curve,
        n_images=len(gts),
        n_pairs=sum(len(set(g.edges)) for g in gts),
    )


def plot_oair(report: OrderReport, path: str | Path, *, label: str = "occseg") -> None:
    """OAIR curves as in Fig. 9: IoU sweep (left) and confidence sweep at IoU 0.5 (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, curve, title in (
        (axes[0], report.iou_curve, "IoU threshold 0.5-0.95"),
        (axes[1], report.score_curve, "minimum confidence (IoU 0.5)"),
    ):
        pts = [(r, a) for _, r, a in curve if math.isfinite(r) and math.isfinite(a)]
        if pts:
            r, a = zip(*pts, strict=True)
            ax.plot(r, a, "o-", label=label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("accuracy")
        ax.set_title(f"OAIR: {title}")
        ax.grid(alpha=0.3)
        if pts:
            ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
