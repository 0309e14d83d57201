"""The boundary benchmark of a detector, an OB model or an order model over a data set
(``occseg eval boundaries``).

:func:`check_boundary_options` validates the run before anything is read,
:func:`open_boundary_benchmark` opens the images to evaluate (their number sizes a progress bar),
:func:`run_boundary_benchmark` scores them and :func:`write_boundary_run` writes the report. An
OB model's maps are thinned by edge NMS before the benchmark (paper 000, Sec. 3.2), and so are
an order model's boundary maps (:func:`order_boundary_maps`), which come with an occlusion
orientation: on data with orientation ground truth (``synth``, ``piod``, ``p2orm``) the report
then also holds the oriented numbers of the PIOD "OPR" protocol (paper 001, Tab. 4).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import tee
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from occseg.data.boundary_sample import BoundaryDataset
from occseg.errors import ConfigError, DatasetError, FileFormatError
from occseg.eval.boundaries import BoundaryReport, boundary_pr, merge_boundary_reports
from occseg.eval.boundary_report import write_boundary_report, write_interactive_report
from occseg.occlusion.decode import orientation_angle
from occseg.occlusion.detectors import DETECTORS, detect_boundaries
from occseg.parallel import Shard
from occseg.predict.boundary_map import DEFAULT_OB_NAME, default_ob_model

if TYPE_CHECKING:
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport
    from occseg.occlusion.pipeline import OrderModel

__all__ = [
    "BoundaryRun",
    "boundary_model_kind",
    "boundary_model_path",
    "check_boundary_options",
    "open_boundary_benchmark",
    "order_boundary_maps",
    "run_boundary_benchmark",
    "write_boundary_run",
]

#: What a model checkpoint given as ``--method`` is: an OB model or an occlusion-order model.
ModelKind = Literal["ob", "order"]
#: Image → (soft boundary map, occlusion orientation or None).
Detector = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def boundary_model_path(method: str) -> Path | None:
    """None for a detector name (:data:`~occseg.occlusion.detectors.DETECTORS`), else the path
    of a model checkpoint: the shipped OB model for ``"obnet"``
    (:func:`~occseg.predict.boundary_map.default_ob_model`), the shipped order model for
    ``"ordernet"`` (:func:`~occseg.predict.ordernet.default_order_model`; the names win over
    files called so), or ``method`` itself.

    Raises
    ------
    ConfigError
        If ``method`` is neither a detector, nor a name whose shipped model is installed, nor an
        existing file.
    """
    from occseg.predict.ordernet import DEFAULT_ORDER_NAME, default_order_model

    if method in DETECTORS:
        return None
    if method == DEFAULT_OB_NAME:
        return default_ob_model()
    if method == DEFAULT_ORDER_NAME:
        return default_order_model()
    if not Path(method).is_file():
        raise ConfigError(
            f"unknown --method {method!r}; use one of {', '.join(DETECTORS)}, "
            f"{DEFAULT_OB_NAME} (the shipped OB model), {DEFAULT_ORDER_NAME} (the shipped order "
            "model) or the path of an OB or order model checkpoint"
        )
    return Path(method)


def boundary_model_kind(model: Path) -> ModelKind:
    """``"ob"`` for a checkpoint of ``occseg train boundaries``, ``"order"`` for one of
    ``occseg train order`` (by the checkpoint's format field; the weights are not read).

    Raises
    ------
    FileFormatError
        If ``model`` is neither.
    """
    from occseg.checkpoint import OB_FORMAT, ORDER_FORMAT, checkpoint_format

    found = checkpoint_format(model)
    if found == OB_FORMAT:
        return "ob"
    if found == ORDER_FORMAT:
        return "order"
    raise FileFormatError(
        f"{model} is not an OB or order model checkpoint"
        + (f" (its format is {found})" if found else "")
        + "; give the model.pt written by `occseg train boundaries` or `occseg train order`"
    )


def check_boundary_options(
    method: str,
    *,
    interactive: bool = False,
    oracle: bool = False,
    threshold: float = 0.7,
    max_segments: int = 0,
    limit: int = 0,
    jobs: int = 1,
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    shard: Shard | None = None,
    flip: bool = False,
) -> None:
    """Refuse options that do not fit together or are out of range (before any work); a model
    checkpoint's format field is read last (:func:`boundary_model_kind`).

    Raises
    ------
    ConfigError
        With the first problem found (``interactive`` or ``flip`` without an OB model
        included).
    FileFormatError
        If the model file is not an OB or order model checkpoint.
    """
    model = boundary_model_path(method)
    ob_only = "--interactive" if interactive else "--flip" if flip else None  # OB-model options
    if ob_only and model is None:
        raise ConfigError(
            f"{ob_only} needs an OB model as --method ({DEFAULT_OB_NAME} or a checkpoint)"
        )
    if oracle and not interactive:
        raise ConfigError("--oracle needs --interactive")
    if jobs < 1 or n_thresholds < 1 or limit < 0 or not (0 < max_dist < 1):
        raise ConfigError(
            "--jobs and --n-thresholds must be >= 1, --limit >= 0, 0 < --max-dist < 1"
        )
    if not 0 < threshold < 1 or max_segments < 0:
        raise ConfigError("--threshold must be in (0, 1) and --max-segments >= 0")
    if model is not None and boundary_model_kind(model) == "order" and ob_only:
        raise ConfigError(
            f"{ob_only} needs an OB model as --method ({DEFAULT_OB_NAME} or a checkpoint of "
            "`occseg train boundaries`), not an order model"
        )


def open_boundary_benchmark(
    dataset: str, *, split: str | None = None, limit: int = 0, shard: Shard | None = None
) -> BoundaryDataset:
    """The images of ``dataset`` (``KIND:PATH``) to evaluate: the first ``limit`` (0: all), then
    the shard's part of them.

    Raises
    ------
    DatasetError
        If the data set cannot be opened or has no images (in the shard).
    """
    from occseg.data.boundaries import open_boundary_dataset

    data = open_boundary_dataset(dataset, split=split)
    if limit:
        data = data[:limit]
    if shard is not None:
        data = cast(BoundaryDataset, shard.select(data))  # a lazy slice of the data set
    if len(data) == 0:
        raise DatasetError(f"no images in {dataset}" + (f" (shard {shard})" if shard else ""))
    return data


@dataclass(frozen=True)
class BoundaryRun:
    """The outcome of :func:`run_boundary_benchmark`: a title, the report, and whether the
    method predicted orientations (``oriented``)."""

    title: str
    report: BoundaryReport | InteractiveBoundaryReport
    oriented: bool = False

    def describe(self) -> str:
        """The headline numbers in one line."""
        from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

        r = self.report
        part = "" if r.shard is None else f" of shard {r.shard}"
        if isinstance(r, InteractiveBoundaryReport):
            a, i = r.automatic, r.interactive
            return (
                f"{self.title}: automatic ODS={a.ods:.3f} OIS={a.ois:.3f} AP={a.ap:.3f}; with "
                f"scribbles ODS={i.ods:.3f} OIS={i.ois:.3f} AP={i.ap:.3f}; "
                f"avgFN={r.effort.avg_fn:.4f} avgFP={r.effort.avg_fp:.6f}"
                + ("" if r.oracle is None else f"; oracle ODS={r.oracle.ods:.3f}")
                + f" ({len(a.counts)} images{part})"
            )
        r50 = "n/a" if not math.isfinite(r.r50) else f"{r.r50:.3f}"
        o = r.orientation
        if o is not None:
            acc = "n/a" if not math.isfinite(o.ods_accuracy) else f"{o.ods_accuracy:.3f}"
            oriented = (
                f"; oriented ODS={o.ods:.3f} OIS={o.ois:.3f} AP={o.ap:.3f}, orientation "
                f"accuracy at ODS {acc}"
            )
        elif self.oriented:
            oriented = "; no orientation ground truth on every image: plain numbers only"
        else:
            oriented = ""
        return (
            f"{self.title}: ODS={r.ods:.3f} OIS={r.ois:.3f} AP={r.ap:.3f} R50={r50}{oriented} "
            f"({len(r.counts)} images{part})"
        )


def run_boundary_benchmark(
    data: BoundaryDataset,
    method: str,
    *,
    dataset: str = "",
    split: str | None = None,
    interactive: bool = False,
    oracle: bool = False,
    threshold: float = 0.7,
    max_segments: int = 0,
    jobs: int = 1,
    n_thresholds: int = 99,
    max_dist: float = 0.0075,
    shard: Shard | None = None,
    flip: bool = False,
    progress: Callable[[], None] | None = None,
) -> BoundaryRun:
    """Boundary precision/recall (ODS, OIS, AP, R50) of ``method`` on ``data``.

    ``method`` is a detector name, ``"obnet"`` (the shipped OB model), ``"ordernet"`` (the
    shipped order model) or the path of an OB or order model checkpoint (told apart by
    :func:`boundary_model_kind`). An order model's boundary head is scored like an OB model's
    map, and where an image has orientation ground truth its orientation
    (:func:`order_boundary_maps`) is scored too: when every image has it, the report's
    ``orientation`` holds the oriented ODS/OIS/AP (PIOD "OPR": a match counts only when its
    orientation is within π/2 of the annotation) and the accuracy-vs-recall curve; the plain
    numbers are those of the same maps without orientations. With ``interactive`` (OB models
    only) each image is predicted automatically, then with FN/FP scribbles simulated from that
    output (:func:`~occseg.eval.interactive_boundaries.evaluate_interactive_boundaries`;
    ``threshold``, ``max_segments`` (0: all) and ``oracle`` go there). ``shard`` records that
    ``data`` is that part of a larger run (:func:`open_boundary_benchmark`). ``dataset`` and
    ``split`` name the data in the title; ``progress`` is called once per image. ``flip``
    averages an OB model's maps with those of the mirrored inputs
    (:class:`~occseg.predict.boundaries.OBPredictor`).
    """
    check_boundary_options(
        method, interactive=interactive, oracle=oracle, threshold=threshold,
        max_segments=max_segments, jobs=jobs, n_thresholds=n_thresholds, max_dist=max_dist,
        shard=shard, flip=flip,
    )  # fmt: skip
    model = boundary_model_path(method)
    kind = None if model is None else boundary_model_kind(model)
    name = method if model is None else model.stem
    title = f"{name}{' (flip-averaged)' if flip else ''} on {dataset}"
    title += f" ({split})" if split else ""
    if interactive:
        from occseg.eval.interactive_boundaries import evaluate_interactive_boundaries
        from occseg.predict.boundaries import OBPredictor

        both = evaluate_interactive_boundaries(
            OBPredictor(model, flip=flip),  # type: ignore[arg-type]  # interactive implies a model
            data,
            threshold=threshold,
            max_segments=max_segments or None,
            n_thresholds=n_thresholds,
            max_dist=max_dist,
            jobs=jobs,
            oracle=oracle,
            shard=shard,
            progress=progress,
        )
        return BoundaryRun(title, both)
    detect = _detector(method, model, kind, flip)

    def scored() -> Iterator[tuple[Any, ...]]:
        for sample in data:  # each sample decoded once
            prob, angle = detect(sample.image)
            yield prob, sample.boundaries, angle, sample.orientations

    probs, gts, angles, gt_angles = _unzip(scored(), 4)
    report = boundary_pr(
        probs,
        gts,
        n_thresholds,
        max_dist,
        nms=model is not None,
        jobs=jobs,
        names=data.names,
        progress=progress,
        shard=shard,
        orientations=angles,
        gt_orientations=gt_angles,
    )
    return BoundaryRun(title, report, oriented=kind == "order")


def _unzip(rows: Iterator[tuple[Any, ...]], n: int) -> list[Iterable[Any]]:
    """``n`` lazy column iterators of ``rows`` (read in lockstep, they buffer one row)."""
    return [map(itemgetter(i), it) for i, it in enumerate(tee(rows, n))]


def order_boundary_maps(predictor: OrderModel, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The occlusion-boundary map and orientation of an order model (paper 001, Sec. 3.1).

    The boundary map is the ``b`` head's probability ``Pr(B_p = 1)``. The orientation is read
    from the ``e`` head's conditional orientation ``Pr(O_p = d | B_p = 1)`` over the left,
    right, top and bottom neighbours as supplement 1.4 converts it for the POR curves
    (:func:`~occseg.occlusion.decode.orientation_angle`): the larger of the left/right components
    gives the horizontal part of the normal from occluder to occludee, the larger of top/bottom
    the vertical part, and the boundary angle is ``θ = atan2(n_x, n_y)`` (image axes, y down),
    the PIOD left-hand rule of the ground truth (:mod:`occseg.data.boundary_sample`). On the
    training targets (:func:`~occseg.occlusion.targets.orientation_targets`, the occluded
    neighbours' flags over their count) this is exactly the angle the synthetic ground truth
    derives from the same flags (:func:`occseg.synth.boundaries.boundary_angle` without its
    smoothing) for one occluded neighbour or two (adjacent or opposite); for three or four it
    differs by π/4, well inside the π/2 tolerance of the benchmark.

    Parameters
    ----------
    predictor
        Stage 1 of an order model (:func:`~occseg.predict.ordernet.load_order_model`).
    image
        ``H×W×3 uint8`` RGB.

    Returns
    -------
    (prob, angle)
        ``H×W float32`` boundary probability and ``H×W float64`` angle in radians.
    """
    maps = predictor.predict_maps(image)
    return maps.boundary, orientation_angle(maps.orientation)


def _detector(method: str, model: Path | None, kind: ModelKind | None, flip: bool) -> Detector:
    """Image → (soft boundary map, orientation or None), by a detector, the automatic step of
    an OB model (flip-averaged with ``flip``), or an order model (:func:`order_boundary_maps`)."""
    if model is None:
        return lambda image: (detect_boundaries(image, method=method), None)
    if kind == "order":
        from occseg.predict.ordernet import load_order_model

        order = load_order_model(model)
        return lambda image: order_boundary_maps(order, image)
    from occseg.predict.boundaries import OBPredictor

    predictor = OBPredictor(model, flip=flip)

    def detect(image: np.ndarray) -> tuple[np.ndarray, None]:
        predictor.set_image(image)
        return predictor.automatic(), None

    return detect


def write_boundary_run(run: BoundaryRun, out: str | os.PathLike) -> dict:
    """Write the report of ``run`` into ``out`` (``summary.json``, ``summary.md``, ``pr.png``;
    interactive runs also ``automatic/`` and ``interactive/``); return the summary."""
    from occseg.eval.interactive_boundaries import InteractiveBoundaryReport

    if isinstance(run.report, InteractiveBoundaryReport):
        return write_interactive_report(run.report, Path(out), title=run.title)
    return write_boundary_report(run.report, Path(out), title=run.title)


def merge_boundary_runs(runs: Iterable[BoundaryRun]) -> BoundaryRun:
    """The whole run from the runs of shards ``1/N`` ... ``N/N`` (plain or interactive, not
    both), titled like the first.

    Raises
    ------
    ConfigError
        If plain and interactive shards are mixed, or as
        :func:`~occseg.eval.boundaries.merge_boundary_reports` and
        :func:`~occseg.eval.interactive_boundaries.merge_interactive_reports`.
    """
    from occseg.eval.interactive_boundaries import (
        InteractiveBoundaryReport,
        merge_interactive_reports,
    )

    runs = list(runs)
    if not runs:
        raise ConfigError("no boundary reports to merge")
    interactive = [r.report for r in runs if isinstance(r.report, InteractiveBoundaryReport)]
    if interactive and len(interactive) < len(runs):
        raise ConfigError(
            "some shards are interactive runs and some are not; merge the shards of one run"
        )
    title = runs[0].title
    if interactive:
        return BoundaryRun(title, merge_interactive_reports(interactive))
    return BoundaryRun(title, merge_boundary_reports(cast(BoundaryReport, r.report) for r in runs))
