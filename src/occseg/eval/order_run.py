"""Evaluating the CRF occlusion-order labelling over a data set (``occseg eval order``).

:func:`run_order_eval` labels every image from ground-truth inputs (:func:`run_gt_inputs`) or
from a network's maps (:func:`run_model`) and scores OAIR, weighted coverage, mask mAP and the
cycle rate (:mod:`occseg.eval.order`); :func:`occseg.eval.order_report.write_order_report`
writes the results.

Ground-truth inputs (``occseg eval order --gt-inputs``) run the CRF labelling (paper 001,
Sec. 3.2) on inputs taken from the ground truth of a synthetic data set written by
``occseg synth``: the background probability is 1 on the room (id 0) and 0 on objects, and the
oriented occlusion boundaries are built from the instance masks and the ground-truth occlusion
order as in supplement 1.3 (``inputs="order"``, the paper's construction; every boundary pixel
of an object pair gets the pair's direction) or taken pixel by pixel from the scene's geometric
``ob_occludes`` (``inputs="pixels"``).

Synthetic data sets of format version 2 list every object pair at most once: contacts (objects
touching in 3-D) order no pair, and separated occlusions pointing both ways keep the direction
with the longer separated border (:mod:`occseg.synth.boundaries`). Version-1 data sets listed
touching objects in both directions (contact lines give occlusion events whose side flips with
tiny depth differences). Ground truth with both ``(a, b)`` and ``(b, a)`` has no correct answer
for OAIR, so by default (``mutual="majority"``) the ground-truth order keeps, for such object
pairs, the direction with more boundary pixels; the summary also reports OAIR against every
listed pair (``*_all_pairs``) and the number of mutual pairs (0 on version-2 data). With
``inputs="pixels"`` the per-pixel ``ob_occludes`` still hold the contact lines of either
version, oriented by whichever pixel is closer.

The instances' confidence (mask mAP, the confidence sweep of OAIR) is ``score``
(:mod:`occseg.occlusion.scores`): ``"outline_contrast"`` by default, or the paper's ad-hoc
``"paper"`` score of Sec. 5.4; the summary records which.

The labelling's instances are connected components (Sec. 3.2: "two distinct connected
components with the same label are considered to be different instances"), so an object whose
visible part is split by an occluder cannot be one predicted instance. The summary therefore
also reports OAIR against the *representable* ground truth (``*_parts``): every 4-connected
visible part of an object is an instance, and adjacent parts of ordered objects inherit the order
(:func:`~occseg.eval.order.connected_parts`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from occseg.errors import ConfigError, DatasetError
from occseg.eval.order import (
    OrderReport,
    connected_parts,
    evaluate_order,
    oair_counts,
)
from occseg.io.images import shrink_to_side
from occseg.occlusion.convexity import CONVEXITY_WEIGHT
from occseg.occlusion.graph import label_edges
from occseg.occlusion.ordering import (
    InstanceSet,
    extract_instances,
    occ_pairs_from_oriented,
    order_labeling,
    refine_labeling,
)
from occseg.occlusion.pipeline import (
    ORDER_MAX_SIDE,
    check_instance_method,
    order_maps,
    order_masks,
)
from occseg.occlusion.scores import DEFAULT_SCORE, check_score
from occseg.occlusion.targets import occludes_from_instances
from occseg.types import Segmentation

__all__ = [
    "OrderRunResult",
    "check_order_options",
    "cocoa_items",
    "count_order_images",
    "gt_inputs_sample",
    "run_gt_inputs",
    "run_model",
    "run_order_eval",
    "synth_ground_truth",
    "synth_items",
]


def _classes(meta: dict) -> dict[int, int]:
    """Class of each object: its procedural kind's index, one shared class for user meshes
    (the same numbering in every image, as mask mAP needs)."""
    from occseg.synth.scene import KIND_WEIGHTS

    kinds = list(KIND_WEIGHTS)
    return {
        int(o["id"]): kinds.index(o["kind"]) if o.get("kind") in kinds else len(kinds)
        for o in meta.get("objects", [])
    }


def _mutual_keep(counts: dict[tuple[int, int], int], a: int, b: int) -> bool:
    """Whether direction ``a -> b`` survives majority resolution (ties drop both)."""
    return counts.get((a, b), 0) > counts.get((b, a), 0)


def synth_ground_truth(sample, mutual: str = "majority") -> tuple[Segmentation, int]:
    """Ground-truth :class:`Segmentation` of a synthetic sample and its number of mutual pairs.

    ``mutual="majority"`` keeps, for object pairs listed in both directions, the direction with
    more oriented-boundary pixels; ``"all"`` keeps every listed pair.
    """
    classes = _classes(sample.meta)
    inst = sample.instances.astype(np.int64)
    pairs = [(a, b) for a, b in sample.occlusions if a != 0 and b != 0]
    mutual_pairs = {(a, b) for a, b in pairs if (b, a) in pairs}
    if mutual not in ("majority", "all"):
        raise ConfigError(f"mutual must be 'majority' or 'all', got {mutual!r}")
    if mutual == "majority" and mutual_pairs:
        counts = _pixel_counts(inst, occ_pairs_from_oriented(sample.ob_occludes, inst))
        pairs = [p for p in pairs if p not in mutual_pairs or _mutual_keep(counts, *p)]
    ids = [int(i) for i in np.unique(inst) if i != 0]
    seg = Segmentation(inst, {i: classes.get(i, 0) for i in ids}, sorted(set(pairs)))
    return seg, len(mutual_pairs) // 2


def _pixel_counts(inst: np.ndarray, pairs: np.ndarray) -> dict[tuple[int, int], int]:
    a = inst[pairs[:, 0], pairs[:, 1]]
    b = inst[pairs[:, 2], pairs[:, 3]]
    ab, n = np.unique(np.stack([a, b], 1), axis=0, return_counts=True)
    return {(int(x), int(y)): int(c) for (x, y), c in zip(ab.tolist(), n, strict=True)}


def gt_inputs_sample(
    sample,
    gt: Segmentation,
    *,
    inputs: str = "order",
    refine: bool = True,
    max_gap: int = 0,
    lam: float = 20.0,
    mu: float = 100.0,
    score: str = DEFAULT_SCORE,
) -> Segmentation:
    """Run the labelling on ground-truth inputs of one synthetic sample (module notes).

    ``gt`` is the sample's ground truth (:func:`synth_ground_truth`); with ``inputs="order"``
    its occlusion order orients the instance-mask boundaries (supplement 1.3), with
    ``"pixels"`` the scene's per-pixel ``ob_occludes`` are used. ``refine`` adds
    :func:`~occseg.occlusion.ordering.refine_labeling` after the jump moves; ``max_gap`` is the
    adjacency tolerance of the predicted graph (:func:`~occseg.occlusion.graph.label_edges`);
    ``score`` the instances' confidence (:mod:`occseg.occlusion.scores`) from the input
    boundaries.
    """
    inst = sample.instances.astype(np.int64)
    if inputs == "order":
        order = list(gt.edges) + [(i, 0) for i in gt.ids]  # objects occlude the room
        occludes = occludes_from_instances(inst, order)
    elif inputs == "pixels":
        occludes = sample.ob_occludes
    else:
        raise ConfigError(f"inputs must be 'order' or 'pixels', got {inputs!r}")
    bg = (inst == 0).astype(np.float64)
    pairs = occ_pairs_from_oriented(occludes, inst, background=0)
    lut = np.zeros(int(inst.max()) + 1, np.int64)
    for i in gt.ids:
        lut[i] = gt.classes.get(i, 0) + 1
    labels = order_labeling(bg, pairs, lam=lam, mu=mu)
    if refine:
        labels = refine_labeling(labels, bg, pairs, lam=lam, mu=mu)
    boundary = np.asarray(np.any(occludes, axis=2), np.float64)
    got = extract_instances(labels, lut[inst], boundary, score=score)
    return _prediction(got, label_edges(got.instances, got.order, max_gap=max_gap))


def _prediction(got: InstanceSet, edges: list[tuple[int, int]]) -> Segmentation:
    """A labelling's instances as a predicted :class:`Segmentation` (classes shifted back by
    one: class 0 of the instance map is the background)."""
    ids = got.ids.tolist()
    return Segmentation(
        got.instances,
        {i: int(c) - 1 for i, c in zip(ids, got.classes.tolist(), strict=True)},
        edges,
        {i: float(s) for i, s in zip(ids, got.scores.tolist(), strict=True)},
    )


def _open_synth(root: Path, limit: int):
    """The synthetic data set at ``root`` and how many of its samples to evaluate."""
    from occseg.data.synth import read_synth_dataset

    data = read_synth_dataset(root)
    n = len(data) if not limit else min(limit, len(data))
    if n == 0:
        raise DatasetError(f"{root} has no samples")
    return data, n


def _evaluate(
    gts: list[Segmentation], preds: list[Segmentation], seconds: float, **extra
) -> OrderRunResult:
    """OAIR/WC/mAP/cycle rate plus the run's settings and sizes in ``summary.json``."""
    report = evaluate_order(gts, preds)
    report.extra.update(extra)
    report.extra.update(
        {
            "seconds_per_image": seconds / len(preds),
            "n_gt_instances": sum(len(g.ids) for g in gts),
            "n_pred_instances": sum(len(p.ids) for p in preds),
        }
    )
    return OrderRunResult(report.to_dict(), report)


@dataclass
class OrderRunResult:
    """One ``eval order`` run (GT inputs or a network): ``summary.json``, the report, a title."""

    summary: dict
    report: OrderReport
    title: str = ""

    def describe(self) -> str:
        """The headline numbers in one line."""
        s = self.summary

        def f(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.3f}"

        return (
            f"WC={f(s['WC'])} OAIR acc@0.5={f(s['OAIR_accuracy@0.5'])} "
            f"rec@0.5={f(s['OAIR_recall@0.5'])} mAP={f(s['mAP'])} "
            f"cycle_rate={f(s['cycle_rate'])} ({s['n_images']} images)"
            + (
                f"; given instances: recall={f(s['given_recall'])} acc={f(s['given_accuracy'])}"
                if "given_recall" in s
                else ""
            )
        )


def _pooled_oair(
    gts: list[Segmentation], preds: list[Segmentation]
) -> tuple[float | None, float | None, int]:
    counts = [oair_counts(g, p, 0.5) for g, p in zip(gts, preds, strict=True)]
    tot, rec, cor = (sum(c[i] for c in counts) for i in range(3))
    return (rec / tot if tot else None), (cor / rec if rec else None), tot


def run_gt_inputs(
    root: Path,
    *,
    mutual: str = "majority",
    inputs: str = "order",
    refine: bool = True,
    max_gap: int = 0,
    limit: int = 0,
    score: str = DEFAULT_SCORE,
    progress=None,
) -> OrderRunResult:
    """Labelling with ground-truth inputs on a synthetic data set, evaluated against its GT."""
    data, n = _open_synth(root, limit)
    gts, gts_all, preds = [], [], []
    n_mutual = 0
    t0 = time.perf_counter()
    for k in range(n):
        sample = data[k]
        gt, m = synth_ground_truth(sample, mutual)
        gts.append(gt)
        gts_all.append(synth_ground_truth(sample, "all")[0])
        n_mutual += m
        preds.append(
            gt_inputs_sample(sample, gt, inputs=inputs, refine=refine, max_gap=max_gap, score=score)
        )
        if progress:
            progress()
    seconds = time.perf_counter() - t0
    rec_all, acc_all, tot_all = _pooled_oair(gts_all, preds)
    rec_parts, acc_parts, tot_parts = _pooled_oair([connected_parts(g) for g in gts], preds)
    extra = {
        "OAIR_recall@0.5_all_pairs": rec_all,
        "OAIR_accuracy@0.5_all_pairs": acc_all,
        "n_gt_pairs_all": tot_all,
        "OAIR_recall@0.5_parts": rec_parts,
        "OAIR_accuracy@0.5_parts": acc_parts,
        "n_gt_pairs_parts": tot_parts,
    }
    return _evaluate(
        gts, preds, seconds, **extra, n_mutual_object_pairs=n_mutual, mutual=mutual,
        inputs=inputs, refine=refine, max_gap=max_gap, score=score,
    )  # fmt: skip


def _one_class(seg: Segmentation) -> Segmentation:
    return replace(seg, classes=dict.fromkeys(seg.ids, 0))


def synth_items(root: Path, class_names, *, mutual: str = "majority", limit: int = 0):
    """``(rgb, ground truth, mutual pairs)`` of a synthetic data set, classes numbered as the
    network's ``class_names`` (:func:`occseg.occlusion.targets.synth_classes`)."""
    from occseg.occlusion.targets import synth_classes

    data, n = _open_synth(root, limit)
    for k in range(n):
        sample = data[k]
        gt, m = synth_ground_truth(sample, mutual)
        classes = synth_classes(sample.meta, class_names)
        yield sample.rgb, replace(gt, classes={i: classes.get(i, 1) - 1 for i in gt.ids}), m


def cocoa_items(root: Path, *, limit: int = 0):
    """``(rgb, ground truth, 0)`` of a COCOA folder (``N.jpg`` + ``N.json``): the visible
    regions as instances and the annotated order (:mod:`occseg.data.cocoa`)."""
    from occseg.data.cocoa import list_cocoa_folder, read_cocoa_image
    from occseg.io.images import check_same_size, read_image

    paths = list_cocoa_folder(root)
    if not paths:
        raise DatasetError(f"{root} has no COCOA N.json files")
    for path in paths[:limit] if limit else paths:
        sample = read_cocoa_image(path)
        rgb = read_image(sample.image_path)
        check_same_size(
            rgb, sample.instances, image_name=str(sample.image_path), mask_name=str(path)
        )
        yield rgb, sample.to_segmentation(), 0


def run_model(
    items,
    model,
    *,
    instances: str = "regions",
    max_gap: int = 0,
    class_agnostic: bool = False,
    score: str = DEFAULT_SCORE,
    convexity: float = CONVEXITY_WEIGHT,
    merge_regions: bool = True,
    max_side: int = ORDER_MAX_SIDE,
    progress=None,
    **settings,
) -> OrderRunResult:
    """Network maps + instances and order (``instances``: ``"regions"`` or the paper's
    ``"crf"``, :func:`occseg.occlusion.pipeline.order_maps`) of ``(rgb, ground truth, mutual
    pairs)`` items (:func:`synth_items`, :func:`cocoa_items`), evaluated against their ground
    truth.

    ``model`` has ``class_names`` and ``predict_maps(image)``
    (:class:`occseg.predict.ordernet.OrderNetPredictor`). ``class_agnostic`` puts every
    ground-truth and predicted instance in one class, so OAIR and mAP match by IoU alone.
    ``score`` is the instances' confidence (:mod:`occseg.occlusion.scores`); ``convexity`` the
    weight of the convexity cue when the ground-truth instances are ordered as given masks
    (:func:`occseg.occlusion.pipeline.order_masks`, the ``given_*`` results);
    ``merge_regions`` gives the image to :func:`~occseg.occlusion.pipeline.order_maps`, which
    then joins regions of matching colour across weak boundaries. As in
    :func:`~occseg.occlusion.pipeline.order_image`, the network and the labelling see each
    image shrunk to at most ``max_side`` pixels (0: full size), the given masks too, and the
    instances are scored at the ground truth's size. ``settings`` go into the summary.
    """
    gts, preds = [], []
    n_mutual = 0
    given = {"right": 0, "reversed": 0, "proposed": 0, "pairs": 0}
    t0 = time.perf_counter()
    for rgb, gt, m in items:
        small = shrink_to_side(rgb, max_side)
        maps = model.predict_maps(small)
        result = order_maps(
            maps,
            image=small if merge_regions else None,
            instances=instances,
            max_gap=max_gap,
            score=score,
        )
        pred = _prediction(result.at_size(rgb.shape[:2]).instances, result.edges)
        masks = [
            shrink_to_side((gt.instances == i).astype(np.float32), max_side) >= 0.5 for i in gt.ids
        ]
        _count_given(
            given,
            gt,
            order_masks(maps, masks, decoded=result.boundaries, convexity=convexity),
        )
        if class_agnostic:
            gt, pred = _one_class(gt), _one_class(pred)
        gts.append(gt)
        preds.append(pred)
        n_mutual += m
        if progress:
            progress()
    seconds = time.perf_counter() - t0
    return _evaluate(
        gts, preds, seconds, n_mutual_object_pairs=n_mutual, instances=instances,
        convexity=convexity, max_gap=max_gap, class_agnostic=class_agnostic, score=score,
        merge_regions=merge_regions and instances == "regions", max_side=max_side,
        **_given_summary(given), **settings,
    )  # fmt: skip


def _count_given(counts: dict[str, int], gt: Segmentation, pairs: list[tuple[int, int]]) -> None:
    """Add one image's ordering of its ground-truth instances to ``counts``."""
    ids = gt.ids
    edges = {(ids[f], ids[b]) for f, b in pairs}
    listed = set(gt.edges)
    counts["right"] += len(edges & listed)
    counts["reversed"] += len({(b, f) for f, b in edges} & listed)
    counts["proposed"] += len(edges)
    counts["pairs"] += len(listed)


def _given_summary(counts: dict[str, int]) -> dict[str, Any]:
    """The ground-truth instances ordered as the app orders annotated objects
    (:func:`occseg.occlusion.pipeline.order_masks`): recall = listed pairs found in the right
    direction / listed pairs; accuracy = right / (right + reversed); pairs proposed that the
    ground truth does not list either way are counted apart."""
    right, rev = counts["right"], counts["reversed"]
    return {
        "given_recall": right / counts["pairs"] if counts["pairs"] else None,
        "given_accuracy": right / (right + rev) if right + rev else None,
        "given_proposed": counts["proposed"],
        "given_unlisted": counts["proposed"] - right - rev,
        "given_gt_pairs": counts["pairs"],
    }


def _parse_dataset(dataset: str) -> tuple[str, str]:
    """``KIND:PATH`` → (lower-case kind, path text)."""
    kind, _, path = dataset.partition(":")
    return kind.strip().lower(), path.strip()


def check_order_options(
    dataset: str,
    *,
    gt_inputs: bool = False,
    model: str | os.PathLike | None = None,
    mutual: str = "majority",
    inputs: str = "order",
    max_gap: int = 0,
    limit: int = 0,
    class_agnostic: bool = False,
    score: str = DEFAULT_SCORE,
    instances: str | None = None,
    merge_regions: bool = True,
    max_side: int | None = None,
) -> None:
    """Refuse options of :func:`run_order_eval` that do not fit together (before any work).

    Raises
    ------
    ConfigError
        With the first problem found.
    """
    kind, path = _parse_dataset(dataset)
    if gt_inputs == (model is not None):
        raise ConfigError("give exactly one of --gt-inputs and --model (ordernet or a PATH)")
    if kind not in ("synth", "cocoa") or not path or (gt_inputs and kind != "synth"):
        raise ConfigError(
            f"--dataset must be synth:PATH (or cocoa:PATH with --model), got {dataset!r}"
        )
    if mutual not in ("majority", "all") or inputs not in ("order", "pixels"):
        raise ConfigError("--mutual must be majority or all, --inputs order or pixels")
    if class_agnostic and model is None:
        raise ConfigError("--class-agnostic needs --model (GT inputs carry the GT classes)")
    if limit < 0 or max_gap not in (0, 1):
        raise ConfigError("--limit must be >= 0 and --max-gap 0 or 1")
    check_score(score)
    if instances is not None and model is None:
        raise ConfigError("--instances needs --model (GT inputs are labelled by the CRF)")
    if not merge_regions and model is None:
        raise ConfigError("--no-merge-regions needs --model (GT inputs are labelled by the CRF)")
    if max_side is not None and model is None:
        raise ConfigError("--max-side needs --model (GT inputs are labelled at full size)")
    if max_side is not None and (max_side < 0 or 0 < max_side < 32):
        raise ConfigError(f"--max-side must be 0 (full size) or at least 32, got {max_side}")
    check_instance_method(instances or "regions", merge_regions=merge_regions)
    if model is not None:
        from occseg.predict.ordernet import order_model_path

        order_model_path(model)


def count_order_images(dataset: str, *, limit: int = 0) -> int:
    """How many images :func:`run_order_eval` will label (``synth:PATH`` or ``cocoa:PATH``)."""
    kind, path = _parse_dataset(dataset)
    root = Path(path).expanduser()
    if kind == "cocoa":
        from occseg.data.cocoa import list_cocoa_folder

        total = len(list_cocoa_folder(root))
    else:
        from occseg.data.synth import read_synth_dataset

        total = len(read_synth_dataset(root))
    return min(limit, total) if limit else total


def run_order_eval(
    dataset: str,
    *,
    gt_inputs: bool = False,
    model: str | os.PathLike | None = None,
    mutual: str = "majority",
    inputs: str = "order",
    refine: bool = True,
    max_gap: int = 0,
    limit: int = 0,
    class_agnostic: bool = False,
    score: str = DEFAULT_SCORE,
    instances: str | None = None,
    convexity: float = CONVEXITY_WEIGHT,
    merge_regions: bool = True,
    max_side: int | None = None,
    progress: Callable[[], None] | None = None,
) -> OrderRunResult:
    """OAIR, weighted coverage, mask mAP and cycle rate of occlusion-ordered instances.

    ``dataset`` is ``synth:PATH`` (a folder written by ``occseg synth``) or, with ``model``,
    ``cocoa:PATH`` (a folder of ``N.jpg`` + ``N.json``; COCO classes are not the network's, so
    instances are matched by IoU alone). Give exactly one of ``gt_inputs`` (labels from the
    ground truth's background and oriented boundaries, :func:`run_gt_inputs`) and ``model`` (a
    checkpoint of ``occseg train order``, or ``"ordernet"``: the shipped one;
    :func:`run_model`, whose ``instances`` are ``"regions"`` by default or ``"crf"``, and
    ``convexity`` weighs the convexity cue; ``merge_regions`` joins regions of matching colour
    across weak boundaries, and ``max_side`` (default
    :data:`~occseg.occlusion.pipeline.ORDER_MAX_SIDE`) bounds the size they work at,
    :func:`run_model`). ``score`` names the instances' confidence
    (:mod:`occseg.occlusion.scores`). The result's ``title`` names the run.

    Raises
    ------
    ConfigError
        If the options do not fit together (:func:`check_order_options`).
    """
    check_order_options(
        dataset, gt_inputs=gt_inputs, model=model, mutual=mutual, inputs=inputs,
        max_gap=max_gap, limit=limit, class_agnostic=class_agnostic, score=score,
        instances=instances, merge_regions=merge_regions, max_side=max_side,
    )  # fmt: skip
    kind, path = _parse_dataset(dataset)
    root = Path(path).expanduser()
    if model is None:
        result = run_gt_inputs(
            root, mutual=mutual, inputs=inputs, refine=refine, max_gap=max_gap, limit=limit,
            score=score, progress=progress,
        )  # fmt: skip
        result.title = f"CRF occlusion order with ground-truth inputs on {dataset}"
        return result
    from occseg.predict.ordernet import load_order_model

    predictor = load_order_model(model)
    items: Iterable[tuple[np.ndarray, Segmentation, int]]
    if kind == "cocoa":  # COCO classes are not the network's: match by IoU alone
        items, agnostic, settings = cocoa_items(root, limit=limit), True, {}
    else:
        items = synth_items(root, predictor.class_names, mutual=mutual, limit=limit)
        agnostic, settings = class_agnostic, {"mutual": mutual}
    method = instances or "regions"
    result = run_model(
        items, predictor, instances=method, max_gap=max_gap, class_agnostic=agnostic,
        score=score, convexity=convexity, merge_regions=merge_regions,
        max_side=ORDER_MAX_SIDE if max_side is None else max_side, progress=progress, **settings,
    )  # fmt: skip
    result.summary["model"] = str(model)
    how = "boundary regions" if method == "regions" else "CRF labelling"
    result.title = f"Occlusion order ({how}) with the network {model} on {dataset}"
    return result
